/**
 * Messages and their lifecycle. A reply's status moves through the state machine and its content streams in
 * as appended deltas; every change is written with its event in one transaction.
 *
 * Content appends are coalesced per message: the first append after a quiet spell is written at once, later
 * ones wait until `coalesceMs` (50 ms: at most ~20 content events per second per message) has passed since the
 * previous write, then go in together. Each write updates the row and appends its event in one transaction, so
 * the row and the log never disagree; a status change commits whatever is still waiting first, so no delta
 * arrives after a final status.
 */
import { HubError, isStorageFault } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import type { CreateMessageInput, TransitionOptions } from '../domain/inputs.js';
import { assertTransition, isTerminal, STATUSES, type Status } from '../domain/status.js';
import type { Message, MessageRole, UnknownMessage } from '../domain/types.js';
import { jsonObject, moduleName, noNul, oneOf, optionalText, pageSize, wellFormed } from '../domain/validate.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { rowLock } from './row-lock.js';
import { type ExtraSets, statusUpdate } from './status-update.js';
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
  };
}

/** Limits on message content. */
export interface MessageLimits {
  /** Largest content of one message, in characters (default 4,000,000). */
  maxContentLength: number;
  /** Quiet time between two content writes of one message, in ms (default 50). */
  coalesceMs: number;
}

interface Waiter {
  delta: string;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Kept through storage faults until this aborts (see `appendContent`). */
  hold: AbortSignal | undefined;
  /** Written only while the reply is still held by this claim (see `appendContent`). */
  claim: RunClaim | undefined;
}

/**
 * A worker's claim on a reply: its id and the attempt it claimed (`attempts` after the claim). A run whose reply
 * was claimed again since — its worker stalled past its lease, and the reply went to another run — no longer
 * holds it, and what it still writes must not mix with the new run's answer.
 */
export interface RunClaim {
  worker: string;
  attempt: number;
}

/** Whether `row` is still held by `claim`. */
export function holdsClaim(row: { claimed_by: string | null; attempts: number }, claim: RunClaim): boolean {
  return row.claimed_by === claim.worker && Number(row.attempts) === claim.attempt;
}

interface Pending {
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

const ROLES: readonly MessageRole[] = ['user', 'assistant', 'system'];

const SELECT_FOR_TRANSITION = 'SELECT status, thread_id, author FROM messages WHERE id = ?';

/** What a status change needs of a message's row. */
export interface StatusRow {
  status: Status;
  thread_id: string;
  author: string;
}

/** A reply's row as a content write or a run's finish sees it: with who holds it. */
export interface ClaimedRow extends StatusRow {
  claimed_by: string | null;
  attempts: number;
}

/** Reads and writes messages. */
export class MessageStore {
  private readonly pending = new Map<string, Pending>();
  private readonly lastWrite = new Map<string, number>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly limits: MessageLimits,
  ) {}

