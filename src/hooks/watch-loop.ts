/**
 * Delivers one watch's notifications, in log order, one at a time: a durable consumer of the log
 * (events/durable-consumer.ts) reads the events of the watch's target after its stored cursor; each one the watch
 * fires on goes to its command and webhook, and the new cursor is stored in the same statement that records the
 * outcome. Whatever is not yet stored as
 * delivered is delivered again after a restart: at least once, never lost.
 *
 * A failing delivery is retried with growing waits (see `retryDelay`), only the actions that failed; after the
 * last attempt it is given up, logged at warn, and the cursor moves on, so one bad event cannot stop a watch.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { matchesFilter } from '../domain/filter.js';
import type { EventFilter, HubEvent } from '../domain/types.js';
import { DurableConsumer } from '../events/durable-consumer.js';
import type { EventLog } from '../events/event-log.js';
import { a2aPushNotification } from '../exchange/a2a-push.js';
import type { ProcessTracker } from '../process/tracker.js';
import type { MessageStore } from '../store/messages.js';
import type { LiveWatch, Outcome, WatchRecords } from '../store/watches.js';
import { runHookCommand } from './hook-command.js';
import { hookEnvironment, notification } from './notification.js';
import { finishes, fires, type RetryPolicy, retryDelay, WATCHED_TYPES } from './triggers.js';
import { postWebhook } from './webhook.js';

/** How deliveries run. */
export interface DeliverySettings {
  commandTimeoutMs: number;
  webhookTimeoutMs: number;
  /** Webhooks of watches created by module tokens may call private addresses too. */
  allowPrivateWebhooks: boolean;
  retry: RetryPolicy;
}

/** How often a loop whose lease is unconfirmed looks again, until the lease is renewed or the loop is stopped. */
const LEASE_RECHECK_MS = 50;

/** What a watch loop works with. */
export interface WatchLoopContext {
  /** Whether this service may deliver now (its lease on delivering confirmed). */
  mayDeliver: () => Promise<boolean>;
  log: EventLog;
  messages: MessageStore;
  records: WatchRecords;
  logger: Logger;
  settings: DeliverySettings;
  /** Told of each command's process group (its watchdog starts on first use). */
  processes: ProcessTracker;
  /** The loop has ended for good: its watch was removed, or finished. */
  ended(watchId: string): void;
}

type Action = 'command' | 'webhook';

/** One watch's delivery loop. */
export class WatchLoop {
  private readonly consumer: DurableConsumer;
  private readonly filter: EventFilter;
  /** Cancels waits between attempts: ending lets an attempt in flight finish but starts no other. */
  private readonly waits = new AbortController();
  /** Kills commands and cancels requests in flight. */
  private readonly kills = new AbortController();

  constructor(
    private watch: LiveWatch,
    private readonly ctx: WatchLoopContext,
  ) {
    this.filter = {
      ...(watch.messageId ? { messageId: watch.messageId } : {}),
      ...(watch.threadId ? { threadId: watch.threadId } : {}),
      ...(watch.module ? { module: watch.module } : {}),
    };
    this.consumer = new DurableConsumer(
      ctx.log,
      { ...this.filter, types: WATCHED_TYPES },
      {
        position: () => this.watch.cursor,
        handle: (event) => this.handle(event),
        // Events that passed without firing move the stored cursor too, so a restart does not read them again.
        caughtUp: async (cursor) => {
          await this.advance(cursor);
        },
      },
      ctx.logger,
      { watchId: watch.id },
    );
  }

  private get ended(): boolean {
    return this.consumer.ended;
  }

  /** True when `event` belongs to this watch's target: a reason to read on. */
  concerns(event: HubEvent): boolean {
    return matchesFilter(event, this.filter);
  }

  /** Reads and delivers whatever is new; wake-ups during a pass fold into one more pass. */
  wake(): void {
    this.consumer.wake();
  }

  /**
   * Starts nothing new and cancels waits between attempts; resolves once an attempt in flight has ended and its
   * outcome is stored.
   */
  end(): Promise<void> {
    this.waits.abort();
    return this.consumer.end();
  }

  /** Ends at once: a running command's process group is killed, a request cancelled (both delivered again later). */
  kill(): Promise<void> {
    this.kills.abort();
    return this.end();
  }

