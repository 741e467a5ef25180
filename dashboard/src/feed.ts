/** The overview's event feed: the newest events, with a streaming reply's content appends merged into one entry. */
import type { HubEvent } from './api';
import { codePoints } from './apply';

/** Events in the overview's feed. */
const FEED_SIZE = 100;

/**
 * An entry of the event feed. Consecutive content appends to one message make one entry (a streaming reply
 * would otherwise fill the feed): `appends` of them, `added` characters in all; `event` is the latest.
 */
export interface FeedEntry {
  event: HubEvent;
  appends: number;
  added: number;
}

/** The feed with `e` on top, merged into the top entry when both are content appends to one message. */
export function addToFeed(feed: readonly FeedEntry[], e: HubEvent): readonly FeedEntry[] {
  const append = (event: HubEvent) => event.type === 'message.content_updated' && event.data.reset !== true;
  const added = e.type === 'message.content_updated' && !e.data.reset ? codePoints(e.data.delta) : 0;
  const top = feed[0];
  if (append(e) && top && append(top.event) && top.event.messageId === e.messageId) {
    return [{ event: e, appends: top.appends + 1, added: top.added + added }, ...feed.slice(1)];
  }
  return [{ event: e, appends: 1, added }, ...feed.slice(0, FEED_SIZE - 1)];
}
