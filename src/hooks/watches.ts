/**
 * Watches: which replies a hook follows (a message, a thread's, a module's), on which statuses it fires, and
 * what it runs (a command, a webhook). Creating and removing one writes a `watch.created` / `watch.removed`
 * event, so running hooks in any process pick the change up at once.
 *
 * Where a new watch starts reading the log:
 * - a thread or module watch: at the head, so it reports what happens from now on;
 * - a message watch: just before the message's latest status change, so it first reports the status the
 *   message is in now (when it fires on it), then each later change. A reply that already finished thus still
 *   fires once: watching a message that completed a moment ago must not wait forever. The position comes from
 *   the log itself, not from a separate read of the row, so no change can slip between the two.
 *
 * A watch created by a module token belongs to that module (`createdBy`): it may only follow what the module
 * may see (store/visibility.ts) and its own replies, never run a command, and only call a public webhook
 * address unless the hub allows private ones (webhook-target.ts). Only that module's token sees and removes it.
 */
import { randomBytes } from 'node:crypto';
import { encodeCursor } from '../domain/cursor.js';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import { isTerminal, type Status } from '../domain/status.js';
import { list, moduleName, oneOf, text } from '../domain/validate.js';
import type { Database, WriteTx } from '../store/database.js';
import type { WatchesTable } from '../store/schema.js';
import type { Visibility } from '../store/visibility.js';
import { DEFAULT_WATCH_EVENTS, WATCH_EVENTS, type WatchEvent } from './triggers.js';
import { vetWebhookHost } from './webhook-target.js';

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

/** What a new watch follows and does. At least one target and at least one action. */
export interface CreateWatchInput {
  messageId?: string;
  threadId?: string;
  /** The replies of this module. */
  module?: string;
  /** Default: `['complete', 'failed', 'cancelled']`; `status` fires on every status change. */
  on?: WatchEvent[];
  /** A shell command (`/bin/sh -c`). */
  command?: string;
  /** An http(s) URL. */
  webhook?: string;
}