  /** One event of the watch's target: delivered when the watch fires on it; a message's end finishes the watch. */
  private async handle(event: HubEvent): Promise<boolean> {
    const finished = this.watch.messageId !== null && finishes(event);
    if (fires(this.watch.on, event)) {
      // Only while the lease on delivering is confirmed: a holder that wakes from a freeze to find it taken
      // delivers nothing more, and is stopped by its role (see LeasedRole.confirm).
      while (!(await this.ctx.mayDeliver())) {
        if (this.waits.signal.aborted) return false;
        await this.wait(LEASE_RECHECK_MS);
      }
      const outcome = await this.deliver(event);
      if (!outcome || !(await this.advance(event.cursor, { ...outcome, finished }))) return false;
    } else if (finished && !(await this.advance(event.cursor, { finished }))) {
      return false;
    }
    if (finished) {
      this.finish();
      return false;
    }
    return true;
  }

  /** Delivers `event`, retrying; answers the outcome to store, or undefined when stopped (delivered again later). */
  private async deliver(event: HubEvent): Promise<Outcome | undefined> {
    const { retry } = this.ctx.settings;
    const pending = new Set<Action>();
    if (this.watch.command) pending.add('command');
    if (this.watch.webhook) pending.add('webhook');
    // `watch.failures`: failed attempts of the delivery at the cursor (stored, so the give-up rule spans restarts).
    if (this.watch.failures > 0) {
      // Failures stored by an earlier run: wait out what is left of their back-off.
      await this.wait(Date.parse(this.watch.updatedAt) + retryDelay(this.watch.failures, retry) - Date.now());
    }
    for (;;) {
      if (this.ended) return undefined;
      const error = await this.attempt(event, pending);
      if (error === undefined) return { delivered: true };
      if (this.kills.signal.aborted) return undefined;
      this.watch.failures++;
      if (!(await this.ctx.records.recordFailure(this.watch.id, this.watch.cursor, this.watch.failures, error))) {
        await this.reload();
        return undefined;
      }
      if (this.watch.failures >= retry.maxAttempts) {
        this.ctx.logger.warn(
          { watchId: this.watch.id, deliveryId: event.cursor, attempts: this.watch.failures, error },
          'a hook delivery failed every attempt; giving it up and moving on',
        );
        return { error: `gave up delivery ${event.cursor} after ${this.watch.failures} attempts: ${error}` };
      }
      await this.wait(retryDelay(this.watch.failures, retry));
    }
  }

  /** One attempt of the actions still pending; answers what failed, or undefined when all are done. */
  private async attempt(event: HubEvent, pending: Set<Action>): Promise<string | undefined> {
    const { settings } = this.ctx;
    const message = await this.ctx.messages.require(event.messageId as string);
    const n = notification(this.watch.id, event, message);
    const body = JSON.stringify(n);
    // An A2A task's push config is sent the A2A event, with its token, instead of the hub's notification.
    const a2a = this.watch.a2aPush ? a2aPushNotification(this.watch.a2aPush, event, message) : undefined;
    const signal = this.kills.signal;
    const errors: string[] = [];
    await Promise.all(
      [...pending].map(async (action) => {
        try {
          if (action === 'command') {
            await runHookCommand({
              command: this.watch.command as string,
              input: `${body}\n`,
              env: hookEnvironment(n),
              timeoutMs: settings.commandTimeoutMs,
              signal,
              processes: this.ctx.processes,
            });
          } else {
            await postWebhook({
              url: this.watch.webhook as string,
              body: a2a?.body ?? body,
              ...(a2a ? { headers: a2a.headers } : {}),
              secret: this.watch.secret ?? '',
              watchId: this.watch.id,
              deliveryId: n.deliveryId,
              timeoutMs: settings.webhookTimeoutMs,
              signal,
              // Checked again at every delivery: a name that resolved to a public address may not any more.
              publicOnly: this.watch.createdBy !== null && !settings.allowPrivateWebhooks,
            });
          }
          pending.delete(action);
        } catch (err) {
          errors.push(`${action}: ${(err as Error).message}`);
        }
      }),
    );
    return errors.length ? errors.join('; ') : undefined;
  }

  /** Stores the move to `to`; false when the watch was removed or moved elsewhere meanwhile (then reloaded). */
  private async advance(to: string, outcome: Outcome = {}): Promise<boolean> {
    if (await this.ctx.records.advance(this.watch.id, this.watch.cursor, to, outcome)) {
      this.watch.cursor = to;
      this.watch.failures = 0;
      return true;
    }
    await this.reload();
    return false;
  }

  /** Picks up the stored state after a conditional write missed: gone, or another runner moved the cursor. */
  private async reload(): Promise<void> {
    const fresh = await this.ctx.records.load(this.watch.id);
    if (!fresh) return this.finish();
    this.watch = fresh;
    this.consumer.wake();
  }

  private finish(): void {
    void this.consumer.end();
    this.ctx.ended(this.watch.id);
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    await sleep(ms, undefined, { signal: this.waits.signal }).catch(() => undefined);
  }
}
