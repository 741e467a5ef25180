/**
 * Messages and their lifecycle. A reply's status moves through the state machine and its content streams in
 * as appended deltas (coalesced and kept in order by `MessageContent`, message-content.ts); every change is
 * written with its event in one transaction.
 */

import { sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import type { CreateMessageInput, TransitionOptions } from '../domain/inputs.js';
import { assertTransition, canTransition, isTerminal, STATUSES, type Status } from '../domain/status.js';
import type { Message, MessageRole, ReplyValidation, UnknownMessage } from '../domain/types.js';
import { jsonObject, moduleName, noNul, oneOf, optionalText, pageSize, wellFormed } from '../domain/validate.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import {
  type ClaimedRow,
  MessageContent,
  type MessageLimits,
  type RunClaim,
  type StatusRow,
} from './message-content.js';
import { rowLock } from './row-lock.js';
import { indexText, messageField, type SearchBatch } from './search-index.js';
import { type ExtraSets, statusUpdate } from './status-update.js';
import type { TaskStore } from './tasks.js';
import { visibleTo } from './visibility.js';

export type { CreateMessageInput, TransitionOptions } from '../domain/inputs.js';

interface MessageRow {
  id: string;
  thread_id: string;
  author: string;
  role: string;
  content: string;
  status: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  schema: string | null;
  retry_of: string | null;
  value: string | null;
  validation: string | null;
}

function fromRow(r: MessageRow): Message {
  return {
    id: r.id,
    threadId: r.thread_id,
    author: r.author,
    role: r.role as MessageRole,
    content: r.content,
    status: r.status as Status,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    updatedAt: r.updated_at,
    schema: r.schema === null ? null : (JSON.parse(r.schema) as Record<string, unknown>),
    retryOf: r.retry_of,
    value: r.value == null ? null : (JSON.parse(r.value) as unknown),
    validation: r.validation == null ? null : (JSON.parse(r.validation) as ReplyValidation),
  };
}

const ROLES: readonly MessageRole[] = ['user', 'assistant', 'system'];

const SELECT_FOR_TRANSITION = 'SELECT status, thread_id, author FROM messages WHERE id = ?';

/**
 * PostgreSQL: locks the message, and moves it to `to` with the `SET` clause given if its status may move there;
 * answers its former status row with the updated row, or undefined (no such message, or a move not allowed).
 */
async function lockAndMove(
  tx: WriteTx,
  id: string,
  to: Status,
  set: string,
  params: unknown[],
): Promise<(StatusRow & { updated: MessageRow }) | undefined> {
  const from = STATUSES.filter((s) => canTransition('message', s, to));
  if (!from.length) return undefined;
  const row = await tx.get<MessageRow & { from_status: Status }>(
    `WITH old AS (SELECT id, status AS from_status FROM messages WHERE id = ? FOR UPDATE)
     UPDATE messages SET ${set} FROM old
     WHERE messages.id = old.id AND old.from_status IN (${from.map(() => '?').join(', ')})
     RETURNING messages.*, old.from_status`,
    [id, ...params, ...from],
  );
  if (!row) return undefined;
  const { from_status, ...updated } = row;
  return { status: from_status, thread_id: updated.thread_id, author: updated.author, updated };
}

/** Reads and writes messages. */
export class MessageStore {
  private readonly content: MessageContent;

  constructor(
    private readonly db: Database,
    private readonly limits: MessageLimits,
    /** The tasks of replies: a reply cancelled before any worker took it cancels its task too. */
    private readonly tasks?: Pick<TaskStore, 'moveFrom'>,
  ) {
    this.content = new MessageContent(db, limits);
  }

