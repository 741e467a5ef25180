/**
 * The worker: claims pending replies of the modules it serves, runs each through the module's agent backend,
 * and writes what happens as it goes — `processing` at start, content deltas, the task's turns, cost, tokens,
 * files and action log, then `complete` or `failed` with the reason.
 *
 * Claims carry a lease the worker renews while it runs. A reply left `processing` by a worker that died is
 * recovered once its lease expires: back to `pending` for one more try, then `failed` with the reason. Several
 * workers may share one database: PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, SQLite's write lock
 * serializes claims.
 */
import type { Logger } from 'pino';
import { buildSystemPrompt, type HistoryEntry } from '../agents/prompt-builder.js';
import type { AgentBackend, AgentEvent } from '../agents/types.js';
import { isHubError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Status } from '../domain/status.js';
import type { EventLog, Subscription } from '../events/event-log.js';
import type { Database, WriteTx } from '../store/database.js';
import type { MessageStore } from '../store/messages.js';
import type { MessagesTable } from '../store/schema.js';
import type { TaskStore } from '../store/tasks.js';

/** A module as the worker runs it. */
export interface WorkerModule {
  name: string;
  description: string;
  capabilities: readonly string[];
  cwd: string;
  concurrency: number;
  backend: AgentBackend;
}

/** Options of a worker. */
export interface WorkerOptions {
  /** How long a claim holds without renewal (default 30 s); renewed every third of it while running. */
  leaseMs?: number;
  /** Attempts before a reply whose worker died is failed (default 2). */
  maxAttempts?: number;
}

interface Claim {
  message: MessagesTable;
  taskId: string | undefined;
}

const FILES_CREATED = new Set(['Write']);
const FILES_MODIFIED = new Set(['Edit', 'MultiEdit', 'NotebookEdit']);

