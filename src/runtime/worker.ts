/**
 * The worker: claims pending replies of the modules it serves, runs each through the module's agent backend,
 * and writes what happens as it goes — `processing` at start, content deltas, the task's turns, cost, tokens,
 * files and action log, then `complete` or `failed` with the reason.
 *
 * Each claimed reply is answered by one of the module's instances: an idle one, or a new one while the module has
 * fewer live instances than its `concurrency`. Paused instances take nothing; a paused or unhealthy module's work
 * waits. A module whose backend keeps failing is marked unhealthy and checked again with growing back-off.
 *
 * Claims carry a lease the worker renews while it runs. A reply left `processing` by a worker that died is
 * recovered once its lease expires: back to `pending` for one more try, then `failed` with the reason. Several
 * workers may share one database: PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, SQLite's write lock
 * serializes claims.
 *
 * A storage fault (disk full, database read-only or out of reach) loses nothing of a run: its content is held,
 * and its other writes wait for the database to store again, then go in — the run finishes as soon as the fault
 * clears, not a lease later — and the worker renews, recovers and claims at once.
 *
 * (Over 400 lines: claiming, running, renewing, recovering and timing out interactive modules' questions share one
 * loop and one view of the modules served, which splitting would have to pass around.)
 */
import type { Logger } from 'pino';
import type { ProcessTracker } from '../agents/types.js';
import { isHubError, isStorageFault } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { EventLog, Subscription } from '../events/event-log.js';
import { LazyReaper } from '../process/reaper.js';
import type { Inbox } from '../store/inbox.js';
import type { InstanceStore } from '../store/instances.js';
import type { ModuleStore } from '../store/modules.js';
import type { ClaimedReply, ReplyQueue } from '../store/reply-queue.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { StructuredReplies } from '../store/structured-replies.js';
import type { TaskStore } from '../store/tasks.js';
import type { ThreadContext } from '../store/thread-context.js';
import { AgentRuns } from './agent-run.js';
import { type WorkerModule, workerModule } from './backends.js';
import { ModuleHealth } from './module-health.js';
import { type CheckedDone, checkAnswer } from './structured-run.js';
import type { WorkerOptions, WorkerStores } from './worker-options.js';

interface Claim extends ClaimedReply {
  /** The agent session the run reported last. */
  sessionId?: string;
}

/** Runs the agents of some modules. */
export class Worker {
  readonly id = newId();
  private readonly running = new Map<string, { module: string; abort: AbortController; done: Promise<void> }>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private claiming = false;
  private claimLoop: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Aborted by `stop`: writes held back by a storage fault stop waiting for the database. */
  private readonly stopping = new AbortController();
  /** Set by `stop({ handBack: true })`: runs stopped by it give their replies back instead of cancelling them. */
  private handingBack = false;
  /** The replies this worker handed back when it stopped. */
  readonly handedBack: string[] = [];
  private unwatchStorage: (() => void) | undefined;
  /** What is served: each module with the settings it was built from. */
  private modules = new Map<string, { config: string; module: WorkerModule }>();
  /** Interactive modules (backend session): not run here, but their unanswered questions are timed out here. */
  private sessions: string[] = [];
  private refreshing = Promise.resolve();
  private readonly only: readonly string[] | undefined;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly idleInstanceMs: number;
  private readonly health: ModuleHealth;
  private readonly runs: AgentRuns;
  private readonly tasks: TaskStore;
  private readonly replies: StructuredReplies;
  private readonly inbox: Inbox;
  private readonly storage: StorageHealth;
  private readonly queue: ReplyQueue;
  private readonly threads: ThreadContext;
  private readonly log: EventLog;
  private readonly instances: InstanceStore;
  private readonly moduleStore: ModuleStore;
  /** Told of the agents' process groups: its watchdog kills them if this process dies with runs in progress. */
  private readonly processes: ProcessTracker;
  /** The watchdog this worker started itself, when it was given none (the hub gives its own); closed by `stop`. */
  private readonly ownReaper: LazyReaper | undefined;