  /** Adds a message to a thread (event `message.created`, carrying the initial content). */
  async create(input: CreateMessageInput, tx?: WriteTx): Promise<Message> {
    assertId(input.threadId, 'thread id');
    if (input.id !== undefined) assertId(input.id, 'message id');
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
    };
    const insert = async (w: WriteTx) => {
      const thread = await w.get('SELECT id FROM threads WHERE id = ?', [message.threadId]);
      if (!thread) throw new HubError('not_found', `no thread with id ${message.threadId}`);
      // ON CONFLICT instead of a prior SELECT: two racing creates of one caller-chosen id cannot both pass.
      const inserted = await w.run(
        'INSERT INTO messages (id, thread_id, author, role, content, status, error, created_at, started_at, completed_at, updated_at, schema) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
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
        ],
      );
      if (inserted === 0) throw new HubError('conflict', `a message with id ${message.id} already exists`);
      await w.run('UPDATE threads SET updated_at = ? WHERE id = ?', [now, message.threadId]);
      w.emit({
        type: 'message.created',
        threadId: message.threadId,
        messageId: message.id,
        module: author,
        data: { author, role, status, content, length: [...content].length },
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
    if (options.threadId !== undefined) {
      assertId(options.threadId, 'thread id');
      // Creation order (ids may be chosen by callers, so they need not sort by time).
      q = q.where('thread_id', '=', options.threadId).orderBy('created_at', 'asc').orderBy('id', 'asc');
    } else {
      q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
    }
    if (options.status !== undefined) q = q.where('status', '=', oneOf(options.status, 'status', STATUSES));
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
    await this.flushWaiters(id, this.take(id));
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
    const row = current ?? (await tx.get<StatusRow>(SELECT_FOR_TRANSITION + rowLock(this.db), [id]));
    if (!row) throw new HubError('not_found', `no message with id ${id}`);
    assertTransition('message', id, row.status, to);
    const [set, params] = statusUpdate(to, error ?? null, new Date().toISOString(), extra);
    const updated = await tx.get<MessageRow>(`UPDATE messages SET ${set} WHERE id = ? RETURNING *`, [...params, id]);
    tx.emit({
      type: 'message.status_changed',
      threadId: row.thread_id,
      messageId: id,
      module: row.author,
      data: { from: row.status, to, ...(reason ? { reason } : {}), ...(error ? { error } : {}) },
    });
    if (isTerminal(to)) this.lastWrite.delete(id);
    return fromRow(updated as MessageRow);
  }

  /**
   * Runs `fn` in one write transaction that first writes the content still waiting for message `id` — after any
   * write of it in flight — with the message's row locked; `fn` gets the row as it stands after that content
   * (undefined for no such message). A final status set by `fn` thus follows every delta sent before it, in the
   * same commit. The waiting deltas settle with the transaction; should it fail, they are written on their own.
   */
  settle<T>(id: string, fn: (tx: WriteTx, row: ClaimedRow | undefined) => Promise<T>): Promise<T> {
    const waiting = this.take(id);
    if (waiting.length) this.noteWrite(id);
    return this.after(id, async () => {
      let result: T;
      try {
        result = await this.db.write(async (tx) => fn(tx, await this.writeContent(tx, id, waiting)));
      } catch (err) {
        // The content does not go down with `fn`: it is written on its own, as it would have been anyway.
        void this.flushWaiters(id, waiting);
        throw err;
      }
      for (const w of waiting) w.resolve();
      return result;
    });
  }

  /**
   * Cancels a pending or processing reply (`invalid_transition` once it has finished). A worker running it
   * stops its agent (interrupt, then SIGTERM, then SIGKILL on the process group) and marks its task cancelled.
   */
  cancel(id: string, reason = 'cancelled by request'): Promise<Message> {
    return this.transition(id, 'cancelled', { reason });
  }

  /**
   * Appends `delta` to a pending or processing message's content (event `message.content_updated {length,
   * delta}`, coalesced; `length` is the content's length after it). Resolves once the delta is committed. With
   * `hold`, a storage fault does not lose the delta: it is written once the database stores again (unless `hold`
   * aborts first), and the message's later writes, its final status too, wait behind it, so the content stays
   * whole and in order. With `claim`, the delta is written only while the reply is still held by that claim
   * (`conflict` otherwise): a run that lost its reply to another cannot write into the other's answer.
   */
  appendContent(
    id: string,
    delta: string,
    { hold, claim }: { hold?: AbortSignal; claim?: RunClaim } = {},
  ): Promise<void> {
    assertId(id, 'message id');
    if (typeof delta !== 'string') return Promise.reject(new HubError('validation', 'delta must be a string'));
    if (delta === '') return Promise.resolve();
    try {
      noNul(delta, 'delta');
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      let p = this.pending.get(id);
      if (!p) {
        p = { waiters: [], timer: undefined };
        this.pending.set(id, p);
      }
      p.waiters.push({ delta, resolve, reject, hold, claim });
      if (!p.timer) {
        const wait = Math.max(0, (this.lastWrite.get(id) ?? 0) + this.limits.coalesceMs - Date.now());
        p.timer = setTimeout(() => void this.flush(id), wait);
      }
    });
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

  /** Writes every waiting content delta now (used when the hub closes). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.pending.keys()].map((id) => this.flush(id)));
  }

  private take(id: string): Waiter[] {
    const p = this.pending.get(id);
    if (!p) return [];
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(id);
    return p.waiters;
  }

  /** Writes the content waiting for `id` now instead of at the end of its coalescing window. */
  flush(id: string): Promise<void> {
    return this.flushWaiters(id, this.take(id));
  }

  /**
   * Writes `waiting` after any write of this message still in flight. With nothing waiting, answers when the
   * writes in flight are done.
   */
  private flushWaiters(id: string, waiting: Waiter[]): Promise<void> {
    if (!waiting.length) return this.writing.get(id) ?? Promise.resolve();
    this.noteWrite(id);
    return this.after(id, () => this.writeWaiters(id, waiting));
  }

  /**
   * Runs `work` once the write of message `id` in flight (if any) has settled, and makes it the write in flight:
   * on PostgreSQL two writes of one message could otherwise commit in either order, and a status change could
   * overtake content sent before it. What is kept in flight never rejects, so a failed write does not stop the
   * ones queued after it.
   */
  private after<T>(id: string, work: () => Promise<T>): Promise<T> {
    const run = (this.writing.get(id) ?? Promise.resolve()).then(work);
    const written = run.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(id, written);
    void written.then(() => {
      if (this.writing.get(id) === written) this.writing.delete(id);
    });
    return run;
  }

  /** Starts the coalescing window of message `id` now. */
  private noteWrite(id: string): void {
    this.lastWrite.set(id, Date.now());
    if (this.lastWrite.size > 10_000) this.forgetQuiet();
  }

  /**
   * One content write; settles each waiter and never rejects, so the chain of writes goes on. Held waiters that
   * meet a storage fault are written again once the database stores.
   */
  private async writeWaiters(id: string, waiting: Waiter[]): Promise<void> {
    for (;;) {
      try {
        await this.db.write((tx) => this.writeContent(tx, id, waiting));
        for (const w of waiting) w.resolve();
        return;
      } catch (err) {
        const held = isStorageFault(err) ? waiting.filter((w) => w.hold && !w.hold.aborted) : [];
        for (const w of waiting) if (!held.includes(w)) w.reject(err);
        if (!held.length) return;
        waiting = held;
        try {
          await this.db.storage.recovered(held[0]?.hold);
        } catch {
          for (const w of held) w.reject(err);
          return;
        }
      }
    }
  }

  /**
   * Writes the deltas that fit as one update and one event, and answers the message's row (locked) as it then
   * stands. A delta that would pass the limit, or one for a missing or finished message, is rejected on its own;
   * `waiting` is left holding the accepted ones, which the caller settles by the transaction's outcome.
   */
  private async writeContent(tx: WriteTx, id: string, waiting: Waiter[]): Promise<ClaimedRow | undefined> {
    const row = await tx.get<ClaimedRow & { length: number }>(
      `SELECT status, thread_id, author, claimed_by, attempts, length(content) AS length FROM messages
       WHERE id = ?${rowLock(this.db)}`,
      [id],
    );
    const accepted: Waiter[] = [];
    let length = Number(row?.length ?? 0);
    for (const w of waiting) {
      if (!row) {
        w.reject(new HubError('not_found', `no message with id ${id}`));
      } else if (isTerminal(row.status)) {
        w.reject(
          new HubError('invalid_transition', `message ${id} is ${row.status}; its content can no longer change`),
        );
      } else if (w.claim && !holdsClaim(row, w.claim)) {
        w.reject(
          new HubError(
            'conflict',
            `message ${id} was claimed again (attempt ${row.attempts}); attempt ${w.claim.attempt} may no longer write it`,
          ),
        );
      } else {
        const added = [...w.delta].length;
        if (length + added > this.limits.maxContentLength) {
          w.reject(
            new HubError(
              'too_large',
              `appending ${added} characters to message ${id} would make it ${length + added} long; the limit is ${this.limits.maxContentLength}`,
            ),
          );
        } else {
          length += added;
          accepted.push(w);
        }
      }
    }
    waiting.splice(0, waiting.length, ...accepted);
    if (!row || !accepted.length) return row;
    const delta = accepted.map((w) => w.delta).join('');
    await tx.run('UPDATE messages SET content = content || ?, updated_at = ? WHERE id = ?', [
      delta,
      new Date().toISOString(),
      id,
    ]);
    tx.emit({
      type: 'message.content_updated',
      threadId: row.thread_id,
      messageId: id,
      module: row.author,
      data: { length, delta },
    });
    return row;
  }

  private forgetQuiet(): void {
    const horizon = Date.now() - this.limits.coalesceMs;
    for (const [id, at] of this.lastWrite) if (at < horizon) this.lastWrite.delete(id);
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