/** Runs the agents of some modules. */
export class Worker {
  readonly id = newId();
  private readonly running = new Map<string, { module: string; abort: AbortController; done: Promise<void> }>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private claiming = false;
  private again = false;
  private stopped = false;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
    private readonly modules: ReadonlyMap<string, WorkerModule>,
    private readonly logger: Logger,
    options: WorkerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 2;
  }

  /** Recovers expired claims, then claims work as questions arrive (and at every third of the lease). */
  async start(): Promise<void> {
    this.subscription = await this.log.subscribe({ types: ['message.created', 'message.status_changed'] }, (e) => {
      if (e.type === 'message.status_changed' && e.data.to === 'cancelled' && e.messageId) {
        this.running.get(e.messageId)?.abort.abort();
      }
      if (e.module && this.modules.has(e.module)) this.poke();
    });
    await this.recover();
    this.poke();
    this.timer = setInterval(() => {
      void this.recover().then(() => this.poke());
    }, this.leaseMs / 3);
    this.timer.unref();
  }

  /** Stops claiming, cancels the runs in progress (their replies are marked cancelled) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.subscription?.close();
    for (const run of this.running.values()) run.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Claims as much as the modules' free slots allow; overlapping calls fold into one more pass. */
  private poke(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = true;
    void (async () => {
      try {
        do {
          this.again = false;
          for (const module of this.modules.values()) {
            while (!this.stopped && this.busy(module.name) < module.concurrency) {
              const claim = await this.claim(module.name);
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

  /** Takes the oldest pending reply of `module`, with its task, in one transaction. */
  private claim(module: string): Promise<Claim | undefined> {
    const skipLocked = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    return this.db.write(async (tx) => {
      const next = await tx.get<{ id: string }>(
        `SELECT id FROM messages WHERE status = 'pending' AND role = 'assistant' AND author = ?
         ORDER BY created_at, id LIMIT 1${skipLocked}`,
        [module],
      );
      if (!next) return undefined;
      await this.messages.moveStatus(tx, next.id, 'processing', { reason: `claimed by worker ${this.id}` });
      const message = (await tx.get<MessagesTable>(
        'UPDATE messages SET claimed_by = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ? RETURNING *',
        [this.id, new Date(Date.now() + this.leaseMs).toISOString(), next.id],
      )) as MessagesTable;
      const taskId = await this.moveTask(tx, message.id, 'pending', 'processing');
      return { message, taskId };
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
    const renew = setInterval(() => {
      void this.db
        .write((tx) =>
          tx.run('UPDATE messages SET lease_until = ? WHERE id = ? AND claimed_by = ?', [
            new Date(Date.now() + this.leaseMs).toISOString(),
            message.id,
            this.id,
          ]),
        )
        .catch(() => undefined);
    }, this.leaseMs / 3);
    try {
      let outcome = await this.attempt(module, claim, signal, true);
      if (!outcome.ok && outcome.reason === 'session_not_found') {
        // The agent's session is gone (another machine, a cleaned cache): start anew, seeded with the thread.
        await this.db.write((tx) =>
          tx.run('DELETE FROM thread_sessions WHERE thread_id = ? AND module = ?', [message.thread_id, module.name]),
        );
        outcome = await this.attempt(module, claim, signal, false);
      }
      await this.finish(
        claim,
        signal.aborted ? { type: 'done', ok: false, reason: 'cancelled', error: 'cancelled' } : outcome,
      );
    } finally {
      clearInterval(renew);
    }
  }

  /** One backend run; answers its `done`. */
  private async attempt(
    module: WorkerModule,
    { message, taskId }: Claim,
    signal: AbortSignal,
    resume: boolean,
  ): Promise<Extract<AgentEvent, { type: 'done' }>> {
    const question = await this.db.read.get<MessagesTable>(
      `SELECT * FROM messages WHERE thread_id = ? AND role = 'user' AND (created_at < ? OR (created_at = ? AND id < ?))
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [message.thread_id, message.created_at, message.created_at, message.id],
    );
    const session = resume
      ? await this.db.read.get<{ session_id: string; cost_total_usd: number | null }>(
          'SELECT session_id, cost_total_usd FROM thread_sessions WHERE thread_id = ? AND module = ?',
          [message.thread_id, module.name],
        )
      : undefined;
    const history =
      session || !question
        ? undefined
        : await this.db.read.all<HistoryEntry>(
            `SELECT author, role, content FROM messages WHERE thread_id = ? AND status = 'complete'
             AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at, id`,
            [message.thread_id, question.created_at, question.created_at, question.id],
          );
    const systemPrompt = buildSystemPrompt({
      module,
      asker: question?.author ?? 'unknown',
      ...(history?.length ? { history } : {}),
      ...(message.schema ? { schema: JSON.parse(message.schema) as Record<string, unknown> } : {}),
    });
    const appends: Promise<void>[] = [];
    let done: Extract<AgentEvent, { type: 'done' }> = {
      type: 'done',
      ok: false,
      reason: 'no_result',
      error: 'the backend ended without a result',
    };
    for await (const event of module.backend.run({
      module: module.name,
      cwd: module.cwd,
      prompt: question?.content ?? '',
      systemPrompt,
      signal,
      ...(session ? { resumeSessionId: session.session_id } : {}),
      ...(session?.cost_total_usd != null ? { previousSessionCostUsd: Number(session.cost_total_usd) } : {}),
    })) {
      if (event.type === 'done') {
        done = event;
        break;
      }
      await this.record(event, message, taskId, module.name, appends);
    }
    await Promise.allSettled(appends);
    return done;
  }

  /** Writes one agent event into the reply, its task and the thread's session. */
  private async record(
    event: AgentEvent,
    message: MessagesTable,
    taskId: string | undefined,
    module: string,
    appends: Promise<void>[],
  ): Promise<void> {
    const task = async (fn: (id: string) => Promise<unknown>) => {
      if (taskId)
        await fn(taskId).catch((err: unknown) => this.logger.warn({ err, taskId }, 'updating the task failed'));
    };
    switch (event.type) {
      case 'text':
        appends.push(
          this.messages
            .appendContent(message.id, event.text)
            .catch((err: unknown) =>
              this.logger.warn({ err, messageId: message.id }, 'content from the agent was not stored'),
            ),
        );
        return;
      case 'session':
        await this.saveSession(message.thread_id, module, { sessionId: event.sessionId });
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
          await this.saveSession(message.thread_id, module, { costTotal: event.sessionCostUsd });
        return;
      case 'tool_use':
        await task(async (id) => {
          if (event.path && FILES_CREATED.has(event.name)) await this.tasks.update(id, { filesCreated: [event.path] });
          if (event.path && FILES_MODIFIED.has(event.name))
            await this.tasks.update(id, { filesModified: [event.path] });
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
        if (event.criterion) await task((id) => this.tasks.log(id, { text: `criterion met: ${event.criterion}` }));
        return;
      case 'log':
        await task((id) => this.tasks.log(id, { level: event.level, text: event.text.slice(0, 20_000) }));
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
  private async finish({ message, taskId }: Claim, done: Extract<AgentEvent, { type: 'done' }>): Promise<void> {
    const current = await this.messages.get(message.id);
    const to =
      current.status === 'cancelled' || done.reason === 'cancelled' ? 'cancelled' : done.ok ? 'complete' : 'failed';
    const error = done.ok ? undefined : (done.error ?? done.reason ?? 'failed');
    const ignoreRace = (err: unknown) => {
      if (!isHubError(err, 'invalid_transition')) throw err;
    };
    if (taskId) await this.tasks.transition(taskId, to, error ? { error } : {}).catch(ignoreRace);
    if (current.status !== 'cancelled') {
      await this.messages
        .transition(message.id, to, error ? { error, reason: done.reason ?? 'agent_error' } : {})
        .catch(ignoreRace);
    }
  }

  /** Replies whose worker died (lease expired): one more try, then failed with the reason. */
  private async recover(): Promise<void> {
    if (this.stopped) return;
    const now = new Date().toISOString();
    const lost = await this.db.read.all<MessagesTable>(
      "SELECT * FROM messages WHERE status = 'processing' AND lease_until IS NOT NULL AND lease_until < ?",
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
        await this.messages.moveStatus(tx, row.id, to, again ? { reason } : { reason, error: reason });
        await tx.run('UPDATE messages SET claimed_by = NULL, lease_until = NULL WHERE id = ?', [row.id]);
        await this.moveTask(tx, row.id, 'processing', to, again ? undefined : reason);
      });
    }
  }

  /** Moves the task of a reply (if any, and if it is at `from`) to `to`; answers the task id. */
  private async moveTask(
    tx: WriteTx,
    messageId: string,
    from: Status,
    to: Status,
    error?: string,
  ): Promise<string | undefined> {
    const task = await tx.get<{ id: string; status: Status }>('SELECT id, status FROM tasks WHERE message_id = ?', [
      messageId,
    ]);
    if (task?.status === from) await this.tasks.moveStatus(tx, task.id, to, error ? { error } : {});
    return task?.id;
  }
}
