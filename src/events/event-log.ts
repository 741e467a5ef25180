/**
 * The live side of the event log: one tail reader per hub follows the log and hands every event, in order and
 * once, to each subscriber whose filter it passes.
 *
 * A subscriber with a cursor first replays from the database up to the tail's position, then joins the live
 * stream. Both steps are ordered by `seq` and each subscriber remembers the last position it was given, so the
 * hand-over has no gap and no repeat. In-process commits are dispatched straight from memory (no read, no
 * delay); commits from other processes arrive through the backend's wake-ups and are read in batches.
 */
import type { Logger } from 'pino';
import { decodeCursor, encodeCursor } from '../domain/cursor.js';
import { HubError } from '../domain/errors.js';
import { assertFilter, expandTypes, matchesFilter } from '../domain/filter.js';
import { assertId } from '../domain/ids.js';
import type { EventFilter, HubEvent } from '../domain/types.js';
import { moduleName, number, pageSize } from '../domain/validate.js';
import type { Database } from '../store/database.js';
import { readEventsAfter } from '../store/event-rows.js';
import type { EventStore } from '../store/events.js';
import { Visibility, VisibleSet } from '../store/visibility.js';

/** What to follow and from where. */
export interface SubscribeOptions extends EventFilter {
  /** Start after this cursor (replaying what came since); omitted means "from now on". */
  after?: string;
}

/** A live subscription. */
export interface Subscription {
  /** The position after the last event this subscriber was given (or skipped as filtered out). */
  readonly cursor: string;
  /** Stops delivery; no handler call happens after it returns. */
  close(): void;
}

/** A page of history. */
export interface EventPage {
  events: HubEvent[];
  /** Pass as `after` to read on (or to subscribe from where the page ended). */
  cursor: string;
  /** True when more events passed the filter than the page held. */
  hasMore: boolean;
}

interface Subscriber {
  filter: EventFilter;
  types: string[] | undefined;
  /** For `visibleTo`: what that module may see, shared by its subscriptions. */
  visible: VisibleSet | undefined;
  handler: (event: HubEvent) => void;
  onEnd: ((reason: HubError) => void) | undefined;
  seq: number;
  live: boolean;
  closed: boolean;
}

const BATCH = 1000;
const REPLAY_PAGE = 500;
/**
 * How many positions of the log one read examines when its filter has no index (types, module, a module's
 * view): a page then costs the same however long the log is, and may come back short (or empty) with `hasMore`
 * and a cursor to go on from. Filters by thread, message or task walk their index and need no window.
 */
export const SCAN_WINDOW = 10_000;

/** Whether reads with `filter` examine the log a window at a time (see SCAN_WINDOW). */
function windowed(filter: EventFilter): boolean {
  const indexed = filter.threadId !== undefined || filter.messageId !== undefined || filter.taskId !== undefined;
  const filtered = filter.types !== undefined || filter.module !== undefined || filter.visibleTo !== undefined;
  return filtered && !indexed;
}

/** The last position a read from `from` up to `head` may examine with `filter`. */
function windowEnd(filter: EventFilter, from: number, head: number): number {
  return windowed(filter) ? Math.min(head, from + SCAN_WINDOW) : head;
}

function checkFilter(filter: EventFilter): void {
  if (filter.threadId !== undefined) assertId(filter.threadId, 'thread id');
  if (filter.messageId !== undefined) assertId(filter.messageId, 'message id');
  if (filter.taskId !== undefined) assertId(filter.taskId, 'task id');
  if (filter.module !== undefined) moduleName(filter.module);
  if (filter.visibleTo !== undefined) moduleName(filter.visibleTo, 'visibleTo');
  assertFilter(filter);
}

/** A module's visible set while subscriptions scoped to it are open; events arriving while it loads wait. */
interface Scope {
  set: VisibleSet | undefined;
  ready: Promise<VisibleSet>;
  waiting: HubEvent[];
  users: number;
}

