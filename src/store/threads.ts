/** Threads: conversations between modules. */
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import type { Thread } from '../domain/types.js';
import { moduleName, optionalText, pageSize } from '../domain/validate.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { visibleTo } from './visibility.js';

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

/** What a new thread may carry. */
export interface CreateThreadInput {
  title?: string | null;
  /** The module that opened the conversation. */
  createdBy?: string | null;
}

/** Reads and writes threads. */
export class ThreadStore {
  constructor(private readonly db: Database) {}

  /** Opens a new thread (event `thread.created`). */
  async create(input: CreateThreadInput = {}, tx?: WriteTx): Promise<Thread> {
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

  /** Threads, newest first; with `visibleTo`, only those that module may see. */
  async list(options: { limit?: number; visibleTo?: string } = {}): Promise<Thread[]> {
    const limit = options.limit === undefined ? 100 : pageSize(options.limit, 1000);
    let q = this.db.builder.selectFrom('threads').selectAll().orderBy('id', 'desc').limit(limit);
    if (options.visibleTo !== undefined) q = q.where(visibleTo.threads(this.db.builder, options.visibleTo));
    const rows = await this.db.read.all<ThreadRow>(q.compile());
    return rows.map(fromRow);
  }
}
