/** Threads: conversations between modules, and the thread list with how each thread's replies stand. */
import { sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import type { CreateThreadInput, ListThreadsOptions } from '../domain/inputs.js';
import { REPLY_STATUSES, type ReplyStatus, type Thread, type ThreadSummary } from '../domain/types.js';
import { moduleName, oneOf, optionalText, pageSize } from '../domain/validate.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { indexText, type SearchBatch } from './search-index.js';
import { visibleTo } from './visibility.js';

export type { CreateThreadInput, ListThreadsOptions } from '../domain/inputs.js';

interface ThreadRow {
  id: string;
  title: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

function fromRow(r: ThreadRow): Thread {
  return { id: r.id, title: r.title, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at };
}

/** One row of the replies' tally: the replies of one module in one thread with one status. */
interface TallyRow {
  thread_id: string;
  author: string;
  status: ReplyStatus;
  n: number | string;
  first_at: string;
  last_at: string;
  last_id: string;
}

/**
 * Status sets that a partial index holds, written as the index's own condition (literal values, not parameters)
 * so that SQLite and PostgreSQL can prove a query's rows are in it: unfinished replies (messages_active,
 * messages_queue) and replies that failed or were cancelled (messages_unsuccessful). Finished-and-complete
 * replies, nearly all of them, have no status index: a status change then moves no index entry.
 */
const INDEXED_STATUSES = [
  {
    statuses: ['pending', 'processing'],
    condition: sql<boolean>`status in ('pending', 'processing')`,
    threadOrder: false,
  },
  { statuses: ['failed', 'cancelled'], condition: sql<boolean>`status in ('failed', 'cancelled')`, threadOrder: true },
] as const;

/** Reads and writes threads. */
export class ThreadStore {
  constructor(private readonly db: Database) {}

  /** Opens a new thread (event `thread.created`); its title is indexed for search, or added to `batch`. */
  async create(input: CreateThreadInput = {}, tx?: WriteTx, batch?: SearchBatch): Promise<Thread> {
    const title = optionalText(input.title, 'title', 500);
    const createdBy = input.createdBy == null ? null : moduleName(input.createdBy, 'createdBy');
    const now = new Date().toISOString();
    const thread: Thread = { id: newId(), title, createdBy, createdAt: now, updatedAt: now };
    const insert = async (w: WriteTx) => {
      await w.run('INSERT INTO threads (id, title, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
        thread.id,
        title,
        createdBy,
        now,
        now,
      ]);
      if (title !== null) {
        await indexText(
          this.db.dialect,
          w,
          { kind: 'thread', recordId: thread.id, field: 'title', createdAt: now, text: title },
          batch,
        );
      }
      w.emit({ type: 'thread.created', threadId: thread.id, module: createdBy, data: { title, createdBy } });
    };
    if (tx) await insert(tx);
    else await this.db.write(insert);
    return thread;
  }

  /** The thread, or `not_found`. */
  async get(id: string, client: SqlClient = this.db.read): Promise<Thread> {
    assertId(id, 'thread id');
    const row = await client.get<ThreadRow>('SELECT * FROM threads WHERE id = ?', [id]);
    if (!row) throw new HubError('not_found', `no thread with id ${id}`);
    return fromRow(row);
  }

  /**
   * Threads, newest first, each with who was asked in it and how their replies stand; with `visibleTo`, only
   * those that module may see; with `module` and `status`, only those asked of that module, or with a reply in
   * one of those statuses.
   *
   * What it reads, with 1M replies in the table: unfiltered, `limit` entries of the threads' primary key, then
   * the tally (`summarize`). A filter reads an index of messages, never the table: `failed` and `cancelled` walk
   * messages_unsuccessful (only such replies) newest thread first and stop at `limit` threads, checking a given
   * module on those rows; `pending` and `processing` read the partial index of unfinished replies whole (it
   * holds the queue, not the history); `module` alone walks messages_author (author, thread_id) newest thread
   * first; `complete` walks messages_thread newest thread first, reading rows until `limit` threads have a
   * complete reply (most threads do, so about `limit` threads' messages).
   */
  async list(options: ListThreadsOptions = {}): Promise<ThreadSummary[]> {
    const limit = options.limit === undefined ? 100 : pageSize(options.limit, 1000);
    const module = options.module === undefined ? undefined : moduleName(options.module, 'module');
    const statuses = options.status?.map((s) => oneOf(s, 'status', REPLY_STATUSES));
    if (statuses?.length === 0) throw new HubError('validation', 'status must name at least one status');
    const b = this.db.builder;
    let q = b.selectFrom('threads').selectAll().orderBy('id', 'desc').limit(limit);
    if (module !== undefined || statuses !== undefined) {
      const indexed = INDEXED_STATUSES.find((i) =>
        statuses?.every((s) => (i.statuses as readonly string[]).includes(s)),
      );
      let asked = b.selectFrom('messages').select('thread_id').where('role', '=', 'assistant');
      if (module !== undefined) {
        // With a status index to walk, the module is checked on its rows: `author || ''` keeps the planner off
        // messages_author, which would read every message of the module to find its few failed ones.
        asked = indexed ? asked.where(sql`author || ''`, '=', module) : asked.where('author', '=', module);
      }
      if (statuses !== undefined) {
        if (indexed) asked = asked.where(indexed.condition);
        asked = asked.where('status', 'in', statuses);
      }
      if (options.visibleTo !== undefined) asked = asked.where(visibleTo.messages(b, options.visibleTo));
      // Unfinished replies are read whole (the queue); other filters walk their index in thread order and stop.
      const page =
        indexed?.threadOrder === false ? asked : asked.groupBy('thread_id').orderBy('thread_id', 'desc').limit(limit);
      q = q.where('id', 'in', page);
    } else if (options.visibleTo !== undefined) {
      q = q.where(visibleTo.threads(b, options.visibleTo));
    }
    const threads = (await this.db.read.all<ThreadRow>(q.compile())).map(fromRow);
    return this.summarize(threads);
  }

  /**
   * The threads with their replies tallied: one grouped read of the listed threads' replies through
   * messages_thread, answering a row per module and status in each thread (a page of 100 threads of a few
   * replies each reads a few hundred index entries and rows, whatever the table holds).
   */
  private async summarize(threads: Thread[]): Promise<ThreadSummary[]> {
    if (threads.length === 0) return [];
    const q = this.db.builder
      .selectFrom('messages')
      .select((eb) => [
        'thread_id',
        'author',
        'status',
        eb.fn.countAll().as('n'),
        eb.fn.min('created_at').as('first_at'),
        eb.fn.max('created_at').as('last_at'),
        eb.fn.max('id').as('last_id'),
      ])
      .where('role', '=', 'assistant')
      .where(
        'thread_id',
        'in',
        threads.map((t) => t.id),
      )
      .groupBy(['thread_id', 'author', 'status']);
    const tally = new Map<string, TallyRow[]>();
    for (const row of await this.db.read.all<TallyRow>(q.compile())) {
      const rows = tally.get(row.thread_id) ?? [];
      rows.push(row);
      tally.set(row.thread_id, rows);
    }
    return threads.map((thread) => summary(thread, tally.get(thread.id) ?? []));
  }
}

/** A thread with its replies' tally: modules by first ask, counts by status, the newest reply's group. */
function summary(thread: Thread, rows: TallyRow[]): ThreadSummary {
  const replies = Object.fromEntries(REPLY_STATUSES.map((s) => [s, 0])) as Record<ReplyStatus, number>;
  const firstAsked = new Map<string, string>();
  let latest: TallyRow | undefined;
  for (const row of rows) {
    replies[row.status] += Number(row.n);
    const first = firstAsked.get(row.author);
    if (first === undefined || row.first_at < first) firstAsked.set(row.author, row.first_at);
    // Within one millisecond, the larger id: ids the hub makes (UUIDv7) grow with time.
    if (!latest || row.last_at > latest.last_at || (row.last_at === latest.last_at && row.last_id > latest.last_id))
      latest = row;
  }
  const asked = [...firstAsked].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([m]) => m);
  return {
    ...thread,
    asked,
    replies,
    latestReply: latest ? { module: latest.author, status: latest.status, createdAt: latest.last_at } : null,
  };
}
