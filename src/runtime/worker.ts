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
 */
import type { Logger } from 'pino';
import { buildSystemPrompt, type HistoryEntry } from '../agents/prompt-builder.js';
import { type AgentEvent, fileEffect, type ProcessTracker, type RunDone } from '../agents/types.js';
import { isHubError, isStorageFault } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { canTransition, type Status } from '../domain/status.js';
import type { Message } from '../domain/types.js';
import type { EventLog, Subscription } from '../events/event-log.js';
import { LazyReaper } from '../process/reaper.js';
import type { Database, WriteTx } from '../store/database.js';
import type { InstanceStore } from '../store/instances.js';
import { holdsClaim, type MessageStore, type RunClaim, type StatusRow } from '../store/messages.js';
import type { ModuleStore } from '../store/modules.js';
import type { MessagesTable } from '../store/schema.js';
import type { TaskStore } from '../store/tasks.js';
import { type WorkerModule, workerModule } from './backends.js';
import { RunLogBudget } from './run-log.js';

/** Options of a worker. */
export interface WorkerOptions {
  /** How long a claim holds without renewal (default 30 s); renewed every third of it while running. */
  leaseMs?: number;
  /** Attempts before a reply whose worker died is failed (default 2). */
  maxAttempts?: number;
  /** An instance idle (and not paused) this long is terminated (default 10 minutes). */
  idleInstanceMs?: number;
  /** Failed runs in a row (agent errors, runs without a result, idle agents) that make a module unhealthy (default 3). */
  unhealthyAfter?: number;
  /** First wait before checking an unhealthy module again (default 1 s), doubled each time up to `healthBackoffMaxMs`. */
  healthBackoffMs?: number;
  /** Longest wait between two checks of an unhealthy module (default 60 s). */
  healthBackoffMaxMs?: number;
  /**
   * Only these modules (their settings must be able to run an agent). Default: every registered module that
   * has an agent, including those registered or changed later.
   */
  modules?: string[];
}

/** The stores a worker writes to. */
export interface WorkerStores {
  db: Database;
  log: EventLog;
  messages: MessageStore;
  tasks: TaskStore;
  instances: InstanceStore;
  modules: ModuleStore;
}

interface Claim {
  message: Message;
  /** This worker and the attempt it claimed: what the run may still write is fenced by it. */
  run: RunClaim;
  taskId: string | undefined;
  instanceId: string;
  /** The agent session the run reported last. */
  sessionId?: string;
}

/** A module's run of failures and its health-check back-off. */
interface Health {
  failures: number;
  level: number;
  timer?: NodeJS.Timeout;
}