  /**
   * Adds a message to a thread (event `message.created`, carrying the initial content). One created complete (a
   * question) is indexed for search, or added to `batch`.
   */
  async create(input: CreateMessageInput, tx?: WriteTx, batch?: SearchBatch): Promise<Message> {
    assertId(input.threadId, 'thread id');
    if (input.id !== undefined) assertId(input.id, 'message id');
    if (input.retryOf != null) assertId(input.retryOf, 'retried message id');
    const author = moduleName(input.author, 'author');
    const role = oneOf(input.role ?? 'assistant', 'role', ROLES);
    const status = oneOf(input.status ?? 'pending', 'status', ['pending', 'complete'] as const);
    const schema = input.schema == null ? null : jsonObject(input.schema, 'schema', 262_144);
    const content = input.content ?? '';
    if (typeof content !== 'string') throw new HubError('validation', 'content must be a string');
    wellFormed(noNul(content, 'content'), 'content');
    this.checkLength([...content].length, 'content');
    const now = new Date().toISOString();
    const message: Message = {
      id: input.id ?? newId(),
      threadId: input.threadId,
      author,
      role,
      content,
      status,
      error: null,
      createdAt: now,
      startedAt: status === 'complete' ? now : null,
      completedAt: status === 'complete' ? now : null,
      updatedAt: now,
      schema: schema === null ? null : (JSON.parse(schema) as Record<string, unknown>),
      retryOf: input.retryOf ?? null,
      value: null,
      validation: input.checking ? { ...input.checking, valid: null, rounds: [] } : null,
    };
    const insert = async (w: WriteTx) => {
      // The thread's touch is also the check that it exists: one statement instead of a read and a write.
      const touched = await w.run('UPDATE threads SET updated_at = ? WHERE id = ?', [now, message.threadId]);
      if (touched === 0) throw new HubError('not_found', `no thread with id ${message.threadId}`);
      // ON CONFLICT instead of a prior SELECT: two racing creates of one caller-chosen id cannot both pass.
      const inserted = await w.run(
        'INSERT INTO messages (id, thread_id, author, role, content, status, error, created_at, started_at, completed_at, updated_at, schema, retry_of, validation, asker, via) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [
          message.id,
          message.threadId,
          author,
          role,
          content,
          status,
          now,
          message.startedAt,
          message.completedAt,
          now,
          schema,
          message.retryOf,
          message.validation === null ? null : JSON.stringify(message.validation),
          input.asker ?? null,
          input.via ?? null,
        ],
      );
      if (inserted === 0) throw new HubError('conflict', `a message with id ${message.id} already exists`);
      if (status === 'complete') await this.index(w, message, batch);
      w.emit({
        type: 'message.created',
        threadId: message.threadId,
        messageId: message.id,
        module: author,
        data: {
          author,
          role,
          status,
          content,
          length: [...content].length,
          ...(message.retryOf ? { retryOf: message.retryOf } : {}),
          ...(input.checking
            ? { checking: { schema: input.checking.schema, maxRepairs: input.checking.maxRepairs } }
            : {}),
        },
      });
    };
    if (tx) await insert(tx);
    else await this.db.write(insert);
    return message;
  }

  /** The message, or `{ id, status: 'unknown' }` when there is none (yet). */
  async get(id: string, client: SqlClient = this.db.read): Promise<Message | UnknownMessage> {
    assertId(id, 'message id');
    const row = await client.get<MessageRow>('SELECT * FROM messages WHERE id = ?', [id]);
    return row ? fromRow(row) : { id, status: 'unknown' };
  }

  /** The message, or `not_found`. */
  async require(id: string, client: SqlClient = this.db.read): Promise<Message> {
    const m = await this.get(id, client);
    if (m.status === 'unknown') throw new HubError('not_found', `no message with id ${id}`);
    return m as Message;
  }

  /** A thread's messages in order, or the newest messages with a status; with `visibleTo`, only what it may see. */
  async list(
    options: { threadId?: string; status?: Status; limit?: number; visibleTo?: string } = {},
  ): Promise<Message[]> {
    const limit = options.limit === undefined ? 500 : pageSize(options.limit, 5000);
    let q = this.db.builder.selectFrom('messages').selectAll();
    const status = options.status === undefined ? undefined : oneOf(options.status, 'status', STATUSES);
    if (options.threadId !== undefined) {
      assertId(options.threadId, 'thread id');
      // Creation order (ids may be chosen by callers, so they need not sort by time).
      q = q.where('thread_id', '=', options.threadId).orderBy('created_at', 'asc').orderBy('id', 'asc');
    } else {
      // Newest first by an index on creation time (migration 14): all messages, or a status's when it has a
      // partial index of its own (the condition is repeated so that both databases can prove it applies);
      // complete messages, nearly all of them, are found walking the newest.
      if (status === 'pending' || status === 'processing')
        q = q.where(sql<boolean>`status in ('pending', 'processing')`);
      if (status === 'failed' || status === 'cancelled') q = q.where(sql<boolean>`status in ('failed', 'cancelled')`);
      q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
    }
    if (status !== undefined) q = q.where('status', '=', status);
    if (options.visibleTo !== undefined) q = q.where(visibleTo.messages(this.db.builder, options.visibleTo));
    const rows = await this.db.read.all<MessageRow>(q.limit(limit).compile());
    return rows.map(fromRow);
  }

  /**
   * Moves a message to `to` (event `message.status_changed {from, to, reason?}`). Content still waiting to be
   * written is committed first, so no delta follows a final status. `invalid_transition` changes nothing.
   */
  async transition(id: string, to: Status, options: TransitionOptions = {}): Promise<Message> {
    assertId(id, 'message id');
    const reason = optionalText(options.reason, 'reason', 2000);
    const error = optionalText(options.error, 'error', 20000);
    await this.content.flush(id);
    return this.db.write((tx) => this.moveStatus(tx, id, to, { reason, error }));
  }

  /**
   * The status change itself, inside the caller's write transaction (for callers that change more in the same
   * transaction, like a worker's claim). Options are taken as already validated. `current` is the row as the
   * caller already read it in this transaction (locked), which saves reading it again; `extra` adds assignments
   * to the same UPDATE.
   */
  async moveStatus(
    tx: WriteTx,
    id: string,
    to: Status,
    {
      reason,
      error,
      current,
      extra,
    }: { reason?: string | null; error?: string | null; current?: StatusRow; extra?: ExtraSets } = {},
  ): Promise<Message> {
    const [set, params] = statusUpdate(to, error ?? null, new Date().toISOString(), extra);
    // On PostgreSQL the row is locked, checked and changed by one statement (one round trip, not two) when the
    // move is legal; the two-step path below explains why when it is not.
    const moved = current || this.db.dialect !== 'postgres' ? undefined : await lockAndMove(tx, id, to, set, params);
    const row = moved ?? current ?? (await tx.get<StatusRow>(SELECT_FOR_TRANSITION + rowLock(this.db), [id]));
    if (!row) throw new HubError('not_found', `no message with id ${id}`);
    assertTransition('message', id, row.status, to);
    const updated =
      moved?.updated ??
      (await tx.get<MessageRow>(`UPDATE messages SET ${set} WHERE id = ? RETURNING *`, [...params, id]));
    tx.emit({
      type: 'message.status_changed',
      threadId: row.thread_id,
      messageId: id,
      module: row.author,
      data: { from: row.status, to, ...(reason ? { reason } : {}), ...(error ? { error } : {}) },
    });
    const message = fromRow(updated as MessageRow);
    if (isTerminal(to)) {
      this.content.forget(id);
      await this.index(tx, message);
    }
    return message;
  }

  /** Indexes a finished message's content for search (see store/search-index.ts), in `tx` or `batch`. */
  private index(tx: WriteTx, m: Message, batch?: SearchBatch): Promise<void> {
    return indexText(
      this.db.dialect,
      tx,
      { kind: 'message', recordId: m.id, field: messageField(m.role), createdAt: m.createdAt, text: m.content },
      batch,
    );
  }

  /** Runs `fn` in a write transaction that first writes the content still waiting for `id` (see MessageContent.settle). */
  settle<T>(id: string, fn: (tx: WriteTx, row: ClaimedRow | undefined) => Promise<T>): Promise<T> {
    return this.content.settle(id, fn);
  }

  /**
   * Cancels a pending or processing reply (`invalid_transition` once it has finished). A worker running it
   * stops its agent (interrupt, then SIGTERM, then SIGKILL on the process group) and marks its task cancelled.
   */
  async cancel(id: string, reason = 'cancelled by request'): Promise<Message> {
    assertId(id, 'message id');
    const why = optionalText(reason, 'reason', 2000);
    await this.content.flush(id);
    return this.db.write(async (tx) => {
      const message = await this.moveStatus(tx, id, 'cancelled', { reason: why });
      // A reply no worker has taken has no run to end its task: it ends here, with the reply. (A running
      // reply's task is ended by the worker when it has stopped the agent.)
      await this.tasks?.moveFrom(tx, { messageId: id }, 'pending', 'cancelled', { reason: why });
      return message;
    });
  }

  /**
   * Appends `delta` to a pending or processing message's content (event `message.content_updated {length,
   * delta}`, coalesced; `length` is the content's length after it). Resolves once the delta is committed. With
   * `hold`, a storage fault does not lose the delta: it is written once the database stores again (unless `hold`
   * aborts first), and the message's later writes, its final status too, wait behind it, so the content stays
   * whole and in order. With `claim`, the delta is written only while the reply is still held by that claim
   * (`conflict` otherwise): a run that lost its reply to another cannot write into the other's answer.
   */
  appendContent(id: string, delta: string, options: { hold?: AbortSignal; claim?: RunClaim } = {}): Promise<void> {
    return this.content.append(id, delta, options);
  }

  /**
   * Pushes the lease of every reply `worker` is running to `until`, inside the caller's transaction; answers the
   * ids of those it still holds (one recovered since is not among them).
   */
  async renewLeases(tx: WriteTx, worker: string, until: string): Promise<Set<string>> {
    // The partial index messages_active serves `status IN ('pending', 'processing')`.
    const rows = await tx.all<{ id: string }>(
      `UPDATE messages SET lease_until = ? WHERE status IN ('pending', 'processing') AND status = 'processing'
       AND claimed_by = ? RETURNING id`,
      [until, worker],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Empties a reply's content inside the caller's transaction, for a run that starts again: event
   * `message.content_updated {length: 0, delta: '', reset: true}`, which tells a watcher rebuilding the text from
   * deltas to start from nothing. Answers the content removed (nothing is written when it was already empty).
   */
  async resetContent(tx: WriteTx, id: string): Promise<string> {
    const row = await tx.get<StatusRow & { content: string }>(
      `SELECT status, thread_id, author, content FROM messages WHERE id = ?${rowLock(this.db)}`,
      [id],
    );
    if (!row) throw new HubError('not_found', `no message with id ${id}`);
    if (row.content === '') return '';
    await tx.run("UPDATE messages SET content = '', updated_at = ? WHERE id = ?", [new Date().toISOString(), id]);
    tx.emit({
      type: 'message.content_updated',
      threadId: row.thread_id,
      messageId: id,
      module: row.author,
      data: { length: 0, delta: '', reset: true },
    });
    return row.content;
  }

  /** The largest content of one message, in characters. */
  get maxContentLength(): number {
    return this.limits.maxContentLength;
  }

  /** Writes every waiting content delta now (used when the hub closes). */
  flushAll(): Promise<void> {
    return this.content.flushAll();
  }

  private checkLength(length: number, what: string): void {
    if (length > this.limits.maxContentLength) {
      throw new HubError(
        'too_large',
        `${what} is ${length} characters long; the limit is ${this.limits.maxContentLength}`,
      );
    }
  }
}
