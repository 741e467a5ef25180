/**
 * Watches as stored: the rows, where a new watch starts reading the log, and what the hook runner writes about
 * each watch — how far it has delivered (the cursor), the counts and the last error. The rules for who may create
 * what live in hooks/watches.ts; this file holds their SQL.
 *
 * Where a new watch starts reading the log:
 * - a thread or module watch: at the head, so it reports what happens from now on;
 * - a message watch: just before the message's latest status change, so it first reports the status the
 *   message is in now (when it fires on it), then each later change. A reply that already finished thus still
 *   fires once: watching a message that completed a moment ago must not wait forever. The position comes from
 *   the log itself, not from a separate read of the row, so no change can slip between the two.
 *
 * Every write of the runner is conditional on the cursor it last read and on the watch being live, so a watch
 * removed meanwhile, or advanced by another runner on the same database, is noticed rather than overwritten.
 */
import { encodeCursor } from '../domain/cursor.js';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import { isTerminal, type Status } from '../domain/status.js';
import type { WatchEvent } from '../domain/watch-events.js';
import { type A2APushTarget, a2aPushOf } from './a2a-push.js';
import type { Database, WriteTx } from './database.js';
import type { WatchesTable } from './schema.js';

/** A watch as its owner sees it. */
export interface Watch {
  id: string;
  messageId: string | null;
  threadId: string | null;
  /** Follows the replies this module writes. */
  module: string | null;
  /** What fires it. */
  on: WatchEvent[];
  /** Run with `/bin/sh -c`, the notification on stdin. */
  command: string | null;
  /** POSTed the notification, signed. */
  webhook: string | null;
  /** The webhook's HMAC key: present only in what `create` answers, so keep it then. */
  secret?: string;
  /** The module of the token that created it; null when created without a module scope. */
  createdBy: string | null;
  /** The log position delivered up to. */
  cursor: string;
  /** Notifications delivered. */
  delivered: number;
  /** Failed attempts of the delivery in progress (0 when none is failing). */
  failures: number;
  /** The latest failure, kept after later successes. */
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set when removed, or when a message watch has reported its message's end. */
  removedAt: string | null;
}

/** A live watch as the runner delivers it, secret included. */
export interface LiveWatch extends Omit<Watch, 'secret'> {
  secret: string | null;
  /** For an A2A task's push config (store/a2a-push.ts): its webhook is sent the A2A body, with the config's token. */
  a2aPush: A2APushTarget | null;
}

/** A new watch's target and actions, checked by the caller. */
export interface NewWatch {
  messageId?: string;
  threadId?: string;
  module?: string;
  on: WatchEvent[];
  command?: string;
  webhook?: string;
  /** The webhook's HMAC key. */
  secret: string | null;
  createdBy: string | null;
  /** The A2A push config the webhook delivers (see store/a2a-push.ts). */
  a2aPush?: A2APushTarget;
}

/** How a step of delivery ended, written with the new cursor. */
export interface Outcome {
  /** The notification was delivered. */
  delivered?: boolean;
  /** It was given up: why. */
  error?: string;
  /** A message watch reported its message's end: it is removed (event `watch.removed`, reason `finished`). */
  finished?: boolean;
}

/** A stored watch row as its owner sees it. */
function watchFromRow(r: WatchesTable): Watch {
  return {
    id: r.id,
    messageId: r.message_id,
    threadId: r.thread_id,
    module: r.module,
    on: JSON.parse(r.events) as WatchEvent[],
    command: r.command,
    webhook: r.webhook_url,
    createdBy: r.created_by,
    cursor: r.cursor,
    delivered: Number(r.delivered),
    failures: Number(r.failures),
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    removedAt: r.removed_at,
  };
}

function live(row: WatchesTable): LiveWatch {
  return { ...watchFromRow(row), secret: row.secret, a2aPush: a2aPushOf(row) };
}

/** Stores watches and the runner's progress on them. */
export class WatchRecords {
  constructor(private readonly db: Database) {}

  /**
   * Stores a new watch (event `watch.created`), starting where the top of this file says; `not_found` for an
   * unknown message, thread or module, `validation` for targets that do not fit together.
   */
  create(w: NewWatch): Promise<Watch> {
    return this.db.write(async (tx) => {
      const cursor = await this.startingCursor(tx, w);
      const now = new Date().toISOString();
      const row: WatchesTable = {
        id: newId(),
        thread_id: w.threadId ?? null,
        message_id: w.messageId ?? null,
        module: w.module ?? null,
        events: JSON.stringify(w.on),
        command: w.command ?? null,
        webhook_url: w.webhook ?? null,
        secret: w.secret,
        cursor,
        created_by: w.createdBy,
        a2a_task_id: w.a2aPush?.taskId ?? null,
        a2a_push: w.a2aPush ? JSON.stringify(w.a2aPush) : null,
        delivered: 0,
        failures: 0,
        last_error: null,
        created_at: now,
        updated_at: now,
        removed_at: null,
      };
      await tx.run(this.db.builder.insertInto('watches').values(row).compile());
      tx.emit({
        type: 'watch.created',
        data: {
          watchId: row.id,
          messageId: row.message_id,
          threadId: row.thread_id,
          module: row.module,
          on: w.on,
          command: w.command !== undefined,
          webhook: w.webhook !== undefined,
          createdBy: w.createdBy,
        },
      });
      return { ...watchFromRow(row), ...(w.secret === null ? {} : { secret: w.secret }) };
    });
  }

