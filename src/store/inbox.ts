/**
 * Interactive modules (`backend: session`): no worker answers them. A question to one waits in its inbox — its
 * reply `pending` — until the module's own interactive session (a person's Claude Code with the hub's MCP tools)
 * answers it: the first part moves the reply (and its task) to `processing`, each part is appended as any run's
 * content is (event `message.content_updated`), and the last completes it — with a schema, only once the whole
 * answer parses and satisfies it. Cancel works as for any reply; a question left unanswered past the module's
 * `timeoutMs` fails with `timeout` (`expire`, which the worker calls as it goes).
 */
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { AnswerInput, InboxItem } from '../domain/inputs.js';
import { isTerminal, type Status } from '../domain/status.js';
import type { ReplyValidation } from '../domain/types.js';
import { moduleName, noNul, wellFormed } from '../domain/validate.js';
import { parseAnswer } from '../exchange/answer.js';
import { formatIssues, validateValue } from '../exchange/validator.js';
import type { Database, WriteTx } from './database.js';
import { appendDelta } from './message-content.js';
import type { MessageStore } from './messages.js';
import { rowLock } from './row-lock.js';
import { StructuredReplies } from './structured-replies.js';
import type { TaskStore } from './tasks.js';

/** How long a question waits for an interactive module when its settings give no `timeoutMs`: 30 minutes. */
export const SESSION_TIMEOUT_MS = 30 * 60_000;

/** Who answers an interactive module's questions, as `claimed_by` records it. */
const SESSION_CLAIM = 'session';

/** The most questions one inbox read answers. */
const MAX_INBOX = 200;

interface InboxRow {
  id: string;
  thread_id: string;
  status: Status;
  content: string;
  schema: string | null;
  created_at: string;
  asker: string | null;
  task_id: string | null;
  question: string | null;
  question_author: string | null;
}

interface AnswerRow {
  role: string;
  status: Status;
  thread_id: string;
  author: string;
  content: string;
  schema: string | null;
  validation: string | null;
  error: string | null;
  backend: string | null;
}

/** An interactive module's settings as the inbox reads them: its backend and how long a question waits. */
function sessionSettings(config: string | null): { backend: string | null; timeoutMs: number } {
  const settings = config ? (JSON.parse(config) as Record<string, unknown>) : {};
  const timeout = settings.timeoutMs;
  return {
    backend: typeof settings.backend === 'string' ? settings.backend : null,
    timeoutMs: Number.isSafeInteger(timeout) && (timeout as number) > 0 ? (timeout as number) : SESSION_TIMEOUT_MS,
  };
}

/** The inboxes of interactive modules, and their answers. */
export class Inbox {
  constructor(
    private readonly db: Database,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
  ) {}

