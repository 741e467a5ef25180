/**
 * MessageMonitor (the original design's `MessageMonitor`): watches any number of messages through one shared
 * subscription, calling each entry's callbacks for its status changes and content, until it finishes or expires.
 *
 * Each entry starts from a snapshot read in one statement with the log's head, so every change after the
 * snapshot is reported once and none before it. Events that arrive while the snapshot is being read wait in
 * the entry and are applied after it, in order.
 */
import type { Logger } from 'pino';
import { messageStatusAfter } from '../domain/apply.js';
import { assertId } from '../domain/ids.js';
import { isTerminal, type ObservedStatus, type Status } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import { number } from '../domain/validate.js';
import type { EventStore } from '../store/events.js';
import type { EventLog, Subscription } from './event-log.js';

/** What a monitor callback is told. */
export interface MonitorUpdate {
  messageId: string;
  /** The status after this event (`unknown` until the message exists). */
  status: ObservedStatus;
  /** For status changes: the status before. */
  from?: ObservedStatus;
  /** For content updates: the appended text and the new length. */
  delta?: string;
  length?: number;
  /**
   * For content updates: the content was emptied because its run was lost and the reply runs again (`delta` is
   * empty, `length` 0); text rebuilt from deltas starts over.
   */
  reset?: true;
  reason?: string;
  error?: string;
  at: string;
  /** The event reported; absent when a message was already finished when it was added. */
  event?: HubEvent;
}

/** Callbacks of one watched message; all optional. */
export interface MonitorCallbacks {
  status_change?: (update: MonitorUpdate) => void;
  content_update?: (update: MonitorUpdate) => void;
  /** The message completed. */
  complete?: (update: MonitorUpdate) => void;
  /** The message failed or was cancelled (`update.status` says which). */
  failed?: (update: MonitorUpdate) => void;
  /** The entry expired before the message finished. */
  expired?: (messageId: string) => void;
}

/** Options of one watch. */
export interface MonitorOptions {
  /** Forget the message after this long even if it has not finished (default 24 h). */
  expiresInMs?: number;
}

/** One watched message as `active()` shows it. */
export interface MonitorEntryInfo {
  messageId: string;
  status: ObservedStatus;
  addedAt: string;
  expiresAt: string;
}

interface Entry {
  callbacks: MonitorCallbacks;
  status: ObservedStatus;
  seq: number;
  buffered: HubEvent[] | undefined;
  addedAt: number;
  expiresAt: number;
}

const DAY = 24 * 60 * 60 * 1000;

/** Watches many messages with one subscription. */
export class MessageMonitor {
  private readonly entries = new Map<string, Entry>();
  private subscription: Promise<Subscription> | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: EventStore,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts watching `messageId` (which may not exist yet). Resolves once watching; a message already finished
   * calls `complete` or `failed` at once and is not kept. Adding an id again replaces its callbacks.
   */
  async add(messageId: string, callbacks: MonitorCallbacks, options: MonitorOptions = {}): Promise<void> {
    assertId(messageId, 'message id');
    const ttl = options.expiresInMs === undefined ? DAY : number(options.expiresInMs, 'expiresInMs', 1, 365 * DAY);
    const existing = this.entries.get(messageId);
    if (existing) {
      existing.callbacks = callbacks;
      existing.expiresAt = Date.now() + ttl;
      return;
    }
    // The entry exists before the subscription is awaited, so the subscription cannot be released meanwhile.
    const entry: Entry = {
      callbacks,
      status: 'unknown',
      seq: 0,
      buffered: [],
      addedAt: Date.now(),
      expiresAt: Date.now() + ttl,
    };
    this.entries.set(messageId, entry);
    this.ensureSweeper(ttl);
    let snapshot: { head: number; status: Status | null };
    try {
      await this.ensureSubscribed();
      snapshot = await this.events.headWithStatus(messageId);
    } catch (err) {
      this.forget(messageId);
      throw err;
    }
    entry.seq = snapshot.head;
    entry.status = snapshot.status ?? 'unknown';
    const buffered = entry.buffered ?? [];
    entry.buffered = undefined;
    if (isTerminal(entry.status)) {
      this.forget(messageId);
      const update: MonitorUpdate = { messageId, status: entry.status, at: new Date().toISOString() };
      this.call(entry.callbacks, entry.status === 'complete' ? 'complete' : 'failed', update);
      return;
    }
    for (const event of buffered) this.apply(messageId, entry, event);
  }

