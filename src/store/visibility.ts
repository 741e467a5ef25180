/**
 * What a token scoped to a module may see: the one scope rule, as SQL for lists and single records, and as a
 * set kept up to date from the log for live subscriptions. Module M sees
 * - the threads it opened (`threads.created_by = M`) or wrote a message in, and every message in them;
 * - the tasks of those messages, and the tasks whose module is M;
 * - the events of those threads, messages and tasks (and any event naming M as its module), every `module.*`
 *   event (the module list is public: discovery needs it) and every `schema.*` and `template.*` event (every
 *   token reads the registry), its own `instance.*` events, and no `watch.*` event;
 * - its own instances, and the watches it created (hooks/watches.ts).
 * A principal without a module (an unscoped token, or loopback without one) sees everything.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import { EVENT_TYPES, type HubEvent } from '../domain/types.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';

const family = (prefix: string) => EVENT_TYPES.filter((t) => t.startsWith(prefix));
/** Public to every token: the module list (discovery) and the exchange registry's publications. */
const MODULE_EVENTS = [...family('module.'), ...family('schema.'), ...family('template.')];
const INSTANCE_EVENTS = family('instance.');
const PUBLIC_PREFIXES = ['module.', 'schema.', 'template.'];
/** Events that only concern a module through the threads, messages and tasks they carry. */
const RECORD_EVENTS = EVENT_TYPES.filter((t) => !t.startsWith('instance.') && !t.startsWith('watch.'));

/** The ids of the threads `module` may see. */
function visibleThreadIds(db: Kysely<Schema>, module: string) {
  return db
    .selectFrom('threads')
    .select('id')
    .where('created_by', '=', module)
    .union(db.selectFrom('messages').select('thread_id as id').where('author', '=', module));
}

/** The ids of the messages `module` may see. */
function visibleMessageIds(db: Kysely<Schema>, module: string) {
  return db.selectFrom('messages').select('id').where('thread_id', 'in', visibleThreadIds(db, module));
}

/** Kysely conditions restricting a query to what `module` may see. */
export const visibleTo = {
  threads: (db: Kysely<Schema>, module: string) => (eb: ExpressionBuilder<Schema, 'threads'>) =>
    eb('id', 'in', visibleThreadIds(db, module)),
  messages: (db: Kysely<Schema>, module: string) => (eb: ExpressionBuilder<Schema, 'messages'>) =>
    eb('thread_id', 'in', visibleThreadIds(db, module)),
  tasks: (db: Kysely<Schema>, module: string) => (eb: ExpressionBuilder<Schema, 'tasks'>) =>
    eb.or([eb('module', '=', module), eb('message_id', 'in', visibleMessageIds(db, module))]),
  events: (db: Kysely<Schema>, module: string) => (eb: ExpressionBuilder<Schema, 'events'>) =>
    eb.or([
      eb('type', 'in', MODULE_EVENTS),
      eb.and([eb('type', 'in', INSTANCE_EVENTS), eb('module', '=', module)]),
      eb.and([
        eb('type', 'in', RECORD_EVENTS),
        eb.or([
          eb('module', '=', module),
          eb('thread_id', 'in', visibleThreadIds(db, module)),
          eb('message_id', 'in', visibleMessageIds(db, module)),
        ]),
      ]),
    ]),
};

/** `(alias).` a thread `module` may see: it opened it or wrote in it (two parameters: the module twice). */
const threadSeen = (alias: string) =>
  `(${alias}.created_by = ? OR EXISTS (SELECT 1 FROM messages o WHERE o.thread_id = ${alias}.id AND o.author = ?))`;

/** Single-record checks and the starting state of a live subscription, for a module. */
export class Visibility {
  constructor(private readonly db: Database) {}

