/**
 * The queue of replies modules answer, as workers use it: claim the next reply of a module with an instance to
 * answer it, renew the leases of the replies a worker runs, finish a run, and recover the replies of workers that
 * died. Each is one transaction; with several workers on one database (in one process or many hosts) a reply is
 * claimed by one of them at a time, and what a run that lost its lease still writes is fenced off by the
 * worker and attempt it claimed with (see `RunClaim` in message-content.ts).
 */
import { HubError } from '../domain/errors.js';
import { canTransition, type Status } from '../domain/status.js';
import type { Message } from '../domain/types.js';
import type { Database, WriteTx } from './database.js';
import type { InstanceStore } from './instances.js';
import { holdsClaim, type RunClaim, type StatusRow } from './message-content.js';
import type { MessageStore } from './messages.js';
import { rowLock } from './row-lock.js';
import type { MessagesTable } from './schema.js';
import { StructuredReplies } from './structured-replies.js';
import type { TaskStore } from './tasks.js';

/** A reply claimed for a run. */
export interface ClaimedReply {
  message: Message;
  /** The worker and the attempt that claimed it: what the run may still write is fenced by it. */
  run: RunClaim;
  taskId: string | undefined;
  instanceId: string;
}

/** How a run ended, as the reply and its task should show it. */
export interface RunOutcome {
  ok: boolean;
  /** Why it failed (`cancelled` when it was stopped). */
  reason?: string;
  error?: string;
  /** A structured reply's validated answer, stored as the reply completes. */
  value?: unknown;
}

/** The most of a lost run's output kept in the task's log (a log entry holds at most 20,000 characters). */
const LOST_OUTPUT_CHARS = 16_000;

/** Claims, renews, finishes and recovers replies. */
export class ReplyQueue {
  constructor(
    private readonly db: Database,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
    private readonly instances: InstanceStore,
  ) {}

  /**
   * Takes the oldest pending reply of `module` with an instance to answer it, and moves its task, in one
   * transaction. Nothing when the module is paused, unhealthy or removed, or all its instances are busy or paused;
   * `changed` when its stored settings are no longer `module.settings` (the JSON the caller runs it with): a
   * question asked after a change of settings is answered with the new ones, however late the caller hears of it.
   */
  claim(
    module: { name: string; concurrency: number; settings: string },
    worker: string,
    leaseMs: number,
  ): Promise<ClaimedReply | 'changed' | undefined> {
    // PostgreSQL: workers on other hosts skip a reply another is claiming rather than queue behind its lock.
    const skipLocked = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    return this.db.write(async (tx) => {
      // The module's row lock makes claims of one module take turns, so its instances never exceed concurrency.
      const state = await tx.get<{ paused: number; health: string; removed_at: string | null; config: string }>(
        `SELECT paused, health, removed_at, config FROM modules WHERE name = ?${rowLock(this.db)}`,
        [module.name],
      );
      if (!state || Number(state.paused) === 1 || state.health === 'unhealthy' || state.removed_at) return undefined;
      if (JSON.stringify(JSON.parse(state.config)) !== module.settings) return 'changed';
      // `status IN (pending, processing)` is the condition of the messages_queue index (migration 8), repeated so
      // that the planner uses it: it holds only unfinished replies, so the claim costs the same at any history.
      const next = await tx.get<StatusRow & { id: string; attempts: number }>(
        `SELECT id, status, thread_id, author, attempts FROM messages WHERE status IN ('pending', 'processing')
         AND status = 'pending' AND role = 'assistant' AND author = ?
         ORDER BY created_at, id LIMIT 1${skipLocked}`,
        [module.name],
      );
      if (!next) return undefined;
      const leaseUntil = new Date(Date.now() + leaseMs).toISOString();
      const instance = await this.instances.acquire(tx, module.name, module.concurrency, {
        workerId: worker,
        messageId: next.id,
        leaseUntil,
      });
      if (!instance) return undefined;
      const message = await this.messages.moveStatus(tx, next.id, 'processing', {
        reason: `claimed by worker ${worker}, instance ${instance.id}`,
        current: next,
        extra: { sets: ['claimed_by = ?', 'lease_until = ?', 'attempts = attempts + 1'], params: [worker, leaseUntil] },
      });
      const taskId = await this.moveTask(tx, message.id, 'pending', 'processing');
      return { message, run: { worker, attempt: Number(next.attempts) + 1 }, taskId, instanceId: instance.id };
    });
  }

  /**
   * Pushes the lease of every reply `worker` runs, and of its instances, to `until`, in one transaction; answers
   * the replies renewed. One it runs that is not among them was lost (recovered after its lease ran out).
   */
  renew(worker: string, until: string): Promise<Set<string>> {
    return this.db.write(async (tx) => {
      const renewed = await this.messages.renewLeases(tx, worker, until);
      await this.instances.renew(tx, worker, until);
      return renewed;
    });
  }