  /** Live watches (with `all`, removed ones too), oldest first; with `createdBy`, only that module's; no secrets. */
  async list(options: { all?: boolean; createdBy?: string } = {}): Promise<Watch[]> {
    let q = this.db.builder.selectFrom('watches').selectAll().orderBy('created_at').orderBy('id');
    if (!options.all) q = q.where('removed_at', 'is', null);
    if (options.createdBy !== undefined) q = q.where('created_by', '=', options.createdBy);
    return (await this.db.read.all<WatchesTable>(q.compile())).map(watchFromRow);
  }

  /** The watch, removed or not. */
  async get(id: string): Promise<Watch | undefined> {
    assertId(id, 'watch id');
    const row = await this.db.read.get<WatchesTable>('SELECT * FROM watches WHERE id = ?', [id]);
    return row ? watchFromRow(row) : undefined;
  }

  /**
   * Removes live watches (event `watch.removed` each): the one with `id`, or every one of `messageId` (with
   * `createdBy`, only that module's). Answers those removed.
   */
  remove(which: { id: string } | { messageId: string; createdBy?: string }): Promise<Watch[]> {
    let q = this.db.builder.updateTable('watches').where('removed_at', 'is', null);
    if ('id' in which) q = q.where('id', '=', which.id);
    else {
      q = q.where('message_id', '=', which.messageId);
      if (which.createdBy !== undefined) q = q.where('created_by', '=', which.createdBy);
    }
    return this.db.write(async (tx) => {
      const now = new Date().toISOString();
      const rows = await tx.all<WatchesTable>(q.set({ removed_at: now, updated_at: now }).returningAll().compile());
      for (const row of rows) tx.emit({ type: 'watch.removed', data: { watchId: row.id, reason: 'removed' } });
      return rows.map(watchFromRow);
    });
  }

  /** Every live watch as the runner delivers it, oldest first. */
  async live(): Promise<LiveWatch[]> {
    const rows = await this.db.read.all<WatchesTable>(
      'SELECT * FROM watches WHERE removed_at IS NULL ORDER BY created_at, id',
    );
    return rows.map(live);
  }

  /** The watch as the runner delivers it, while it is live. */
  async load(id: string): Promise<LiveWatch | undefined> {
    const row = await this.db.read.get<WatchesTable>('SELECT * FROM watches WHERE id = ? AND removed_at IS NULL', [id]);
    return row ? live(row) : undefined;
  }

  /**
   * Moves the cursor from `from` to `to` and records how the step ended, in one statement: a delivery is marked
   * done exactly when its position is. False when the watch was removed or its cursor is no longer `from`.
   */
  advance(id: string, from: string, to: string, outcome: Outcome = {}): Promise<boolean> {
    return this.db.write(async (tx) => {
      const now = new Date().toISOString();
      const changed = await tx.run(
        `UPDATE watches SET cursor = ?, delivered = delivered + ?, failures = 0, last_error = COALESCE(?, last_error),
         updated_at = ?, removed_at = ? WHERE id = ? AND cursor = ? AND removed_at IS NULL`,
        [to, outcome.delivered ? 1 : 0, outcome.error ?? null, now, outcome.finished ? now : null, id, from],
      );
      if (changed && outcome.finished) tx.emit({ type: 'watch.removed', data: { watchId: id, reason: 'finished' } });
      return changed > 0;
    });
  }

  /**
   * Records a failed attempt of the delivery after `cursor`: `failures` attempts so far and the error. The count
   * is stored so that the give-up rule holds across restarts. False when the watch was removed or moved on.
   */
  async recordFailure(id: string, cursor: string, failures: number, error: string): Promise<boolean> {
    const changed = await this.db.write((tx) =>
      tx.run(
        'UPDATE watches SET failures = ?, last_error = ?, updated_at = ? WHERE id = ? AND cursor = ? AND removed_at IS NULL',
        [failures, error, new Date().toISOString(), id, cursor],
      ),
    );
    return changed > 0;
  }

  /** Where a new watch starts reading the log (see the top of this file); checks that its targets exist. */
  private async startingCursor(tx: WriteTx, target: NewWatch): Promise<string> {
    if (target.threadId !== undefined) {
      const thread = await tx.get('SELECT id FROM threads WHERE id = ?', [target.threadId]);
      if (!thread) throw new HubError('not_found', `no thread with id ${target.threadId}`);
    }
    if (target.module !== undefined) {
      const module = await tx.get('SELECT name FROM modules WHERE name = ?', [target.module]);
      if (!module) throw new HubError('not_found', `no module named ${target.module}`);
    }
    if (target.messageId !== undefined) {
      const message = await tx.get<{ status: Status; thread_id: string; author: string }>(
        'SELECT status, thread_id, author FROM messages WHERE id = ?',
        [target.messageId],
      );
      if (!message) throw new HubError('not_found', `no message with id ${target.messageId}`);
      if (target.threadId !== undefined && message.thread_id !== target.threadId) {
        throw new HubError('validation', `message ${target.messageId} is not in thread ${target.threadId}`);
      }
      if (target.module !== undefined && message.author !== target.module) {
        throw new HubError(
          'validation',
          `message ${target.messageId} is written by ${message.author}, not ${target.module}`,
        );
      }
      const latest = await tx.get<{ seq: number | null }>(
        `SELECT max(seq) AS seq FROM events WHERE message_id = ? AND type = 'message.status_changed'`,
        [target.messageId],
      );
      const seq = Number(latest?.seq ?? 0);
      if (seq > 0) return encodeCursor(seq - 1);
      if (isTerminal(message.status)) {
        throw new HubError(
          'validation',
          `message ${target.messageId} is already ${message.status} and its status changes are not in the log (it was stored ${message.status}, as a question is, or its events were pruned): a watch on it would never fire`,
        );
      }
    }
    const head = await tx.get<{ seq: number | null }>('SELECT max(seq) AS seq FROM events');
    return encodeCursor(Number(head?.seq ?? 0));
  }
}
