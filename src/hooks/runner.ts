/**
 * The hook runner (the original design's daemon callbacks): one delivery loop per live watch, all woken by a
 * single live subscription to the log. Status changes wake the loops whose target they concern; `watch.created`
 * and `watch.removed`, written by any process, start and stop loops. Each loop reads from its own stored cursor,
 * so the subscription only says when to read, never what: a missed wake-up delays, it cannot lose.
 *
 * Delivering is a leased role (`hooks`, see src/events/leased-role.ts): with several services on one database,
 * one delivers and the others stand by, so each notification goes out once per attempt; a standby takes over
 * from the stored cursors when the holder stops or dies.
 */
import type { Logger } from 'pino';
import type { HubEvent } from '../domain/types.js';
import { MAX_TIMER_MS, number } from '../domain/validate.js';
import type { EventLog, Subscription } from '../events/event-log.js';
import { LeasedRole } from '../events/leased-role.js';
import { LazyReaper } from '../process/reaper.js';
import type { ProcessTracker } from '../process/tracker.js';
import type { LeaseStore } from '../store/leases.js';
import type { MessageStore } from '../store/messages.js';
import type { LiveWatch, WatchRecords } from '../store/watches.js';
import { WATCHED_TYPES } from './triggers.js';
import { type DeliverySettings, WatchLoop, type WatchLoopContext } from './watch-loop.js';
import type { WatchSettings } from './watches.js';

/** Options of `hub.startHooks`. */
export interface HookOptions {
  /** A hook command running longer is killed (its whole process group) and the attempt fails (default 30 s). */
  commandTimeoutMs?: number;
  /** A webhook not answering within this fails the attempt (default 10 s). */
  webhookTimeoutMs?: number;
  /** Attempts of one delivery before it is given up and the watch moves on (default 10). */
  maxAttempts?: number;
  /** Wait after the first failed attempt, doubled after each further one (default 1 s)… */
  retryBaseMs?: number;
  /** …up to this (default 5 min). */
  retryMaxMs?: number;
  /**
   * How long `stop()` lets deliveries in flight finish (their outcome stored) before it kills their commands and
   * cancels their requests (default 5 s). What it cancels is delivered again on the next start.
   */
  stopGraceMs?: number;
  /**
   * How long the lease on delivering lasts unless renewed (default 30 s; renewed every third of it). With
   * several services on one database, a standby takes over this long after the holder died.
   */
  leaseMs?: number;
}

/** What the runner reads and writes. */
export interface HookStores {
  records: WatchRecords;
  log: EventLog;
  messages: MessageStore;
  /** The hub's rules for watches (whether module tokens' webhooks may call private addresses). */
  watches: WatchSettings;
  leases: LeaseStore;
  /** Who this service is when it holds the lease (see `newHolderId`). */
  holder: string;
}

/**
 * How often every loop reads on even without news. A quiet watch's stored cursor would otherwise stay where
 * it is until retention prunes past it; this moves it to the head hourly, like the hub's retention sweep.
 */
const SWEEP_MS = 60 * 60 * 1000;

/** Runs the hooks of every live watch of a database. */
export class HookRunner {
  private readonly loops = new Map<string, WatchLoop>();
  private readonly context: WatchLoopContext;
  private readonly stopGraceMs: number;
  private readonly role: LeasedRole;
  private subscription: Subscription | undefined;
  private sweep: NodeJS.Timeout | undefined;
  /** Watch events are handled one after another, so a removal never overtakes the creation before it. */
  private watchEvents: Promise<void> = Promise.resolve();
  /** The watchdog this runner started itself, when it was given none (the hub gives its own); closed by `stop`. */
  private readonly ownReaper: LazyReaper | undefined;
  private stopping: Promise<void> | undefined;
  /** Between taking the lease and halting: loops may be started. */
  private active = false;