/** Follows the log and fans it out to subscribers. */
export class EventLog {
  private readonly subscribers = new Set<Subscriber>();
  private readonly scopes = new Map<string, Scope>();
  private readonly visibility: Visibility;
  private position = 0;
  private reading = false;
  private failures = 0;
  private again = false;
  private stopWatching: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly logger: Logger,
  ) {
    this.visibility = new Visibility(db);
  }

  /** Starts following: from the current head, woken by local commits and by other processes' commits. */
  async start(pollIntervalMs: number): Promise<void> {
    this.position = await this.store.head();
    this.db.onCommit((events) => this.committed(events));
    this.stopWatching = this.db.watchChanges(() => this.wake(), pollIntervalMs);
  }

  /** The position of the newest event handed out so far. */
  get cursor(): string {
    return encodeCursor(this.position);
  }

  /**
   * Replays events after `options.after` that pass the filter, then delivers new ones as they commit. Resolves
   * once the replay is delivered and the subscription is live. `cursor_expired` when the cursor is older than
   * what is kept; `invalid_cursor` for a cursor this hub did not issue. `onEnd` hears when the hub closes.
   */
  async subscribe(
    options: SubscribeOptions,
    handler: (event: HubEvent) => void,
    onEnd?: (reason: HubError) => void,
  ): Promise<Subscription> {
    this.assertOpen();
    const { after, ...filter } = options;
    checkFilter(filter);
    const seq = after === undefined ? await this.store.head() : (await this.startOf(after)).seq;
    const visible = filter.visibleTo === undefined ? undefined : await this.joinScope(filter.visibleTo);
    if (this.closed && visible) this.leaveScope(visible.module);
    this.assertOpen();
    const sub: Subscriber = {
      filter,
      types: expandTypes(filter.types),
      visible,
      handler,
      onEnd,
      seq,
      live: false,
      closed: false,
    };
    this.add(sub);
    try {
      // Replay up to the tail's position; the check and the switch to live happen in one synchronous step,
      // so no dispatch can fall between them.
      while (!sub.closed && sub.seq < this.position) {
        const target = windowEnd(sub.filter, sub.seq, this.position);
        const page = await this.store.retainedPage(sub.seq, sub.filter, REPLAY_PAGE, target);
        for (const event of page) this.deliver(sub, event);
        if (page.length < REPLAY_PAGE) sub.seq = Math.max(sub.seq, target);
      }
      this.assertOpen();
    } catch (err) {
      this.remove(sub);
      throw err;
    }
    sub.live = true;
    return {
      get cursor() {
        return encodeCursor(sub.seq);
      },
      close: () => {
        sub.closed = true;
        this.remove(sub);
      },
    };
  }

  /** A page of history after `after` (default: the start of what is kept) that passes the filter. */
  async list(options: SubscribeOptions & { limit?: number } = {}): Promise<EventPage> {
    const { after, limit, ...filter } = options;
    checkFilter(filter);
    const size = limit === undefined ? 100 : pageSize(limit, 1000);
    const { seq: start, head } =
      after === undefined
        ? { seq: await this.store.prunedThrough(), head: await this.store.head() }
        : await this.startOf(after);
    const end = windowEnd(filter, start, head);
    const events = await this.store.retainedPage(start, filter, size + 1, end);
    const full = events.length > size;
    if (full) events.length = size;
    const last = events[events.length - 1];
    // A full page goes on after its last event; a short one after the end of the window it examined.
    const cursor = full && last ? last.seq : Math.max(start, end);
    return { events, cursor: encodeCursor(cursor), hasMore: full || end < head };
  }

  /**
   * The newest `last` (at most 1000) events that pass the filter, oldest first, as a page whose cursor is the
   * head they were read up to: subscribing after it continues where they end, with nothing missed or repeated.
   * `hasMore` says whether older events passed the filter too.
   */
  async recent(options: EventFilter & { last: number }): Promise<EventPage> {
    const { last, ...filter } = options;
    checkFilter(filter);
    const size = number(last, 'last', 1, 1000, true);
    const head = await this.store.head();
    // Without an index for the filter, the newest of the last SCAN_WINDOW positions only.
    const from = windowed(filter) && head > SCAN_WINDOW ? head - SCAN_WINDOW : undefined;
    const events = await this.store.latest(filter, size + 1, head, from);
    const full = events.length > size;
    if (full) events.shift();
    // Older events may pass the filter too when the window did not reach back to the start.
    return { events, cursor: encodeCursor(head), hasMore: full || from !== undefined };
  }

  /** The newest `limit` (default 100, at most 1000) events that pass the filter, oldest first. */
  async latest(options: EventFilter & { limit?: number } = {}): Promise<HubEvent[]> {
    const { limit, ...filter } = options;
    checkFilter(filter);
    return this.store.latest(filter, limit === undefined ? 100 : pageSize(limit, 1000));
  }

  /**
   * The position a client's cursor stands for: `invalid_cursor` when it is not ours or points past the newest
   * event (a cursor from another or a restored database would otherwise skip events silently), and
   * `cursor_expired` when retention has removed what follows it. Answers it with the head it was checked against.
   */
  private async startOf(cursor: string): Promise<{ seq: number; head: number }> {
    const seq = decodeCursor(cursor);
    const head = await this.store.head();
    if (seq > head) {
      throw new HubError(
        'invalid_cursor',
        `cursor ${cursor} points past the newest event (${encodeCursor(head)}); was it issued by another database?`,
      );
    }
    await this.store.assertRetained(seq);
    return { seq, head };
  }

  private assertOpen(): void {
    if (this.closed) throw new HubError('closed', 'the hub is closed');
  }

  /** Stops following and drops every subscriber. */
  close(): void {
    this.closed = true;
    this.stopWatching?.();
    const ended = new HubError('closed', 'the hub closed');
    for (const sub of this.subscribers) {
      sub.closed = true;
      sub.onEnd?.(ended);
    }
    this.subscribers.clear();
    this.scopes.clear();
    this.remove(undefined);
  }

  /** How many subscriptions are open. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * While anyone is subscribed, the process stays alive (as it would with an open socket): a script awaiting
   * `waitForCompletion` must not exit just because the change will come from another process.
   */
  private add(sub: Subscriber): void {
    this.subscribers.add(sub);
    this.keepAlive ??= setInterval(() => {}, 1 << 30);
  }

  private remove(sub: Subscriber | undefined): void {
    if (sub && this.subscribers.delete(sub) && sub.filter.visibleTo !== undefined)
      this.leaveScope(sub.filter.visibleTo);
    if (this.subscribers.size === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** Local commits: dispatched from memory when they continue the log exactly, else read like a remote one. */
  private committed(events: HubEvent[]): void {
    const first = events[0];
    // Safe while a read is in flight: the read drops whatever is at or below the position when it returns.
    if (first && first.seq === this.position + 1) this.dispatch(events);
    else this.wake();
  }

  /** Reads whatever is new; overlapping wake-ups fold into one more pass. */
  private wake(): void {
    if (this.closed) return;
    this.again = true;
    if (!this.reading) void this.readNew();
  }

  /**
   * `reading` is cleared in the same synchronous step as the last check of `again`, so a wake-up arriving as
   * a pass ends is never dropped: either the loop sees it, or the wake-up starts a new pass.
   */
  private async readNew(): Promise<void> {
    this.reading = true;
    try {
      while (this.again && !this.closed) {
        this.again = false;
        let batch: HubEvent[];
        do {
          batch = await readEventsAfter(this.db.read, this.position, BATCH);
          if (this.closed) return;
          this.dispatch(batch.filter((e) => e.seq > this.position));
        } while (batch.length === BATCH);
      }
    } catch (err) {
      if (!this.closed) {
        // No other wake-up may come (an idle database), so retry on our own, backing off to 1 s.
        this.failures++;
        const delay = Math.min(1000, 10 * 2 ** this.failures);
        this.logger.warn({ err, retryInMs: delay }, 'reading new events failed; retrying');
        setTimeout(() => this.wake(), delay).unref();
      }
      return;
    } finally {
      this.reading = false;
    }
    this.failures = 0;
  }

  /**
   * The visible set of `module`, loaded by its first subscription and kept while any is open. Events dispatched
   * while it loads are applied once it has (learning twice what the load already knew changes nothing).
   */
  private async joinScope(module: string): Promise<VisibleSet> {
    let scope = this.scopes.get(module);
    if (!scope) {
      const messagesOf = (threadId: string) =>
        this.visibility.messagesOf(threadId).catch((err: unknown) => {
          this.logger.warn({ err, module, threadId }, 'reading the messages of a thread a module now sees failed');
          return [];
        });
      const created: Scope = {
        set: undefined,
        waiting: [],
        users: 0,
        ready: this.visibility.seen(module).then((seen) => {
          const set = new VisibleSet(module, seen, messagesOf);
          for (const event of created.waiting) set.observe(event);
          created.waiting = [];
          created.set = set;
          return set;
        }),
      };
      scope = created;
      this.scopes.set(module, scope);
    }
    scope.users++;
    try {
      return await scope.ready;
    } catch (err) {
      this.leaveScope(module);
      throw err;
    }
  }

  private leaveScope(module: string): void {
    const scope = this.scopes.get(module);
    if (scope && --scope.users <= 0) this.scopes.delete(module);
  }

  private dispatch(events: HubEvent[]): void {
    // Visible sets learn from the whole batch (a commit, or a page read) first: a question that asks a module
    // into another's thread comes before the reply that brings the thread into its view, in the same commit.
    for (const scope of this.scopes.values()) {
      if (scope.set) for (const event of events) scope.set.observe(event);
      else scope.waiting.push(...events);
    }
    for (const event of events) {
      this.position = event.seq;
      for (const sub of this.subscribers) if (sub.live) this.deliver(sub, event);
    }
  }

  private deliver(sub: Subscriber, event: HubEvent): void {
    if (sub.closed || event.seq <= sub.seq) return;
    sub.seq = event.seq;
    if (!matchesFilter(event, sub.filter, sub.types)) return;
    // History pages were already restricted in SQL; live events are checked against the module's set.
    if (sub.live && sub.visible && !sub.visible.admits(event)) return;
    try {
      sub.handler(event);
    } catch (err) {
      // A throwing subscriber must never break the write path or the other subscribers.
      this.logger.error({ err, seq: event.seq, type: event.type }, 'an event handler threw; delivery goes on');
    }
  }
}
