/**
 * What one stream client is sent, and how much the stream clients may hold. A feed reads the log after the
 * client's cursor page by page at the client's pace, then follows it live through a subscription with a queue
 * between the log and the client. Every byte a client holds — frames queued for it and frames written but not
 * yet taken by its socket — is counted, per client and in all (`StreamBudget`): a client past its bound, or the
 * biggest holders when all clients together pass theirs, are closed with the cursor they reached, and resume
 * from it like any dropped client. Nothing is ever skipped silently.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { EventFilter, HubEvent } from '../domain/types.js';
import type { Subscription } from '../events/event-log.js';
import type { Hub } from '../hub.js';

/** How much the stream clients may hold in memory. */
export interface StreamLimits {
  /**
   * Bytes one client may hold: its queued frames plus those its socket has not taken. Default 4 MiB: a client
   * that reads keeps far below it (it holds about one catch-up page, 50 events, or a burst of live ones).
   */
  clientBytes: number;
  /**
   * Bytes all clients together may hold. Default 64 MiB: 300 clients that never read hold 13–19 MB, and the
   * service's peak stays at 171–245 MB (bench/stalled-readers.ts, rows 11).
   */
  totalBytes: number;
  /** Events queued for one client, whatever their size. Default 10,000. */
  clientEvents: number;
  /**
   * Stream clients open at once; one more is refused (`503 unavailable`, Retry-After). Default 1,000: a client
   * costs the service about 100 KB of its own (buffers, parser, subscription) besides what it holds, so 1,500
   * idle ones took 145 MB.
   */
  clients: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  clientBytes: 4 * 1024 * 1024,
  totalBytes: 64 * 1024 * 1024,
  clientEvents: 10_000,
  clients: 1_000,
};

/**
 * Events read from the log per page while a client catches up, and the most bytes of them handed out at once.
 * A page is held until its client's socket takes it, so it is small: 50 events of a few hundred bytes, cut short
 * when large ones (a long prompt, a big piece of content) pass 64 KiB. Pages of 100 events and 256 KiB left 300
 * clients that never read holding about 290 KB each, most of it uncounted, and the service at 311–333 MB
 * (bench/stalled-readers.ts, rows 11).
 */
const CATCH_UP_PAGE = 50;
const CATCH_UP_BYTES = 64 * 1024;

/** Why a feed was closed before its client left. */
export type FeedEnd = { reason: 'overflow' } | { reason: 'revoked' } | { reason: 'stopping' };

/**
 * The bytes held by all feeds of a service. Reading history is done one page at a time for all clients, each
 * read followed by a turn of the event loop: SQLite reads block the loop, and 300 clients catching up at once
 * otherwise kept every other request (`/health` among them) waiting for seconds.
 */
export class StreamBudget {
  total = 0;
  private readonly feeds = new Set<Feed>();
  private lane: Promise<unknown> = Promise.resolve();

  constructor(readonly limits: StreamLimits) {}

  add(feed: Feed): void {
    this.feeds.add(feed);
  }

  remove(feed: Feed): void {
    if (this.feeds.delete(feed)) this.total -= feed.held;
  }

  /** Whether another client may open a stream. */
  get full(): boolean {
    return this.feeds.size >= this.limits.clients;
  }

  /** Every feed; the service ends them when it stops or a token is revoked. */
  all(): Iterable<Feed> {
    return this.feeds;
  }

  /** Counts `bytes` more held by `feed`; ends it, or the biggest holders, when a bound is passed. */
  hold(feed: Feed, bytes: number): void {
    feed.held += bytes;
    if (!this.feeds.has(feed)) return;
    this.total += bytes;
    if (feed.held > this.limits.clientBytes) feed.end({ reason: 'overflow' });
    if (this.total <= this.limits.totalBytes) return;
    const biggest = [...this.feeds].sort((a, b) => b.held - a.held);
    for (const other of biggest) {
      if (this.total <= this.limits.totalBytes) break;
      other.end({ reason: 'overflow' });
      this.remove(other);
    }
  }