  /** `processes`: the hub's watchdog; without it the worker starts its own on its first run. */
  constructor(
    stores: WorkerStores,
    private readonly logger: Logger,
    options: WorkerOptions = {},
    processes?: ProcessTracker,
  ) {
    if (processes) {
      this.processes = processes;
    } else {
      this.ownReaper = new LazyReaper(logger);
      this.processes = this.ownReaper;
    }
    this.only = options.modules;
    this.storage = stores.storage;
    this.queue = stores.queue;
    this.threads = stores.threads;
    this.log = stores.log;
    this.instances = stores.instances;
    this.moduleStore = stores.modules;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 2;
    this.idleInstanceMs = options.idleInstanceMs ?? 10 * 60_000;
    this.health = new ModuleHealth(
      stores.modules,
      logger,
      {
        unhealthyAfter: options.unhealthyAfter ?? 3,
        backoff: { first: options.healthBackoffMs ?? 1000, max: options.healthBackoffMaxMs ?? 60_000 },
      },
      () => this.poke(),
    );
    this.tasks = stores.tasks;
    this.replies = stores.replies;
    this.inbox = stores.inbox;
    this.runs = new AgentRuns({
      messages: stores.messages,
      tasks: stores.tasks,
      threads: stores.threads,
      logger,
      stored: (write) => this.stored(write),
      stopping: this.stopping.signal,
      processes: this.processes,
      ...(stores.toolsPlace ? { toolsPlace: stores.toolsPlace } : {}),
    });
  }

  /** The modules this worker answers for. */
  get moduleNames(): string[] {
    return [...this.modules.keys()];
  }