  /**
   * Marks the task, then the reply, finished — in that order, so whoever sees the reply final finds its task
   * final too — and frees the instance, in one transaction that first writes the content still held, so no delta
   * follows the final status. A reply cancelled meanwhile stays cancelled. Answers false, changing only the
   * instance, when the reply is no longer this run's (it stalled past its lease and the reply went to another).
   */
  finish(claim: ClaimedReply, outcome: RunOutcome, sessionId?: string): Promise<boolean> {
    const { message, taskId } = claim;
    const error = outcome.ok ? undefined : (outcome.error ?? outcome.reason ?? 'failed');
    return this.messages.settle(message.id, async (tx, current) => {
      if (current && !holdsClaim(current, claim.run)) {
        await this.instances.releaseIn(tx, claim.instanceId, sessionId);
        return false;
      }
      const to: Status =
        current?.status === 'cancelled' || outcome.reason === 'cancelled'
          ? 'cancelled'
          : outcome.ok
            ? 'complete'
            : 'failed';
      if (taskId) {
        // The task fails for the same reason as its reply (`budget_exceeded`…), said in its status change too.
        const options = error ? { error, reason: outcome.reason ?? 'agent_error' } : {};
        const moved = await this.tasks.moveFrom(tx, { id: taskId }, 'processing', to, options);
        // Someone moved the task meanwhile: it still follows the reply, if it may.
        const task = moved
          ? undefined
          : await tx.get<{ status: Status }>(`SELECT status FROM tasks WHERE id = ?${rowLock(this.db)}`, [taskId]);
        if (task && canTransition('task', task.status, to))
          await this.tasks.moveFrom(tx, { id: taskId }, task.status, to, options);
      }
      if (current && canTransition('message', current.status, to)) {
        if (to === 'complete' && outcome.value !== undefined)
          await StructuredReplies.setValue(tx, message.id, outcome.value);
        await this.messages.moveStatus(tx, message.id, to, {
          ...(error ? { error, reason: outcome.reason ?? 'agent_error' } : {}),
          current,
        });
      }
      await this.instances.releaseIn(tx, claim.instanceId, sessionId);
      return true;
    });
  }

  /**
   * Hands a running reply back to the queue because its service is stopping (not because its run failed): the
   * reply and its task go back to pending, the content the run wrote is cleared (kept in the log and, in full, in
   * the task's log), the attempt is not counted against the reply, and the instance is freed. The next run —
   * when the service is back — resumes the agent's session where it has one. False, changing nothing, when the
   * reply is no longer this run's or no longer processing (cancelled meanwhile): `finish` then ends the run.
   */
  handBack(claim: ClaimedReply, sessionId?: string): Promise<boolean> {
    const reason = 'handed back: the service stopped; it runs again when a service is back';
    return this.messages.settle(claim.message.id, async (tx, current) => {
      if (!current || !holdsClaim(current, claim.run) || current.status !== 'processing') return false;
      const output = await this.messages.resetContent(tx, claim.message.id);
      await this.messages.moveStatus(tx, claim.message.id, 'pending', {
        reason,
        current,
        extra: { sets: ['claimed_by = NULL', 'lease_until = NULL', 'attempts = attempts - 1'] },
      });
      const taskId = await this.moveTask(tx, claim.message.id, 'processing', 'pending');
      if (taskId) {
        await this.tasks.log(taskId, { level: 'info', text: reason }, tx);
        if (output) await this.tasks.log(taskId, { level: 'info', text: lostOutput(output) }, tx);
      }
      await this.instances.releaseIn(tx, claim.instanceId, sessionId);
      return true;
    });
  }

  /**
   * Replies whose worker died (lease run out): back to pending from empty content while they have attempts left
   * (what the lost run wrote goes to the task's log), else failed with the reason. Their instances are freed.
   */
  async recover(maxAttempts: number): Promise<void> {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new HubError('validation', `maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
    }
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
          `SELECT id FROM messages WHERE id = ? AND status = 'processing' AND lease_until < ?${rowLock(this.db)}`,
          [row.id, now],
        );
        if (!still) return;
        const again = row.attempts < maxAttempts;
        const reason = again
          ? 'worker lost (lease expired); retrying'
          : `its worker stopped responding ${row.attempts} times`;
        const to = again ? 'pending' : 'failed';
        // The next run answers from nothing; what the lost one wrote stays in the log and goes to the task's log.
        const output = again ? await this.messages.resetContent(tx, row.id) : '';
        await this.messages.moveStatus(tx, row.id, to, {
          reason,
          ...(again ? {} : { error: reason }),
          extra: { sets: ['claimed_by = NULL', 'lease_until = NULL'] },
        });
        const taskId = await this.moveTask(tx, row.id, 'processing', to, again ? {} : { error: reason });
        if (taskId && output) await this.tasks.log(taskId, { level: 'warn', text: lostOutput(output) }, tx);
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

/** The task log's record of what a lost run had written into the reply before it was cleared. */
function lostOutput(content: string): string {
  const chars = [...content];
  const kept = chars.length > LOST_OUTPUT_CHARS ? `${chars.slice(0, LOST_OUTPUT_CHARS).join('')}…` : content;
  return `the lost run's answer so far (${chars.length} characters), cleared for the next run: ${kept}`;
}
