/**
 * Retrying: a person or a program asks for a failed or cancelled reply to be answered again. In one transaction a
 * new pending reply to the same question is created for the same module, with its own task, under the same limits
 * (`maxCostUsd`, `maxIterations`); both name what they retry (`retryOf`). The question is not stored again. (Recovery is another thing: a reply whose worker died goes
 * back to pending by itself, see reply-queue.ts.)
 */
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { AskResult } from '../domain/inputs.js';
import type { Status } from '../domain/status.js';
import { assertAskable } from './asks.js';
import type { Database, WriteTx } from './database.js';
import type { MessageStore } from './messages.js';
import { rowLock } from './row-lock.js';
import type { MessagesTable, TasksTable } from './schema.js';
import type { TaskStore } from './tasks.js';
import { firstAttempt } from './thread-context.js';

/** What a retry answers: the ids of an ask's answer, the question being the one already asked. */
export type RetryResult = Omit<AskResult, 'replayed'>;

/** Options of a retry. */
export interface RetryOptions {
  /** The module asking again: `forbidden` unless it asked the question (a module token acts as its module). */
  asker?: string;
}

/** The statuses a reply may be retried from. */
const RETRIABLE: readonly Status[] = ['failed', 'cancelled'];

/** Creates the replies and tasks that answer a failed or cancelled reply again. */
export class RetryStore {
  constructor(
    private readonly db: Database,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
  ) {}

  /**
   * Answers reply `id` again: `not_found` for no such message, `validation` for a question, `invalid_transition`
   * for a reply that has not failed or been cancelled (nothing is changed), `conflict` when it was retried
   * already (retry its retry) or its module is paused or removed.
   */
  async retry(id: string, options: RetryOptions = {}): Promise<RetryResult> {
    assertId(id, 'message id');
    return this.db.write((tx) => this.retryIn(tx, id, options));
  }

  /** The task's reply answered again; `validation` for a task with no reply. */
  async retryTask(taskId: string, options: RetryOptions = {}): Promise<RetryResult> {
    const task = await this.tasks.get(taskId);
    if (!task.messageId)
      throw new HubError('validation', `task ${taskId} has no reply to retry (only a task behind a reply can be)`);
    return this.retry(task.messageId, options);
  }

  private async retryIn(tx: WriteTx, id: string, options: RetryOptions): Promise<RetryResult> {
    // Locked: two retries of one reply at once are made one after the other, each seeing the reply as it is.
    const reply = await tx.get<MessagesTable>(`SELECT * FROM messages WHERE id = ?${rowLock(this.db)}`, [id]);
    if (!reply) throw new HubError('not_found', `no message with id ${id}`);
    if (reply.role !== 'assistant')
      throw new HubError(
        'validation',
        `message ${id} is a ${reply.role} message, not a reply; only a reply is retried`,
      );
    if (!RETRIABLE.includes(reply.status as Status))
      throw new HubError(
        'invalid_transition',
        `reply ${id} is ${reply.status}; only a failed or cancelled reply can be retried`,
      );
    // One retry per reply (a double click makes one), so a reply's retries form a chain: retry the newest.
    const earlier = await tx.get<{ id: string }>('SELECT id FROM messages WHERE retry_of = ? LIMIT 1', [id]);
    if (earlier)
      throw new HubError('conflict', `reply ${id} was already retried as reply ${earlier.id}; retry that one instead`);
    const first = await firstAttempt(tx, {
      id: reply.id,
      threadId: reply.thread_id,
      createdAt: reply.created_at,
      retryOf: reply.retry_of,
    });
    const question = await tx.get<Pick<MessagesTable, 'id' | 'author'>>(
      `SELECT id, author FROM messages WHERE thread_id = ? AND role = 'user'
       AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT 1`,
      [first.threadId, first.createdAt, first.createdAt, first.id],
    );
    if (!question)
      throw new HubError('validation', `reply ${id} answers no question, so there is nothing to ask again`);
    if (options.asker !== undefined && options.asker !== question.author)
      throw new HubError(
        'forbidden',
        `reply ${id} answers a question of module ${question.author}; only the asker retries it, not ${options.asker}`,
      );
    await assertAskable(this.db, tx, reply.author);
    const retried = await tx.get<Pick<TasksTable, 'id' | 'name' | 'max_cost_usd' | 'max_iterations'>>(
      'SELECT id, name, max_cost_usd, max_iterations FROM tasks WHERE message_id = ? ORDER BY created_at LIMIT 1',
      [id],
    );
    const again = await this.messages.create(
      {
        threadId: reply.thread_id,
        author: reply.author,
        role: 'assistant',
        schema: reply.schema === null ? null : (JSON.parse(reply.schema) as Record<string, unknown>),
        retryOf: id,
        // A structured reply's retry is checked against the same schema, with the same repair rounds, afresh.
        checking: checkingOf(reply.validation),
      },
      tx,
    );
    const task = await this.tasks.create(
      {
        name: retried?.name ?? `${reply.author} answers ${question.author} again`,
        module: reply.author,
        kind: 'ask',
        messageId: again.id,
        retryOf: retried?.id ?? null,
        // The same budget as the run it retries: a retry is the same question under the same limits.
        maxCostUsd: retried?.max_cost_usd == null ? null : Number(retried.max_cost_usd),
        maxIterations: retried?.max_iterations == null ? null : Number(retried.max_iterations),
      },
      tx,
    );
    return { threadId: reply.thread_id, questionId: question.id, messageId: again.id, taskId: task.id };
  }
}

/** The checking a retried reply's `validation` had, without its rounds. */
function checkingOf(validation: string | null): { schema: string; maxRepairs: number } | null {
  if (validation === null) return null;
  const { schema, maxRepairs } = JSON.parse(validation) as { schema: string; maxRepairs: number };
  return { schema, maxRepairs };
}