  /**
   * Builds the modules to serve from their stored settings, keeping those whose settings did not change (runs
   * in progress finish with the settings they started with); new and changed ones are health-checked. A module
   * named in `modules` whose settings cannot run an agent is an error; otherwise a module without an agent (one
   * that only asks) is not served, and one with broken settings is shown unhealthy.
   */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const next = new Map<string, { config: string; module: WorkerModule }>();
    const fresh: WorkerModule[] = [];
    const sessions: string[] = [];
    for (const m of await this.moduleStore.list()) {
      if (this.only && !this.only.includes(m.name)) continue;
      // Removed from config.yaml: it answers nothing more (its unanswered replies failed with the removal).
      if (m.removedAt) continue;
      if (m.config.backend === 'session') {
        sessions.push(m.name);
        continue;
      }
      const config = JSON.stringify(m.config);
      const kept = this.modules.get(m.name);
      if (kept?.config === config) {
        next.set(m.name, kept);
        continue;
      }
      try {
        const module = await workerModule(m);
        next.set(m.name, { config, module });
        fresh.push(module);
      } catch (err) {
        if (this.only) throw err;
        if (m.config.backend !== undefined && isHubError(err)) {
          await this.moduleStore.setHealth(m.name, 'unhealthy', err.message);
        }
      }
    }
    this.modules = next;
    this.sessions = sessions;
    for (const module of fresh) await this.health.check(module, true);
  }

  /**
   * Recovers expired claims, then claims work as questions arrive. At every third of the lease it renews its
   * claims, recovers those of dead workers and cleans up idle instances.
   */
  async start(): Promise<void> {
    this.subscription = await this.log.subscribe(
      { types: ['message.created', 'message.status_changed', 'instance.*', 'module.*'] },
      (e) => {
        if (e.type === 'message.status_changed' && e.data.to === 'cancelled' && e.messageId) {
          this.running.get(e.messageId)?.abort.abort();
        }
        if (
          e.type === 'module.registered' ||
          (e.type === 'module.updated' && (e.data.description !== undefined || e.data.removed !== undefined))
        ) {
          // Registered, changed, removed from config.yaml or added back: serve it anew, or no more.
          this.refreshing = this.refreshing
            .then(() => this.refresh())
            .then(() => this.poke())
            .catch((err: unknown) => this.logger.warn({ err }, 'serving a changed module failed'));
          return;
        }
        const module = e.module ? this.modules.get(e.module)?.module : undefined;
        if (!module) return;
        // Another worker found the module unhealthy: check it too, in case that worker goes away.
        if (e.type === 'module.updated' && e.data.health === 'unhealthy') this.health.scheduleCheck(module);
        this.poke();
      },
    );
    try {
      const first = this.refresh();
      this.refreshing = first.catch(() => undefined);
      await first;
      await this.recover();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.poke();
    this.timer = setInterval(() => this.tick(), Math.min(this.leaseMs / 3, Math.max(this.idleInstanceMs / 2, 50)));
    this.timer.unref();
    // Once a storage fault clears, the leases it kept from being renewed are renewed first, then what waited runs.
    this.unwatchStorage = this.storage.onChange((state) => {
      if (state.status === 'ok') this.tick();
    });
  }

  /** Renews this worker's claims, recovers those of dead workers, cleans up idle instances and claims. */
  private tick(): void {
    void this.renew()
      .then(() => this.recover())
      .then(() => this.cleanUp())
      .then(() => this.expireSessions())
      .then(() => this.poke())
      .catch((err: unknown) =>
        this.logger.warn({ err }, 'renewing, recovering or cleaning up failed; trying again later'),
      );
  }

  /** Fails the questions interactive modules left unanswered past their `timeoutMs` (see store/inbox.ts). */
  private async expireSessions(): Promise<void> {
    for (const name of this.sessions) await this.inbox.expire(name);
  }

  /**
   * Stops claiming, stops the runs in progress and waits for them: their replies are marked cancelled, or with
   * `handBack` go back to pending to run again when a worker is back (see ReplyQueue.handBack).
   */
  async stop(options: { handBack?: boolean } = {}): Promise<void> {
    this.handingBack = options.handBack === true;
    this.stopped = true;
    this.stopping.abort();
    this.unwatchStorage?.();
    if (this.timer) clearInterval(this.timer);
    this.subscription?.close();
    this.health.stop();
    // A claim in flight still launches its run, which is then cancelled (or handed back) with the others.
    await this.claimLoop;
    for (const run of this.running.values()) run.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.ownReaper?.close();
  }

  /** Claims as much as the modules' free slots allow; overlapping calls fold into one more pass. */
  private poke(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    this.claimLoop = (async () => {
      try {
        do {
          this.again = false;
          // A module registered or changed before the work arrived is served with its new settings.
          await this.refreshing;
          for (const { module, config } of this.modules.values()) {
            while (!this.stopped && this.busy(module.name) < module.concurrency) {
              const claim = await this.claim(module, config);
              if (!claim) break;
              this.launch(module, claim);
            }
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.logger.warn({ err }, 'claiming work failed; trying again on the next wake-up');
      } finally {
        this.claiming = false;
      }
    })();
  }

  private busy(module: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.module === module) n++;
    return n;
  }

  /**
   * The next reply of `module` to run, claimed with an instance (see ReplyQueue.claim). When its settings changed
   * and this worker has not heard yet, nothing: the worker serves it anew first, then claims again.
   */
  private async claim(module: WorkerModule, settings: string): Promise<Claim | undefined> {
    const claimed = await this.queue.claim({ ...module, settings }, this.id, this.leaseMs);
    if (claimed !== 'changed') return claimed;
    this.refreshing = this.refreshing
      .then(() => this.refresh())
      .catch((err: unknown) => this.logger.warn({ err }, 'serving a changed module failed'));
    this.again = true;
    return undefined;
  }

  private launch(module: WorkerModule, claim: Claim): void {
    const abort = new AbortController();
    const done = this.run(module, claim, abort.signal)
      .catch((err: unknown) => this.logger.error({ err, messageId: claim.message.id }, 'a run failed unexpectedly'))
      .finally(() => {
        this.running.delete(claim.message.id);
        this.poke();
      });
    this.running.set(claim.message.id, { module: module.name, abort, done });
  }

  /** Runs one claimed reply to its end. */
  private async run(module: WorkerModule, claim: Claim, signal: AbortSignal): Promise<void> {
    const { message } = claim;
    let outcome: CheckedDone = await this.runs.attempt(module, claim, signal, true);
    if (!outcome.ok && outcome.reason === 'session_not_found') {
      // The agent's session is gone (another machine, a cleaned cache): start anew, seeded with the thread.
      await this.stored(() => this.threads.forgetSession(message.threadId, module.name));
      outcome = await this.runs.attempt(module, claim, signal, false);
    }
    // A structured reply's answer is checked, and repaired in further rounds of this run when it does not pass.
    const checking = { runs: this.runs, replies: this.replies, tasks: this.tasks, stored: this.stored.bind(this) };
    outcome = await checkAnswer(checking, module, claim, signal, outcome);
    // The service is stopping and hands its work back: the reply runs again when a service is back.
    if (signal.aborted && this.handingBack && (await this.stored(() => this.queue.handBack(claim, claim.sessionId)))) {
      this.handedBack.push(message.id);
      return;
    }
    const done: CheckedDone = signal.aborted
      ? { type: 'done', ok: false, reason: 'cancelled', error: 'cancelled' }
      : outcome;
    // Health first: once the reply is final or the instance free, the next claim must see it.
    await this.health.afterRun(module, done, claim.taskId);
    await this.stored(() => this.finish(claim, done));
  }

  /**
   * Runs `write`; when a storage fault fails it, waits for the database to store again and runs it once more.
   * Gives up, throwing the fault, when the worker stops first (the reply is then recovered after its lease).
   */
  private async stored<T>(write: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await write();
      } catch (err) {
        if (!isStorageFault(err)) throw err;
        await this.storage.recovered(this.stopping.signal).catch(() => Promise.reject(err));
      }
    }
  }

  /** Marks the task, then the reply, finished (see ReplyQueue.finish); a run that lost its reply only says so. */
  private async finish(claim: Claim, done: CheckedDone): Promise<void> {
    const outcome = {
      ok: done.ok,
      ...(done.reason ? { reason: done.reason } : {}),
      ...(done.error ? { error: done.error } : {}),
      ...(done.value !== undefined ? { value: done.value } : {}),
    };
    if (!(await this.queue.finish(claim, outcome, claim.sessionId))) {
      // This run stalled past its lease and the reply went to another: its outcome is not the reply's.
      this.logger.warn(
        { messageId: claim.message.id, attempt: claim.run.attempt },
        'a run that lost its reply to another finished; its outcome is dropped',
      );
    }
  }

  /** Terminates this worker's modules' instances left idle longer than `idleInstanceMs`. */
  private async cleanUp(): Promise<void> {
    if (this.stopped) return;
    const before = new Date(Date.now() - this.idleInstanceMs).toISOString();
    await this.instances.cleanUp(this.moduleNames, before, `idle for ${duration(this.idleInstanceMs)}`);
  }

  /** Pushes the lease of every reply this worker is running, and of their instances, in one transaction. */
  private async renew(): Promise<void> {
    if (this.stopped || !this.running.size) return;
    const until = new Date(Date.now() + this.leaseMs).toISOString();
    const renewed = await this.queue.renew(this.id, until);
    // A run whose lease was not renewed lost its reply (this worker stalled past the lease and it was recovered):
    // its agent is stopped, and what it still writes is fenced off (see finish and appendContent).
    for (const [id, run] of this.running) {
      if (!renewed.has(id) && !run.abort.signal.aborted) {
        this.logger.warn(
          { messageId: id },
          'this worker lost a reply it was running (lease expired); stopping its agent',
        );
        run.abort.abort();
      }
    }
  }

  /** Replies whose worker died (lease expired): one more try, from empty content, then failed with the reason. */
  private async recover(): Promise<void> {
    if (this.stopped) return;
    await this.queue.recover(this.maxAttempts);
  }
}

/** `450 ms`, `30 s`, `10 min`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export type { WorkerModule };