  /** Stops watching; answers whether the message was watched. */
  remove(messageId: string): boolean {
    return this.forget(messageId);
  }

  /** The messages watched now. */
  active(): MonitorEntryInfo[] {
    return [...this.entries].map(([messageId, e]) => ({
      messageId,
      status: e.status,
      addedAt: new Date(e.addedAt).toISOString(),
      expiresAt: new Date(e.expiresAt).toISOString(),
    }));
  }

  /** Stops watching everything. */
  close(): void {
    this.entries.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    void this.subscription?.then((s) => s.close()).catch(() => undefined);
    this.subscription = undefined;
  }

  /**
   * Drops an entry; with the last one go the shared subscription and the sweeper, so an idle monitor keeps
   * neither the process alive nor a timer running.
   */
  private forget(messageId: string): boolean {
    const had = this.entries.delete(messageId);
    if (this.entries.size === 0) {
      if (this.sweeper) clearInterval(this.sweeper);
      this.sweeper = undefined;
      const subscription = this.subscription;
      this.subscription = undefined;
      void subscription?.then((s) => s.close()).catch(() => undefined);
    }
    return had;
  }

  private ensureSubscribed(): Promise<Subscription> {
    if (!this.subscription) {
      this.subscription = this.log.subscribe({ types: ['message.*'] }, (event) => this.route(event));
      this.subscription.catch(() => {
        this.subscription = undefined;
      });
    }
    return this.subscription;
  }

  private ensureSweeper(ttl: number): void {
    if (this.sweeper) return;
    // One timer for all entries; an idle monitor of 10,000 messages wakes once a minute at most.
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(100, ttl / 2)));
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) {
      if (e.expiresAt <= now && !e.buffered) {
        this.forget(id);
        this.call(e.callbacks, 'expired', id);
      }
    }
  }

  private route(event: HubEvent): void {
    const id = event.messageId;
    if (!id) return;
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.buffered) entry.buffered.push(event);
    else this.apply(id, entry, event);
  }

  private apply(messageId: string, entry: Entry, event: HubEvent): void {
    if (event.seq <= entry.seq) return;
    entry.seq = event.seq;
    const base = { messageId, at: event.at, event };
    if (event.type === 'message.content_updated') {
      this.call(entry.callbacks, 'content_update', {
        ...base,
        status: entry.status,
        delta: event.data.delta,
        length: event.data.length,
        ...(event.data.reset ? { reset: true as const } : {}),
      });
      return;
    }
    const to = messageStatusAfter(event);
    if (!to) return;
    const update: MonitorUpdate = { ...base, status: to, from: entry.status };
    if (event.type === 'message.status_changed') {
      if (event.data.reason) update.reason = event.data.reason;
      if (event.data.error) update.error = event.data.error;
    }
    entry.status = to;
    this.call(entry.callbacks, 'status_change', update);
    if (isTerminal(to)) {
      this.forget(messageId);
      this.call(entry.callbacks, to === 'complete' ? 'complete' : 'failed', update);
    }
  }

  private call<K extends keyof MonitorCallbacks>(
    callbacks: MonitorCallbacks,
    name: K,
    arg: Parameters<NonNullable<MonitorCallbacks[K]>>[0],
  ): void {
    const fn = callbacks[name] as ((a: typeof arg) => void) | undefined;
    if (!fn) return;
    try {
      fn(arg);
    } catch (err) {
      // One careless callback must not stop the others (nor the shared subscription).
      this.logger.error({ err, callback: name }, 'a monitor callback threw; the others go on');
    }
  }
}