  /** Counts `bytes` of `feed` as no longer held (its socket took them, or they were dropped). */
  release(feed: Feed, bytes: number): void {
    feed.held -= bytes;
    if (this.feeds.has(feed)) this.total -= bytes;
  }

  /** Runs `read` when the reads before it are done, then lets the event loop turn. */
  read<T>(read: () => Promise<T>): Promise<T> {
    const result = this.lane.then(read);
    this.lane = result.then(
      () => nextTurn(),
      () => nextTurn(),
    );
    return result;
  }
}

/**
 * One client's events: the log after its cursor, then live. `frame` encodes an event as the client's transport
 * sends it (once per event, shared by every client); its size is what the event costs in the budget.
 */
export class Feed {
  /** Where the client stands: its starting cursor, then the cursor of the last event handed to it. */
  cursor = '';
  /** Bytes held for the client (see StreamBudget). */
  held = 0;
  /** Set once the feed was ended for a reason of the service's (see `end`). */
  ended: FeedEnd | undefined;
  closed = false;
  /** Called once when the feed is ended, possibly while the client is still being written to. */
  onEnd: (end: FeedEnd) => void = () => undefined;
  private readFrom: string | undefined;
  private subscription: Subscription | undefined;
  private queue: HubEvent[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly hub: Hub,
    private readonly budget: StreamBudget,
    private readonly filter: EventFilter,
    after: string | undefined,
    /** How long a live wait lasts before the client is sent a heartbeat. */
    readonly heartbeatMs: number,
    private readonly frame: (event: HubEvent) => Buffer,
    /** The token the client presented, so that revoking it ends the feed. */
    readonly tokenId: string | null,
  ) {
    this.cursor = after ?? '';
    budget.add(this);
  }

  /** Fixes the starting cursor: the client's, or the head now. */
  async start(): Promise<void> {
    this.cursor ||= await this.hub.events.head();
    this.readFrom = this.cursor;
  }

  /**
   * The next events in log order: pages of history while catching up, then live batches (empty after a
   * heartbeat's wait). Queued events stop counting against the budget once handed out: the transport counts
   * what it writes.
   */
  async next(): Promise<HubEvent[]> {
    if (this.readFrom !== undefined) {
      const after = this.readFrom;
      const page = await this.budget.read(() => this.hub.events.list({ ...this.filter, after, limit: CATCH_UP_PAGE }));
      let bytes = 0;
      const cut = page.events.findIndex((e) => {
        bytes += this.frame(e).length;
        return bytes >= CATCH_UP_BYTES;
      });
      if (cut >= 0 && cut < page.events.length - 1) {
        const events = page.events.slice(0, cut + 1);
        this.readFrom = (events.at(-1) as HubEvent).cursor;
        return events;
      }
      if (page.hasMore) {
        this.readFrom = page.cursor;
        return page.events;
      }
      // Caught up to the head the page was read at: what commits from there on comes through the subscription.
      this.readFrom = undefined;
      await this.follow(page.cursor);
      if (page.events.length) return page.events;
    }
    if (!this.queue.length && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.heartbeatMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const batch = this.queue;
    this.queue = [];
    let bytes = 0;
    for (const e of batch) bytes += this.frame(e).length;
    this.budget.release(this, bytes);
    return batch;
  }

  /** Ends the feed for a reason of the service's; the transport tells the client and closes. */
  end(end: FeedEnd): void {
    if (this.closed) return;
    this.ended = end;
    this.stop();
    this.onEnd(end);
  }

  /** Stops the feed (the client left, or after `end`); nothing is queued any more. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.close();
    this.queue = [];
    this.budget.remove(this);
    this.wake?.();
  }

  private async follow(after: string): Promise<void> {
    const subscription = await this.hub.events.subscribe({ ...this.filter, after }, (e) => this.push(e));
    if (this.closed) subscription.close();
    else this.subscription = subscription;
  }

  private push(event: HubEvent): void {
    if (this.closed) return;
    if (this.queue.length >= this.budget.limits.clientEvents) {
      this.end({ reason: 'overflow' });
      return;
    }
    this.queue.push(event);
    this.budget.hold(this, this.frame(event).length);
    this.wake?.();
  }
}