/** A stored watch row as the store and the runner read it. */
export function watchFromRow(r: WatchesTable): Watch {
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

/** Checks a webhook address: an absolute http or https URL. */
function webhookUrl(value: unknown): string {
  const raw = text(value, 'webhook', 2048);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HubError('validation', `webhook must be an http(s) URL, got '${raw.slice(0, 80)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('validation', `webhook must be an http(s) URL, got a ${url.protocol} URL`);
  }
  return raw;
}

function watchEvents(value: unknown): WatchEvent[] {
  if (value === undefined) return [...DEFAULT_WATCH_EVENTS];
  const chosen = list(value, 'on', WATCH_EVENTS.length, (v, field) => oneOf(v, field, WATCH_EVENTS));
  if (chosen.length === 0) throw new HubError('validation', `on must name at least one of ${WATCH_EVENTS.join(', ')}`);
  return [...new Set(chosen)];
}

/** How watches are checked. */
export interface WatchSettings {
  /** Watches created by module tokens may call loopback, private and link-local webhook addresses. */
  allowPrivateWebhooks: boolean;
}

/** Creates, lists and removes watches. */
export class WatchStore {
  constructor(
    private readonly db: Database,
    private readonly visibility: Visibility,
    private readonly settings: WatchSettings,
  ) {}

  /**
   * Creates a watch (event `watch.created`). `validation` names what is missing or malformed; `not_found` an
   * unknown message, thread or module. A webhook watch's answer carries its `secret`, shown this once.
   * `createdBy`: the module of the token asking; it may not watch what it may not see (`not_found`, as if there
   * were none), another module's replies, run a command, or call a non-public address (`forbidden`).
   */
  async create(input: CreateWatchInput, createdBy: string | null = null): Promise<Watch> {
    if (typeof input !== 'object' || input === null) throw new HubError('validation', 'a watch must be an object');
    const { messageId, threadId } = input;
    if (messageId !== undefined) assertId(messageId, 'message id');
    if (threadId !== undefined) assertId(threadId, 'thread id');
    const module = input.module === undefined ? undefined : moduleName(input.module, 'module');
    if (messageId === undefined && threadId === undefined && module === undefined) {
      throw new HubError('validation', 'a watch needs a target: messageId, threadId or module');
    }
    const on = watchEvents(input.on);
    const command = input.command === undefined ? undefined : text(input.command, 'command', 10_000);
    const webhook = input.webhook === undefined ? undefined : webhookUrl(input.webhook);
    if (command === undefined && webhook === undefined) {
      throw new HubError('validation', 'a watch needs an action: command or webhook');
    }
    if (createdBy !== null) await this.assertMayCreate(createdBy, { messageId, threadId, module, command, webhook });
    const secret = webhook === undefined ? null : randomBytes(32).toString('hex');
    return this.db.write(async (tx) => {
      const cursor = await this.startingCursor(tx, { messageId, threadId, module });
      const now = new Date().toISOString();
      const row: WatchesTable = {
        id: newId(),
        thread_id: threadId ?? null,
        message_id: messageId ?? null,
        module: module ?? null,
        events: JSON.stringify(on),
        command: command ?? null,
        webhook_url: webhook ?? null,
        secret,
        cursor,
        created_by: createdBy,
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
          on,
          command: command !== undefined,
          webhook: webhook !== undefined,
          createdBy,
        },
      });
      return { ...watchFromRow(row), ...(secret === null ? {} : { secret }) };
    });
  }

  /**
   * Live watches (with `all`, removed ones too), oldest first; with `createdBy`, only that module's. Secrets are
   * never listed.
   */
  async list(options: { all?: boolean; createdBy?: string } = {}): Promise<Watch[]> {
    let q = this.db.builder.selectFrom('watches').selectAll().orderBy('created_at').orderBy('id');
    if (!options.all) q = q.where('removed_at', 'is', null);
    if (options.createdBy !== undefined) q = q.where('created_by', '=', options.createdBy);
    return (await this.db.read.all<WatchesTable>(q.compile())).map(watchFromRow);
  }

  /** The watch, removed or not, or `not_found` (also when `createdBy` is given and did not create it). */
  async get(id: string, createdBy?: string): Promise<Watch> {
    assertId(id, 'watch id');
    const row = await this.db.read.get<WatchesTable>('SELECT * FROM watches WHERE id = ?', [id]);
    if (!row || (createdBy !== undefined && row.created_by !== createdBy)) {
      throw new HubError('not_found', `no watch with id ${id}`);
    }
    return watchFromRow(row);
  }

  /**
   * Removes a watch (event `watch.removed`): it fires no more, and a delivery of it in progress is stopped.
   * Removing a removed watch changes nothing; an unknown one (or, with `createdBy`, another's) is `not_found`.
   */
  async remove(id: string, createdBy?: string): Promise<Watch> {
    await this.get(id, createdBy);
    const removed = await this.removeWhere('id = ?', [id]);
    return removed[0] ?? this.get(id);
  }

  /**
   * Removes every live watch of a message (with `createdBy`, only that module's); answers those removed (none
   * when it had none).
   */
  async removeForMessage(messageId: string, createdBy?: string): Promise<Watch[]> {
    assertId(messageId, 'message id');
    return createdBy === undefined
      ? this.removeWhere('message_id = ?', [messageId])
      : this.removeWhere('message_id = ? AND created_by = ?', [messageId, createdBy]);
  }

  /** What a module token may not make a watch do (see the top of this file). */
  private async assertMayCreate(
    module: string,
    w: { messageId?: string; threadId?: string; module?: string; command?: string; webhook?: string },
  ): Promise<void> {
    if (w.command !== undefined) {
      throw new HubError('forbidden', `a token scoped to module ${module} cannot add a watch running a command`);
    }
    if (w.module !== undefined && w.module !== module) {
      throw new HubError(
        'forbidden',
        `a token scoped to module ${module} may watch only its own replies, not those of ${w.module}`,
      );
    }
    if (w.threadId !== undefined && !(await this.visibility.thread(module, w.threadId))) {
      throw new HubError('not_found', `no thread with id ${w.threadId}`);
    }
    if (w.messageId !== undefined && !(await this.visibility.message(module, w.messageId))) {
      throw new HubError('not_found', `no message with id ${w.messageId}`);
    }
    if (w.webhook !== undefined && !this.settings.allowPrivateWebhooks) await vetWebhookHost(w.webhook);
  }

  private removeWhere(condition: string, values: string[]): Promise<Watch[]> {
    return this.db.write(async (tx) => {
      const now = new Date().toISOString();
      const rows = await tx.all<WatchesTable>(
        `UPDATE watches SET removed_at = ?, updated_at = ? WHERE ${condition} AND removed_at IS NULL RETURNING *`,
        [now, now, ...values],
      );
      for (const row of rows) tx.emit({ type: 'watch.removed', data: { watchId: row.id, reason: 'removed' } });
      return rows.map(watchFromRow);
    });
  }

  /** Where a new watch starts reading the log (see the top of this file); checks that its targets exist. */
  private async startingCursor(
    tx: WriteTx,
    target: { messageId?: string; threadId?: string; module?: string },
  ): Promise<string> {
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
