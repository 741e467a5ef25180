import type { EventFilter, HubEvent } from '../domain/types.js';
import type { EventPage, SubscribeOptions, Subscription } from './event-log.js';

/** The event log as the library exposes it. */
export interface HubEvents {
  /** Replays after `after`, then delivers live; resolves once live. See `SubscribeOptions`. */
  subscribe(options: SubscribeOptions, handler: (event: HubEvent) => void): Promise<Subscription>;
  /** Pages through history. */
  list(options?: SubscribeOptions & { limit?: number }): Promise<EventPage>;
  /** The newest `last` events that pass the filter (at most 1000), oldest first, with the cursor to go on from. */
  recent(options: EventFilter & { last: number }): Promise<EventPage>;
  /** The newest events that pass the filter (default 100, at most 1000), oldest first. */
  latest(options?: EventFilter & { limit?: number }): Promise<HubEvent[]>;
  /** The cursor of the newest committed event. */
  head(): Promise<string>;
  /** Deletes events older than `before`; cursors older than what is kept then fail with `cursor_expired`. */
  prune(before: Date): Promise<number>;
  /** How many subscriptions follow the log in this hub now (each closes with `Subscription.close`). */
  subscriberCount(): number;
}