  /** `processes`: the hub's watchdog for the commands' process groups; without it the runner starts its own. */
  constructor(
    private readonly stores: HookStores,
    private readonly logger: Logger,
    options: HookOptions = {},
    processes?: ProcessTracker,
  ) {
    const settings: DeliverySettings = {
      commandTimeoutMs: number(options.commandTimeoutMs ?? 30_000, 'commandTimeoutMs', 1, MAX_TIMER_MS),
      webhookTimeoutMs: number(options.webhookTimeoutMs ?? 10_000, 'webhookTimeoutMs', 1, MAX_TIMER_MS),
      allowPrivateWebhooks: stores.watches.allowPrivateWebhooks,
      retry: {
        maxAttempts: number(options.maxAttempts ?? 10, 'maxAttempts', 1, 1000, true),
        baseMs: number(options.retryBaseMs ?? 1000, 'retryBaseMs', 1, MAX_TIMER_MS),
        maxMs: number(options.retryMaxMs ?? 5 * 60_000, 'retryMaxMs', 1, MAX_TIMER_MS),
      },
    };
    this.stopGraceMs = number(options.stopGraceMs ?? 5000, 'stopGraceMs', 0, MAX_TIMER_MS);
    const leaseMs = number(options.leaseMs ?? 30_000, 'leaseMs', 30, MAX_TIMER_MS);
    let tracker: ProcessTracker;
    if (processes) {
      tracker = processes;
    } else {
      // Started on first use: a runner with only webhooks needs no watchdog process.
      this.ownReaper = new LazyReaper(logger);
      tracker = this.ownReaper;
    }
    this.context = {
      log: stores.log,
      messages: stores.messages,
      records: stores.records,
      logger,
      settings,
      processes: tracker,
      ended: (watchId) => this.loops.delete(watchId),
      mayDeliver: () => this.role.confirm(),
    };
    this.role = new LeasedRole(
      stores.leases,
      'hooks',
      stores.holder,
      leaseMs,
      // A lease lost has already run out: another service may be delivering, so this one stops at once.
      { held: () => this.deliver(), lost: () => this.halt(this.stopping ? this.stopGraceMs : 0) },
      logger,
    );
  }

  /** True while this service delivers (it holds the lease); false while it stands by. */
  get delivering(): boolean {
    return this.role.holding;
  }

  /** The watches being delivered now. */
  get watchIds(): string[] {
    return [...this.loops.keys()];
  }

  /** Takes the lease on delivering when no other service holds it (delivering at once), else stands by. */
  start(): Promise<void> {
    return this.role.start();
  }

  /** Starts a loop for every live watch, each first catching up from its stored cursor. */
  private async deliver(): Promise<void> {
    this.active = true;
    // Subscribed before the watches are read: a watch created in between arrives as an event.
    this.subscription = await this.stores.log.subscribe({ types: [...WATCHED_TYPES, 'watch.*'] }, (event) =>
      this.heard(event),
    );
    for (const watch of await this.stores.records.live()) this.add(watch);
    this.sweep = setInterval(() => {
      for (const loop of this.loops.values()) loop.wake();
    }, SWEEP_MS);
    this.sweep.unref();
  }

  /**
   * Stops: no new delivery starts; those in flight get `stopGraceMs` to finish and be stored, then running
   * commands are killed and requests cancelled. Resolves when every loop has ended.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.role.stop();
      await this.ownReaper?.close();
    })();
    return this.stopping;
  }

  /** Stops delivering: loops get `graceMs` to finish what is in flight, then are killed. */
  private async halt(graceMs: number): Promise<void> {
    this.active = false;
    clearInterval(this.sweep);
    this.subscription?.close();
    this.subscription = undefined;
    const loops = [...this.loops.values()];
    const ended = Promise.all(loops.map((loop) => loop.end()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await Promise.all(loops.map((loop) => loop.kill()));
    this.loops.clear();
    await this.watchEvents;
  }

  private heard(event: HubEvent): void {
    if (event.type === 'watch.created' || event.type === 'watch.removed') {
      const watchId = String(event.data.watchId);
      // A removal stops the loop at once, before any later event can wake it, and once more after a creation
      // still loading, which could otherwise start a loop for the removed watch.
      const stopped = event.type === 'watch.removed' ? this.removed(watchId) : undefined;
      this.watchEvents = this.watchEvents
        .then(() => (stopped ? stopped.then(() => this.removed(watchId)) : this.created(watchId)))
        .catch((err: unknown) => this.logger.warn({ err, watchId }, 'starting or stopping a watch’s hooks failed'));
      return;
    }
    for (const loop of this.loops.values()) if (loop.concerns(event)) loop.wake();
  }

  private async created(watchId: string): Promise<void> {
    if (!this.active || this.loops.has(watchId)) return;
    const watch = await this.stores.records.load(watchId);
    if (watch && this.active) this.add(watch);
  }

  private removed(watchId: string): Promise<void> {
    const loop = this.loops.get(watchId);
    if (!loop) return Promise.resolve();
    this.loops.delete(watchId);
    return loop.kill();
  }

  private add(watch: LiveWatch): void {
    if (this.loops.has(watch.id)) return;
    const loop = new WatchLoop(watch, this.context);
    this.loops.set(watch.id, loop);
    loop.wake();
  }
}