  /** The questions waiting for `module`, oldest first (`validation` for a module that is not interactive). */
  async list(module: string, options: { limit?: number } = {}): Promise<InboxItem[]> {
    const name = moduleName(module, 'module');
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_INBOX)
      throw new HubError('validation', `limit must be a whole number from 1 to ${MAX_INBOX}, got ${limit}`);
    const row = await this.db.read.get<{ config: string }>('SELECT config FROM modules WHERE name = ?', [name]);
    if (!row) throw new HubError('not_found', `no module named ${name}`);
    const { backend, timeoutMs } = sessionSettings(row.config);
    if (backend !== 'session') throw notInteractive(name, backend);
    // `status IN (pending, processing)`: the condition of the messages_queue index, as the worker's claim uses it.
    const rows = await this.db.read.all<InboxRow>(
      `SELECT m.id, m.thread_id, m.status, m.content, m.schema, m.created_at, m.asker, t.id AS task_id,
              q.content AS question, q.author AS question_author
       FROM messages AS m
       LEFT JOIN tasks AS t ON t.message_id = m.id
       LEFT JOIN messages AS q ON q.id = (
         SELECT id FROM messages WHERE thread_id = m.thread_id AND role = 'user'
         AND (created_at < m.created_at OR (created_at = m.created_at AND id < m.id))
         ORDER BY created_at DESC, id DESC LIMIT 1)
       WHERE m.status IN ('pending', 'processing') AND m.role = 'assistant' AND m.author = ?
       ORDER BY m.created_at, m.id LIMIT ?`,
      [name, limit],
    );
    return rows.map((r) => ({
      replyId: r.id,
      threadId: r.thread_id,
      taskId: r.task_id,
      from: r.asker ?? r.question_author ?? '',
      question: r.question ?? '',
      status: r.status as 'pending' | 'processing',
      content: r.content,
      schema: r.schema === null ? null : (JSON.parse(r.schema) as Record<string, unknown>),
      askedAt: r.created_at,
      expiresAt: new Date(Date.parse(r.created_at) + timeoutMs).toISOString(),
    }));
  }

  /**
   * The session's answer, or a part of it, to `replyId` (see the file's comment). `as`: the module the caller
   * acts as; another module's reply is `not_found`, as if it did not exist.
   */
  async answer(replyId: string, input: AnswerInput, as?: string): Promise<import('../domain/types.js').Message> {
    assertId(replyId, 'reply id');
    if (typeof input?.content !== 'string') throw new HubError('validation', 'content must be a string');
    const content = input.content;
    wellFormed(noNul(content, 'content'), 'content');
    const final = input.final ?? true;
    if (typeof final !== 'boolean') throw new HubError('validation', 'final must be true or false');
    if (!final && content === '') throw new HubError('validation', 'content: a part of an answer must not be empty');
    return this.messages.settle(replyId, async (tx) => {
      const row = await tx.get<AnswerRow>(
        `SELECT m.role, m.status, m.thread_id, m.author, m.content, m.schema, m.validation, m.error,
                (SELECT config FROM modules WHERE name = m.author) AS backend
         FROM messages AS m WHERE m.id = ?${rowLock(this.db)}`,
        [replyId],
      );
      if (!row || (as !== undefined && row.author !== as))
        throw new HubError('not_found', `no reply with id ${replyId}`);
      if (row.role !== 'assistant') throw new HubError('validation', `message ${replyId} is a question, not a reply`);
      const { backend } = sessionSettings(row.backend);
      if (backend !== 'session') throw notInteractive(row.author, backend);
      if (isTerminal(row.status)) {
        throw new HubError(
          'conflict',
          `reply ${replyId} is ${row.status}${row.error ? ` (${row.error})` : ''}; it can no longer be answered`,
        );
      }
      const whole = row.content + content;
      if (final && whole === '') throw new HubError('validation', 'content: the answer must not be empty');
      const value = final && row.schema !== null ? checkedValue(replyId, row.schema, whole) : undefined;
      if (row.status === 'pending') {
        await this.messages.moveStatus(tx, replyId, 'processing', {
          reason: `answered by module ${row.author}'s session`,
          current: row,
          extra: { sets: ['claimed_by = ?', 'attempts = attempts + 1'], params: [SESSION_CLAIM] },
        });
        await this.tasks.moveFrom(tx, { messageId: replyId }, 'pending', 'processing');
      }
      if (content !== '') await this.append(tx, replyId, row, content, whole);
      if (!final) return this.messages.require(replyId, tx);
      await this.tasks.moveFrom(tx, { messageId: replyId }, 'processing', 'complete');
      if (value !== undefined) {
        await StructuredReplies.setValue(tx, replyId, value.value);
        if (row.validation !== null) await this.recordValid(tx, replyId, row.validation, whole);
      }
      return this.messages.moveStatus(tx, replyId, 'complete', {
        reason: `answered by module ${row.author}'s session`,
        current: { ...row, status: 'processing' },
      });
    });
  }

  /**
   * Fails the questions `module` has left unanswered for longer than its `timeoutMs`, with their tasks; answers how
   * many. Each is one transaction that checks it is still unanswered.
   */
  async expire(module: string, now = Date.now()): Promise<number> {
    const row = await this.db.read.get<{ config: string }>('SELECT config FROM modules WHERE name = ?', [module]);
    if (!row) return 0;
    const { backend, timeoutMs } = sessionSettings(row.config);
    if (backend !== 'session') return 0;
    const before = new Date(now - timeoutMs).toISOString();
    const late = await this.db.read.all<{ id: string }>(
      `SELECT id FROM messages WHERE status IN ('pending', 'processing') AND role = 'assistant' AND author = ?
       AND created_at < ? ORDER BY created_at, id LIMIT 100`,
      [module, before],
    );
    let expired = 0;
    for (const { id } of late) {
      const error = `not answered within ${timeoutMs} ms (module ${module}'s timeoutMs)`;
      const done = await this.messages.settle(id, async (tx, current) => {
        if (!current || isTerminal(current.status)) return false;
        await this.tasks.moveFrom(tx, { messageId: id }, current.status, 'failed', { error, reason: 'timeout' });
        await this.messages.moveStatus(tx, id, 'failed', { error, reason: 'timeout', current });
        return true;
      });
      if (done) expired++;
    }
    return expired;
  }

  /** Appends a part of the answer (the row is locked by the caller). */
  private async append(tx: WriteTx, id: string, row: AnswerRow, delta: string, whole: string): Promise<void> {
    const length = [...whole].length;
    const limit = this.messages.maxContentLength;
    if (length > limit)
      throw new HubError('too_large', `the answer would be ${length} characters long; the limit is ${limit}`);
    await appendDelta(tx, id, row, delta, length);
  }

  /** Records the session's valid answer as the reply's one round. */
  private async recordValid(tx: WriteTx, id: string, stored: string, answer: string): Promise<void> {
    const validation = JSON.parse(stored) as ReplyValidation;
    const round = {
      round: validation.rounds.length + 1,
      valid: true,
      answer,
      issues: [],
      at: new Date().toISOString(),
    };
    validation.rounds = [...validation.rounds, round];
    validation.valid = true;
    await tx.run('UPDATE messages SET validation = ? WHERE id = ?', [JSON.stringify(validation), id]);
  }
}

/** The answer's value, parsed as agents write it and checked against the reply's schema; `validation` otherwise. */
function checkedValue(id: string, schema: string, answer: string): { value: unknown } {
  const parsed = parseAnswer(answer);
  if (!parsed.ok)
    throw new HubError('validation', `reply ${id} needs a JSON answer satisfying its schema: ${parsed.error}`);
  const result = validateValue(JSON.parse(schema), parsed.value);
  if (!result.valid) {
    throw new HubError(
      'validation',
      `the answer does not satisfy reply ${id}'s schema; nothing of this answer was stored, answer again (the answer checked is any parts sent before, then the final one):\n${formatIssues(result.issues)}`,
      { details: { issues: result.issues } },
    );
  }
  return { value: parsed.value };
}

function notInteractive(module: string, backend: string | null): HubError {
  return new HubError(
    'validation',
    `module ${module} is not interactive (backend ${backend ?? 'none'}): its worker answers its questions; only a module with backend: session has an inbox`,
  );
}
