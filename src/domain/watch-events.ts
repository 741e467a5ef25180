/** What a watch fires on: every status change (`status`), or a reply reaching one of the final statuses. */
export const WATCH_EVENTS = ['status', 'complete', 'failed', 'cancelled'] as const;
export type WatchEvent = (typeof WATCH_EVENTS)[number];

/** What a watch fires on when nothing is chosen: the end of a reply, however it ends. */
export const DEFAULT_WATCH_EVENTS: readonly WatchEvent[] = ['complete', 'failed', 'cancelled'];