  /** True when `module` may see the thread (false also when there is none). */
  async thread(module: string, id: string): Promise<boolean> {
    const row = await this.db.read.get(`SELECT 1 AS x FROM threads t WHERE t.id = ? AND ${threadSeen('t')}`, [
      id,
      module,
      module,
    ]);
    return row !== undefined;
  }

  /** True when `module` may see the message (false also when there is none). */
  async message(module: string, id: string): Promise<boolean> {
    const row = await this.db.read.get(
      `SELECT 1 AS x FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = ? AND ${threadSeen('t')}`,
      [id, module, module],
    );
    return row !== undefined;
  }

  /** True when `module` may see the task (false also when there is none). */
  async task(module: string, id: string): Promise<boolean> {
    const row = await this.db.read.get(
      `SELECT 1 AS x FROM tasks k WHERE k.id = ? AND (k.module = ? OR EXISTS (
         SELECT 1 FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = k.message_id AND ${threadSeen('t')}))`,
      [id, module, module, module],
    );
    return row !== undefined;
  }

  /** What `module` may see now, as a live subscription starts from it. */
  async seen(module: string): Promise<{ threads: string[]; messages: string[] }> {
    const threads = await this.db.read.all<{ id: string }>(visibleThreadIds(this.db.builder, module).compile());
    const messages = await this.db.read.all<{ id: string }>(visibleMessageIds(this.db.builder, module).compile());
    return { threads: threads.map((r) => r.id), messages: messages.map((r) => r.id) };
  }

  /** The ids of a thread's messages (when a thread comes into a module's view). */
  async messagesOf(threadId: string): Promise<string[]> {
    const rows = await this.db.read.all<{ id: string }>('SELECT id FROM messages WHERE thread_id = ?', [threadId]);
    return rows.map((r) => r.id);
  }
}

/**
 * The same rule for events as they go live, decided without a read: the threads and messages `module` may see,
 * loaded once, then grown from the log itself (a thread it opens or writes in, a message in a thread it sees).
 * Task events carry their message, not their thread, hence the message ids: about 100 bytes each, so a module
 * whose threads hold 10,000 messages costs a hub ~1 MB, shared by all of that module's subscriptions.
 */
export class VisibleSet {
  private readonly threads: Set<string>;
  private readonly messages: Set<string>;

  /** `messagesOf` fills in the older messages of a thread that comes into view; it reports its own failures. */
  constructor(
    readonly module: string,
    seen: { threads: string[]; messages: string[] },
    private readonly messagesOf: (threadId: string) => Promise<string[]>,
  ) {
    this.threads = new Set(seen.threads);
    this.messages = new Set(seen.messages);
  }

  /**
   * Learns from an event, whichever subscriber it is for; called for every event in log order. A thread that
   * comes into view when the module is asked into it has its older messages read in the background: until
   * that read returns (milliseconds), live events of other modules' tasks on those older messages are missed
   * by this module's subscriptions (`GET /events` and a resumed stream have them).
   */
  observe(event: HubEvent): void {
    if (event.type === 'thread.created' && event.module === this.module && event.threadId) {
      this.threads.add(event.threadId);
    } else if (event.type === 'message.created' && event.threadId && event.messageId) {
      if (event.module === this.module && !this.threads.has(event.threadId)) {
        this.threads.add(event.threadId);
        void this.messagesOf(event.threadId).then((ids) => {
          for (const id of ids) this.messages.add(id);
        });
      }
      if (this.threads.has(event.threadId)) this.messages.add(event.messageId);
    }
  }

  /** True when the module may see `event`. */
  admits(event: HubEvent): boolean {
    if (PUBLIC_PREFIXES.some((p) => event.type.startsWith(p))) return true;
    if (event.type.startsWith('instance.')) return event.module === this.module;
    if (event.type.startsWith('watch.')) return false;
    return (
      event.module === this.module ||
      (event.threadId !== null && this.threads.has(event.threadId)) ||
      (event.messageId !== null && this.messages.has(event.messageId))
    );
  }
}
