/**
 * The streamed content of messages: deltas appended to a reply while its run goes on, and the order of every
 * write of one message.
 *
 * Content appends are coalesced per message: the first append after a quiet spell is written at once, later
 * ones wait until `coalesceMs` (50 ms: at most ~20 content events per second per message) has passed since the
 * previous write, then go in together. Each write updates the row and appends its event in one transaction, so
 * the row and the log never disagree; a status change commits whatever is still waiting first, so no delta
 * arrives after a final status.
 */
import { HubError, isStorageFault } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import { isTerminal, type Status } from '../domain/status.js';
import { noNul } from '../domain/validate.js';
import type { Database, WriteTx } from './database.js';
import { rowLock } from './row-lock.js';

/** Limits on message content. */
export interface MessageLimits {
  /** Largest content of one message, in characters (default 4,000,000). */
  maxContentLength: number;
  /** Quiet time between two content writes of one message, in ms (default 50). */
  coalesceMs: number;
}

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

interface Waiter {
  delta: string;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Kept through storage faults until this aborts (see `MessageStore.appendContent`). */
  hold: AbortSignal | undefined;
  /** Written only while the reply is still held by this claim (see `MessageStore.appendContent`). */
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

/** The content deltas waiting for each message, and the write of each message in flight. */
export class MessageContent {
  private readonly pending = new Map<string, Pending>();
  private readonly lastWrite = new Map<string, number>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly limits: MessageLimits,
  ) {}

  /** Queues `delta` for message `id` (see `MessageStore.appendContent`). */
  append(id: string, delta: string, { hold, claim }: { hold?: AbortSignal; claim?: RunClaim } = {}): Promise<void> {
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

  /** Forgets the coalescing window of message `id`, which has reached a final status. */
  forget(id: string): void {
    this.lastWrite.delete(id);
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
    await appendDelta(tx, id, row, accepted.map((w) => w.delta).join(''), length);
    return row;
  }

  private forgetQuiet(): void {
    const horizon = Date.now() - this.limits.coalesceMs;
    for (const [id, at] of this.lastWrite) if (at < horizon) this.lastWrite.delete(id);
  }
}

/**
 * Appends `delta` to message `id` (its row locked by the caller, `length` its content's length after) and records
 * the event, in the caller's transaction: the one way content grows, for runs and for interactive answers alike.
 */
export async function appendDelta(
  tx: WriteTx,
  id: string,
  row: Pick<StatusRow, 'thread_id' | 'author'>,
  delta: string,
  length: number,
): Promise<void> {
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
}