/** Failures that say the backend itself is broken (rather than the question being hard). */
const BACKEND_FAILURES = new Set(['agent_error', 'no_result', 'idle']);

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
  private unwatchStorage: (() => void) | undefined;
  /** What is served: each module with the settings it was built from. */
  private modules = new Map<string, { config: string; module: WorkerModule }>();
  private refreshing = Promise.resolve();
  private readonly only: readonly string[] | undefined;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly idleInstanceMs: number;
  private readonly unhealthyAfter: number;
  private readonly backoff: { first: number; max: number };
  private readonly health = new Map<string, Health>();
  private readonly db: Database;
  private readonly log: EventLog;
  private readonly messages: MessageStore;
  private readonly tasks: TaskStore;
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
    this.db = stores.db;
    this.log = stores.log;
    this.messages = stores.messages;
    this.tasks = stores.tasks;
    this.instances = stores.instances;
    this.moduleStore = stores.modules;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 2;
    this.idleInstanceMs = options.idleInstanceMs ?? 10 * 60_000;
    this.unhealthyAfter = options.unhealthyAfter ?? 3;
    this.backoff = { first: options.healthBackoffMs ?? 1000, max: options.healthBackoffMaxMs ?? 60_000 };
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
    for (const m of await this.moduleStore.list()) {
      if (this.only && !this.only.includes(m.name)) continue;
      // Removed from config.yaml: it answers nothing more (its unanswered replies failed with the removal).
      if (m.removedAt) continue;
      const config = JSON.stringify(m.config);
      const kept = this.modules.get(m.name);
      if (kept?.config === config) {
        next.set(m.name, kept);
        continue;
      }
      try {
        const module = workerModule(m);
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
    for (const module of fresh) await this.checkHealth(module, true);
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
        if (e.type === 'module.updated' && e.data.health === 'unhealthy') this.scheduleCheck(module);
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
    this.unwatchStorage = this.db.storage.onChange((state) => {
      if (state.status === 'ok') this.tick();
    });
  }

  /** Renews this worker's claims, recovers those of dead workers, cleans up idle instances and claims. */
  private tick(): void {
    void this.renew()
      .then(() => this.recover())
      .then(() => this.cleanUp())
      .then(() => this.poke())
      .catch((err: unknown) =>
        this.logger.warn({ err }, 'renewing, recovering or cleaning up failed; trying again later'),
      );
  }

  /** Stops claiming, cancels the runs in progress (their replies are marked cancelled) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.unwatchStorage?.();
    if (this.timer) clearInterval(this.timer);
    this.subscription?.close();
    for (const h of this.health.values()) clearTimeout(h.timer);
    // A claim in flight still launches its run, which is then cancelled with the others.
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
          for (const { module } of this.modules.values()) {
            while (!this.stopped && this.busy(module.name) < module.concurrency) {
              const claim = await this.claim(module);
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
   * Takes the oldest pending reply of `module` with an instance to answer it, and moves its task, in one
   * transaction. Nothing when the module is paused or unhealthy, or all its instances are busy or paused.
   */
  private claim(module: WorkerModule): Promise<Claim | undefined> {
    const skipLocked = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    return this.db.write(async (tx) => {
      // The module's row lock makes claims of one module take turns, so its instances never exceed concurrency.
      const state = await tx.get<{ paused: number; health: string; removed_at: string | null }>(
        `SELECT paused, health, removed_at FROM modules WHERE name = ?${this.db.forUpdate}`,
        [module.name],
      );
      if (!state || Number(state.paused) === 1 || state.health === 'unhealthy' || state.removed_at) return undefined;
      const next = await tx.get<StatusRow & { id: string; attempts: number }>(
        `SELECT id, status, thread_id, author, attempts FROM messages WHERE status IN ('pending', 'processing')
         AND status = 'pending' AND role = 'assistant' AND author = ?
         ORDER BY created_at, id LIMIT 1${skipLocked}`,
        [module.name],
      );
      if (!next) return undefined;
      const leaseUntil = new Date(Date.now() + this.leaseMs).toISOString();
      const instance = await this.instances.acquire(tx, module.name, module.concurrency, {
        workerId: this.id,
        messageId: next.id,
        leaseUntil,
      });
      if (!instance) return undefined;
      const message = await this.messages.moveStatus(tx, next.id, 'processing', {
        reason: `claimed by worker ${this.id}, instance ${instance.id}`,
        current: next,
        extra: {
          sets: ['claimed_by = ?', 'lease_until = ?', 'attempts = attempts + 1'],
          params: [this.id, leaseUntil],
        },
      });
      const taskId = await this.moveTask(tx, message.id, 'pending', 'processing');
      return {
        message,
        run: { worker: this.id, attempt: Number(next.attempts) + 1 },
        taskId,
        instanceId: instance.id,
      };
    });
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
    let outcome = await this.attempt(module, claim, signal, true);
    if (!outcome.ok && outcome.reason === 'session_not_found') {
      // The agent's session is gone (another machine, a cleaned cache): start anew, seeded with the thread.
      await this.stored(() =>
        this.db.write((tx) =>
          tx.run('DELETE FROM thread_sessions WHERE thread_id = ? AND module = ?', [message.threadId, module.name]),
        ),
      );
      outcome = await this.attempt(module, claim, signal, false);
    }
    const done: RunDone = signal.aborted
      ? { type: 'done', ok: false, reason: 'cancelled', error: 'cancelled' }
      : outcome;
    // Health first: once the reply is final or the instance free, the next claim must see it.
    await this.afterRun(module, done, claim.taskId);
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
        await this.db.storage.recovered(this.stopping.signal).catch(() => Promise.reject(err));
      }
    }
  }

  /** One backend run; answers its `done`. */
  private async attempt(module: WorkerModule, claim: Claim, signal: AbortSignal, resume: boolean): Promise<RunDone> {
    const { message } = claim;
    // In one read: the question (the thread's last user message before this reply), whether anything came before
    // it, and the thread's session.
    const found = await this.stored(() =>
      this.db.read.get<QuestionRow & SessionRow>(
        `SELECT q.id, q.author, q.content, q.created_at, s.session_id, s.cost_total_usd,
              EXISTS (SELECT 1 FROM messages AS e WHERE e.thread_id = ? AND e.status = 'complete'
                      AND (e.created_at < q.created_at OR (e.created_at = q.created_at AND e.id < q.id))) AS earlier
       FROM (SELECT 1 AS one) AS o
       LEFT JOIN (SELECT id, author, content, created_at FROM messages WHERE thread_id = ? AND role = 'user'
                  AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT 1) AS q
              ON 1 = 1
       LEFT JOIN thread_sessions AS s ON s.thread_id = ? AND s.module = ?`,
        [
          message.threadId,
          message.threadId,
          message.createdAt,
          message.createdAt,
          message.id,
          message.threadId,
          module.name,
        ],
      ),
    );
    const question = found?.id == null ? undefined : found;
    const session =
      resume && found?.session_id != null ? { id: found.session_id, costTotal: found.cost_total_usd } : undefined;
    // A session started anew is seeded with the thread so far.
    const history =
      session || !question || !toBoolean(question.earlier)
        ? undefined
        : await this.stored(() =>
            this.db.read.all<HistoryEntry>(
              `SELECT author, role, content FROM messages WHERE thread_id = ? AND status = 'complete'
               AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at, id`,
              [message.threadId, question.created_at, question.created_at, question.id],
            ),
          );
    const systemPrompt = buildSystemPrompt({
      module,
      asker: question?.author ?? 'unknown',
      ...(history?.length ? { history } : {}),
      ...(message.schema ? { schema: message.schema } : {}),
    });
    let done: RunDone = {
      type: 'done',
      ok: false,
      reason: 'no_result',
      error: 'the backend ended without a result',
    };
    const logBudget = new RunLogBudget();
    for await (const event of module.backend.run({
      cwd: module.cwd,
      prompt: question?.content ?? '',
      systemPrompt,
      signal,
      processes: this.processes,
      ...(session ? { resumeSessionId: session.id } : {}),
      ...(session?.costTotal != null ? { previousSessionCostUsd: Number(session.costTotal) } : {}),
    })) {
      if (event.type === 'done') {
        done = event;
        break;
      }
      if (event.type === 'session') claim.sessionId = event.sessionId;
      if (event.type === 'log') {
        for (const text of logBudget.take(event.text)) await this.record({ ...event, text }, claim, module.name);
        continue;
      }
      await this.record(event, claim, module.name);
    }
    const notice = logBudget.notice;
    if (notice) await this.record({ type: 'log', level: 'warn', text: notice }, claim, module.name);
    return done;
  }

  /** Writes one agent event into the reply, its task and the thread's session. */
  private async record(event: AgentEvent, claim: Claim, module: string): Promise<void> {
    const { message, taskId } = claim;
    const task = async (fn: (id: string) => Promise<unknown>) => {
      if (taskId)
        await this.stored(() => fn(taskId)).catch((err: unknown) =>
          this.logger.warn({ err, taskId }, 'updating the task failed'),
        );
    };
    switch (event.type) {
      case 'text':
        // Written within the coalescing window, or with the final status, whichever comes first; held through a
        // storage fault.
        void this.messages
          .appendContent(message.id, event.text, { hold: this.stopping.signal, claim: claim.run })
          .catch((err: unknown) =>
            this.logger.warn({ err, messageId: message.id }, 'content from the agent was not stored'),
          );
        return;
      case 'session':
        await this.stored(() => this.saveSession(message.threadId, module, { sessionId: event.sessionId }));
        return;
      case 'usage':
        await task((id) =>
          this.tasks.update(id, {
            costUsd: event.costUsd,
            tokensIn: event.tokensIn,
            tokensOut: event.tokensOut,
            iteration: event.turns,
          }),
        );
        if (event.sessionCostUsd !== undefined)
          await this.stored(() =>
            this.saveSession(message.threadId, module, { costTotal: event.sessionCostUsd as number }),
          );
        return;
      case 'tool_use':
        await task(async (id) => {
          const effect = event.path ? fileEffect(event.name) : undefined;
          if (effect === 'created') await this.tasks.update(id, { filesCreated: [event.path as string] });
          if (effect === 'modified') await this.tasks.update(id, { filesModified: [event.path as string] });
          await this.tasks.log(id, {
            text: `${event.name}${event.path ? ` ${event.path}` : ''}`,
            action: event.name,
            ...(event.path ? { target: event.path } : {}),
          });
        });
        return;
      case 'tool_result':
        if (event.isError)
          await task((id) =>
            this.tasks.log(id, { level: 'warn', text: event.text.slice(0, 2000) || 'tool failed', success: false }),
          );
        return;
      case 'progress':
        if (event.percent !== undefined)
          await task((id) => this.tasks.update(id, { progress: event.percent as number }));
        if (event.criterion) {
          const criterion = event.criterion;
          await task(async (id) => {
            await this.tasks.log(id, { text: `criterion met: ${criterion}` });
            await this.tasks.verifyCriterion(id, criterion, { add: true });
          });
        }
        return;
      case 'log':
        await task((id) => this.tasks.log(id, { level: event.level, text: event.text }));
        return;
    }
  }

  private async saveSession(
    threadId: string,
    module: string,
    change: { sessionId?: string; costTotal?: number },
  ): Promise<void> {
    await this.db.write(async (tx) => {
      const now = new Date().toISOString();
      if (change.sessionId) {
        await tx.run(
          `INSERT INTO thread_sessions (thread_id, module, session_id, cost_total_usd, updated_at) VALUES (?, ?, ?, NULL, ?)
           ON CONFLICT (thread_id, module) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
          [threadId, module, change.sessionId, now],
        );
      }
      if (change.costTotal !== undefined) {
        await tx.run(
          'UPDATE thread_sessions SET cost_total_usd = ?, updated_at = ? WHERE thread_id = ? AND module = ?',
          [change.costTotal, now, threadId, module],
        );
      }
    });
  }

  /**
   * Marks the task, then the reply, finished — in that order, so whoever sees the reply final finds its task
   * final too. A reply cancelled meanwhile stays cancelled.
   */
  private async finish(claim: Claim, done: RunDone): Promise<void> {
    const { message, taskId } = claim;
    const error = done.ok ? undefined : (done.error ?? done.reason ?? 'failed');
    // One transaction, which writes the content still held first, so no delta follows the final status.
    await this.messages.settle(message.id, async (tx, current) => {
      if (current && !holdsClaim(current, claim.run)) {
        // This run stalled past its lease and the reply went to another: its outcome is not the reply's.
        this.logger.warn(
          { messageId: message.id, attempt: claim.run.attempt, now: current.attempts },
          'a run that lost its reply to another finished; its outcome is dropped',
        );
        await this.instances.releaseIn(tx, claim.instanceId, claim.sessionId);
        return;
      }
      const to: Status =
        current?.status === 'cancelled' || done.reason === 'cancelled' ? 'cancelled' : done.ok ? 'complete' : 'failed';
      // The task's event comes first, so whoever sees the reply final finds its task final too.
      if (taskId) {
        const options = error ? { error } : {};
        const moved = await this.tasks.moveFrom(tx, { id: taskId }, 'processing', to, options);
        // Someone moved the task meanwhile: it still follows the reply, if it may.
        const task = moved
          ? undefined
          : await tx.get<{ status: Status }>(`SELECT status FROM tasks WHERE id = ?${this.db.forUpdate}`, [taskId]);
        if (task && canTransition('task', task.status, to))
          await this.tasks.moveFrom(tx, { id: taskId }, task.status, to, options);
      }
      if (current && canTransition('message', current.status, to)) {
        await this.messages.moveStatus(tx, message.id, to, {
          ...(error ? { error, reason: done.reason ?? 'agent_error' } : {}),
          current,
        });
      }
      await this.instances.releaseIn(tx, claim.instanceId, claim.sessionId);
    });
  }

  /**
   * Counts a run towards its module's health: a success clears the count; `unhealthyAfter` backend failures in
   * a row (one, for a program that is not installed) mark the module unhealthy until a check passes.
   */
  private async afterRun(module: WorkerModule, done: RunDone, taskId: string | undefined): Promise<void> {
    const h = this.healthOf(module.name);
    if (done.ok) {
      h.failures = 0;
      h.level = 0;
      return;
    }
    if (done.reason === 'not_installed') h.failures = Math.max(h.failures + 1, this.unhealthyAfter);
    else if (BACKEND_FAILURES.has(done.reason ?? 'agent_error')) h.failures++;
    else return;
    if (h.failures < this.unhealthyAfter || this.stopped) return;
    // A module's health is public (every token sees the module list and its events), so it names the failure but
    // never quotes a run's output, which may quote the question: that stays on the run's task, for those who may
    // see it. A program that is not installed is a matter of configuration, named as it is.
    const runs = `${h.failures} failed run${h.failures === 1 ? '' : 's'} in a row`;
    const why =
      done.reason === 'not_installed'
        ? `${done.error ?? 'not installed'} (${runs})`
        : `runs keep failing (${done.reason ?? 'agent_error'}): ${runs}${taskId ? `; the last error is on task ${taskId}` : ''}`;
    await this.moduleStore
      .setHealth(module.name, 'unhealthy', why.slice(0, 4000))
      .catch((err: unknown) => this.logger.warn({ err, module: module.name }, 'recording module health failed'));
    this.logger.warn({ module: module.name, error: why }, 'module marked unhealthy; its work waits for a health check');
    this.scheduleCheck(module);
  }

  /**
   * Checks a module's backend (program and directory present). Passing makes it healthy — but one more backend
   * failure marks it unhealthy again, with a longer wait — and failing schedules the next check.
   */
  private async checkHealth(module: WorkerModule, atStart = false): Promise<void> {
    if (this.stopped) return;
    const problem = await module.check().catch((err: unknown) => String(err));
    try {
      if (problem) {
        await this.moduleStore.setHealth(module.name, 'unhealthy', problem);
        this.scheduleCheck(module);
        return;
      }
      const h = this.healthOf(module.name);
      const current = await this.moduleStore.get(module.name);
      if (current.health === 'unhealthy') {
        if (!atStart) h.failures = this.unhealthyAfter - 1;
        await this.moduleStore.setHealth(module.name, 'healthy');
      }
    } catch (err) {
      this.logger.warn({ err, module: module.name }, 'recording module health failed');
      if (!atStart) this.scheduleCheck(module);
    }
    this.poke();
  }

  private scheduleCheck(module: WorkerModule): void {
    const h = this.healthOf(module.name);
    if (h.timer || this.stopped) return;
    const wait = Math.min(this.backoff.max, this.backoff.first * 2 ** h.level);
    h.level++;
    h.timer = setTimeout(() => {
      h.timer = undefined;
      void this.checkHealth(module);
    }, wait);
    h.timer.unref();
  }

  private healthOf(module: string): Health {
    let h = this.health.get(module);
    if (!h) {
      h = { failures: 0, level: 0 };
      this.health.set(module, h);
    }
    return h;
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
    const renewed = await this.db.write(async (tx) => {
      const renewed = await this.messages.renewLeases(tx, this.id, until);
      await this.instances.renew(tx, this.id, until);
      return renewed;
    });
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
    const now = new Date().toISOString();
    await this.instances.recover(now);
    const lost = await this.db.read.all<MessagesTable>(
      "SELECT * FROM messages WHERE status IN ('pending', 'processing') AND status = 'processing' AND lease_until < ?",
      [now],
    );
    for (const row of lost) {
      await this.db.write(async (tx) => {
        // Still lost? Another worker may have recovered it since the read.
        const still = await tx.get(
          `SELECT id FROM messages WHERE id = ? AND status = 'processing' AND lease_until < ?${this.db.forUpdate}`,
          [row.id, now],
        );
        if (!still) return;
        const again = row.attempts < this.maxAttempts;
        const reason = again
          ? 'worker lost (lease expired); retrying'
          : `its worker stopped responding ${row.attempts} times`;
        const to = again ? 'pending' : 'failed';
        // The next run answers from nothing; what the lost one wrote stays in the log and goes to the task's log.
        const lost = again ? await this.messages.resetContent(tx, row.id) : '';
        await this.messages.moveStatus(tx, row.id, to, {
          reason,
          ...(again ? {} : { error: reason }),
          extra: { sets: ['claimed_by = NULL', 'lease_until = NULL'] },
        });
        const taskId = await this.moveTask(tx, row.id, 'processing', to, again ? {} : { error: reason });
        if (taskId && lost) await this.tasks.log(taskId, { level: 'warn', text: lostOutput(lost) }, tx);
      });
    }
  }

  /** Moves the task of a reply (if any, and if it is at `from`) to `to`; answers the task id (moved or not). */
  private async moveTask(
    tx: WriteTx,
    messageId: string,
    from: Status,
    to: Status,
    options: { error?: string } = {},
  ): Promise<string | undefined> {
    const moved = await this.tasks.moveFrom(tx, { messageId }, from, to, options);
    if (moved) return moved.id;
    return (await tx.get<{ id: string }>('SELECT id FROM tasks WHERE message_id = ? LIMIT 1', [messageId]))?.id;
  }
}

/** The most of a lost run's output kept in the task's log (a log entry holds at most 20,000 characters). */
const LOST_OUTPUT_CHARS = 16_000;

/** The task log's record of what a lost run had written into the reply before it was cleared. */
function lostOutput(content: string): string {
  const chars = [...content];
  const kept = chars.length > LOST_OUTPUT_CHARS ? `${chars.slice(0, LOST_OUTPUT_CHARS).join('')}…` : content;
  return `the lost run's answer so far (${chars.length} characters), cleared for the next run: ${kept}`;
}

/** `450 ms`, `30 s`, `10 min`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The question a reply answers, and whether a complete message precedes it in the thread (`earlier`, 0/1 or a boolean). */
type QuestionRow = Pick<MessagesTable, 'id' | 'author' | 'content' | 'created_at'> & { earlier: unknown };

const toBoolean = (value: unknown): boolean => value === true || Number(value) === 1;

/** A thread's agent session, as `thread_sessions` stores it. */
interface SessionRow {
  session_id: string | null;
  cost_total_usd: number | null;
}

export type { WorkerModule };
