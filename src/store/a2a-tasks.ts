/**
 * The hub's A2A tasks: the A2A SDK's `TaskStore` kept in our own database (table `a2a_tasks`, migration 19), so
 * the tasks outside agents started survive a restart and are read by any service on the same database. Each row
 * holds the task's JSON as the protocol writes it (`Task.toJSON`) and, beside it, what lists filter on: its owner,
 * context, state and the time of its status.
 *
 * Owner: the module of the token that created the task, or '' for a token without a module. A caller acting as a
 * module (`context.user.userName` = the module) reads and lists only that module's tasks; a caller without one
 * (an empty user name) reads every task, as an unscoped token reads everything in the API.
 */
import {
  type ListTasksRequest,
  type ListTasksResponse,
  type Task,
  Task as TaskCodec,
  taskStateToJSON,
} from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import type { CompiledQuery, Kysely } from 'kysely';
import { A2APushRecords } from './a2a-push.js';
import type { Database } from './database.js';
import type { A2ATasksTable, Schema } from './schema.js';

type Statement = { compile(): CompiledQuery };

/** The metadata key under which the hub records what an A2A task is in its own terms (see a2a/executor.ts). */
export const HUB_METADATA_KEY = 'claudeComms';

/** A page of tasks when the request names no size (the SDK's own default). */
const DEFAULT_PAGE_SIZE = 50;

