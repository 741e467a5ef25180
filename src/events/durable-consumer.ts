/**
 * A durable consumer of the log: it follows the events that pass a filter from a position the consumer stores
 * itself (a cursor in its own row), one at a time in log order, so that whatever it had not stored as done is
 * read again after a restart — at least once, never lost. The hooks' watch loops are built on it, and with them
 * the guarantee of hook delivery; the workflow engine follows the log the same way. Run it where a lease says
 * (see leased-role.ts) when only one service may consume at a time.
 *
 * Wake-ups during a pass fold into one more pass, so a live subscription only says when to read, never what: a
 * missed wake-up delays, it cannot lose. A read that fails is tried again with growing waits. A stored position
 * older than the log keeps (pruned by retention) goes on from the oldest event kept, with a warning.
 */
import type { Logger } from 'pino';
import { isHubError } from '../domain/errors.js';
import type { EventFilter, HubEvent } from '../domain/types.js';
import type { EventPage } from './event-log.js';
import type { HubEvents } from './hub-events.js';

/** What a consumer does with the events it reads. */
export interface ConsumerSteps {
  /** The stored position: events after it are read. */
  position(): string;
  /**
   * Handles one event after the position (storing what it did, and the new position, as it sees fit). False
   * stops the pass: the consumer finished, or its stored state changed under it (call `wake` to read again).
   */
  handle(event: HubEvent): Promise<boolean>;
  /** The pass read to the end of the log, up to `cursor`: store it as the position if the events passed without a step. */
  caughtUp(cursor: string): Promise<void>;
}

/** Events read per page. */
const PAGE = 100;

/** Longest wait before reading again after the database failed. */
const MAX_READ_RETRY_MS = 60_000;

/** Follows the log for one consumer. */
export class DurableConsumer {
  private again = false;
  private busy = false;
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  private readFailures = 0;

  /** `describe`: what the consumer is, in log lines (e.g. `{ watchId }`). */
  constructor(
    private readonly log: Pick<HubEvents, 'list'>,
    private readonly filter: EventFilter,
    private readonly steps: ConsumerSteps,
    private readonly logger: Logger,
    private readonly describe: Record<string, unknown>,
  ) {}

  /** True once it was told to stop (or finished): no pass starts any more. */
  get ended(): boolean {
    return this.stopped;
  }

  /** Reads and handles whatever is new. */
  wake(): void {
    if (this.stopped) return;
    this.again = true;
    if (!this.busy) this.done = this.run();
  }

  /** Starts no pass any more; resolves once the pass in flight (if any) has ended. */
  end(): Promise<void> {
    this.stopped = true;
    return this.done;
  }

  /** `busy` is cleared in the same synchronous step as the last check of `again`, so no wake-up is lost. */
  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (this.again && !this.stopped) {
        this.again = false;
        await this.pass();
      }
      this.readFailures = 0;
    } catch (err) {
      if (!this.stopped && !isHubError(err, 'closed')) {
        this.readFailures++;
        const delay = Math.min(MAX_READ_RETRY_MS, 100 * 2 ** this.readFailures);
        this.logger.warn({ err, ...this.describe, retryInMs: delay }, 'a consumer of the log could not read it');
        setTimeout(() => this.wake(), delay).unref();
      }
    } finally {
      this.busy = false;
    }
  }

  private async pass(): Promise<void> {
    let position = this.steps.position();
    for (;;) {
      const page = await this.read(position);
      for (const event of page.events) {
        if (this.stopped || !(await this.steps.handle(event))) return;
        position = event.cursor;
      }
      position = page.cursor;
      if (!page.hasMore) {
        if (position !== this.steps.position()) await this.steps.caughtUp(position);
        return;
      }
    }
  }

  /** A page after `position`; past a pruned position, from the oldest kept. */
  private async read(position: string): Promise<EventPage> {
    const query = { ...this.filter, limit: PAGE };
    try {
      return await this.log.list({ ...query, after: position });
    } catch (err) {
      if (!isHubError(err, 'cursor_expired')) throw err;
      // Only when the consumer did not run for longer than the log's retention: what was pruned is gone.
      this.logger.warn(
        { ...this.describe, cursor: position },
        'events this consumer had not handled were pruned; going on from the oldest kept',
      );
      return this.log.list(query);
    }
  }
}