/** Migration 19: the A2A tasks, with an index for each way they are listed (each ending in the sort order). */
export function a2aTaskTable(db: Kysely<Schema>): Statement[] {
  return [
    db.schema
      .createTable('a2a_tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('context_id', 'text', (c) => c.notNull())
      .addColumn('thread_id', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('task', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull()),
    db.schema.createIndex('a2a_tasks_updated').on('a2a_tasks').columns(['updated_at', 'id']),
    db.schema.createIndex('a2a_tasks_owner').on('a2a_tasks').columns(['owner', 'updated_at', 'id']),
    db.schema.createIndex('a2a_tasks_context').on('a2a_tasks').columns(['context_id', 'updated_at', 'id']),
    db.schema.createIndex('a2a_tasks_state').on('a2a_tasks').columns(['state', 'updated_at', 'id']),
  ];
}

/** The module a call acts as, or null for a caller that may see every task. */
function ownerOf(context: ServerCallContext): string | null {
  return context.user?.userName || null;
}

/** The hub's own ids a task carries in its metadata (written by the executor). */
function hubIds(task: Task): { threadId: string | null } {
  const hub = task.metadata?.[HUB_METADATA_KEY] as { threadId?: unknown } | undefined;
  return { threadId: typeof hub?.threadId === 'string' ? hub.threadId : null };
}

/** The status time as stored: ISO, so that text order is time order; now when the task has none. */
function statusTime(task: Task): string {
  const parsed = Date.parse(task.status?.timestamp ?? '');
  return new Date(Number.isNaN(parsed) ? Date.now() : parsed).toISOString();
}

/** A page token: where the previous page ended (status time and id), opaque to the caller. */
function encodeToken(updatedAt: string, id: string): string {
  return Buffer.from(`${updatedAt}|${id}`).toString('base64url');
}

function decodeToken(token: string): { updatedAt: string; id: string } {
  const [updatedAt, id] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  if (!updatedAt || !id || Number.isNaN(Date.parse(updatedAt)))
    throw new RequestMalformedError('pageToken is not one this server gave out (pass nextPageToken as it came)');
  return { updatedAt, id };
}

/** `TaskStore` over the hub's database: both SQLite and PostgreSQL, with the statements they share. */
export class A2ATaskStore implements TaskStore {
  /** The tasks' push-notification configs, kept as webhook watches (store/a2a-push.ts). */
  readonly push: A2APushRecords;

  constructor(private readonly db: Database) {
    this.push = new A2APushRecords(db);
  }

  /**
   * Saves the task whole. A new task belongs to the caller; saving an existing one keeps its owner, and a caller
   * acting as a module cannot overwrite another's task (the write then changes nothing).
   */
  async save(task: Task, context: ServerCallContext): Promise<void> {
    const owner = ownerOf(context);
    const json = JSON.stringify(TaskCodec.toJSON(task));
    const state = task.status ? taskStateToJSON(task.status.state) : 'TASK_STATE_UNSPECIFIED';
    const now = new Date().toISOString();
    await this.db.write((tx) =>
      tx.run(
        `INSERT INTO a2a_tasks (id, owner, context_id, thread_id, state, updated_at, task, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET context_id = excluded.context_id,
           thread_id = COALESCE(excluded.thread_id, a2a_tasks.thread_id), state = excluded.state,
           updated_at = excluded.updated_at, task = excluded.task
         WHERE CAST(? AS text) IS NULL OR a2a_tasks.owner = ?`,
        [task.id, owner ?? '', task.contextId, hubIds(task).threadId, state, statusTime(task), json, now, owner, owner],
      ),
    );
  }

  /** The task, or undefined when there is none or the caller may not see it. */
  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const row = await this.db.read.get<Pick<A2ATasksTable, 'owner' | 'task'>>(
      'SELECT owner, task FROM a2a_tasks WHERE id = ?',
      [taskId],
    );
    const owner = ownerOf(context);
    if (!row || (owner !== null && row.owner !== owner)) return undefined;
    return TaskCodec.fromJSON(JSON.parse(row.task));
  }

  /**
   * The thread of the newest task in `contextId` the caller may see, for a message continuing a conversation
   * whose context id the client chose (null when there is none).
   */
  async threadOfContext(contextId: string, context: ServerCallContext): Promise<string | null> {
    const owner = ownerOf(context);
    const row = await this.db.read.get<Pick<A2ATasksTable, 'thread_id'>>(
      `SELECT thread_id FROM a2a_tasks WHERE context_id = ? AND thread_id IS NOT NULL${owner === null ? '' : ' AND owner = ?'}
       ORDER BY updated_at DESC, id DESC LIMIT 1`,
      owner === null ? [contextId] : [contextId, owner],
    );
    return row?.thread_id ?? null;
  }

  /**
   * The caller's tasks, newest status first, filtered by context, state and status time; a page at a time
   * (`nextPageToken` goes on where the page ended). Each filter has an index ending in the order, so a page costs
   * its size; `totalSize` counts the matches through the same index.
   */
  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const pageSize = params.pageSize ?? DEFAULT_PAGE_SIZE;
    const owner = ownerOf(context);
    const where: string[] = [];
    const values: unknown[] = [];
    if (owner !== null) {
      where.push('owner = ?');
      values.push(owner);
    }
    if (params.contextId) {
      where.push('context_id = ?');
      values.push(params.contextId);
    }
    if (params.status) {
      where.push('state = ?');
      values.push(taskStateToJSON(params.status));
    }
    if (params.statusTimestampAfter) {
      where.push('updated_at > ?');
      values.push(new Date(Date.parse(params.statusTimestampAfter)).toISOString());
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const counted = await this.db.read.get<{ n: number | string }>(
      `SELECT count(*) AS n FROM a2a_tasks ${filter}`,
      values,
    );
    const page = [...where];
    const pageValues = [...values];
    if (params.pageToken) {
      const after = decodeToken(params.pageToken);
      page.push('(updated_at < ? OR (updated_at = ? AND id < ?))');
      pageValues.push(after.updatedAt, after.updatedAt, after.id);
    }
    const rows = await this.db.read.all<Pick<A2ATasksTable, 'id' | 'updated_at' | 'task'>>(
      `SELECT id, updated_at, task FROM a2a_tasks ${page.length ? `WHERE ${page.join(' AND ')}` : ''}
       ORDER BY updated_at DESC, id DESC LIMIT ?`,
      [...pageValues, pageSize + 1],
    );
    const more = rows.length > pageSize;
    const shown = more ? rows.slice(0, pageSize) : rows;
    const last = shown.at(-1);
    return {
      tasks: shown.map((row) => {
        const task = TaskCodec.fromJSON(JSON.parse(row.task));
        return params.includeArtifacts ? task : { ...task, artifacts: [] };
      }),
      nextPageToken: more && last ? encodeToken(last.updated_at, last.id) : '',
      pageSize,
      totalSize: Number(counted?.n ?? 0),
    };
  }
}
