/**
 * Numbered schema migrations. They run when a hub opens, inside one write transaction (under an advisory lock on
 * PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so concurrent openers apply each migration exactly once. A database
 * whose schema is newer than this code is refused rather than misread. The list stays in this one file, past 400
 * lines, so that the order of every version is read in one place; long ones keep their statements elsewhere.
 */
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { a2aPushColumns } from './a2a-push.js';
import { a2aTaskTable } from './a2a-tasks.js';
import { askChainColumns } from './ask-chain.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { exchangeTables, publishBundled } from './exchange-schema.js';
import type { Dialect, Schema } from './schema.js';
import { backfillSearch } from './search-index.js';
import { taskTotals } from './task-totals-schema.js';
import { workflowFlowTables, workflowTables } from './workflow-tables.js';

interface Migration {
  version: number;
  name: string;
  /** DDL statements built with Kysely's schema builder for the given dialect. */
  up(db: Kysely<Schema>, dialect: Dialect): { compile(): CompiledQuery }[];
  /** Fills what the new schema holds from the rows already there, after `up`, in the same transaction. */
  backfill?(dialect: Dialect, tx: SqlClient): Promise<void>;
}

const text = 'text' as const;
/** A statement Kysely's schema builder cannot write (a virtual table, an index method). */
const raw = (statement: string) => ({ compile: () => CompiledQuery.raw(statement) });
const float = 'double precision' as const;

/** Every migration, in order. Append only: a released migration never changes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core: modules, threads, messages, tasks, events, meta',
    up: (db, dialect) => [
      db.schema
        .createTable('modules')
        .addColumn('name', text, (c) => c.primaryKey())
        .addColumn('description', text, (c) => c.notNull().defaultTo(''))
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('config', text, (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull()),
      db.schema
        .createTable('threads')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('title', text)
        .addColumn('created_by', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull()),
      db.schema
        .createTable('messages')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('thread_id', text, (c) => c.notNull().references('threads.id'))
        .addColumn('author', text, (c) => c.notNull())
        .addColumn('role', text, (c) => c.notNull())
        .addColumn('content', text, (c) => c.notNull().defaultTo(''))
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('error', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('started_at', text)
        .addColumn('completed_at', text)
        .addColumn('updated_at', text, (c) => c.notNull()),
      db.schema.createIndex('messages_thread').on('messages').columns(['thread_id', 'created_at']),
      // Only unfinished messages are indexed by status: a status change then touches one index page instead of
      // moving an entry across the index (about 25% more transitions per second on SQLite).
      db.schema
        .createIndex('messages_active')
        .on('messages')
        .column('created_at')
        .where(sql<boolean>`status in ('pending', 'processing')`),
      db.schema
        .createTable('tasks')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('module', text)
        .addColumn('kind', text, (c) => c.notNull())
        .addColumn('message_id', text)
        .addColumn('workflow_run_id', text)
        .addColumn('parent_id', text)
        .addColumn('depends_on', text, (c) => c.notNull().defaultTo('[]'))
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('progress', float, (c) => c.notNull().defaultTo(0))
        .addColumn('iteration', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_iterations', 'integer')
        .addColumn('criteria', text, (c) => c.notNull().defaultTo('[]'))
        .addColumn('cost_usd', float, (c) => c.notNull().defaultTo(0))
        .addColumn('max_cost_usd', float)
        .addColumn('tokens_in', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('tokens_out', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('files_created', text, (c) => c.notNull().defaultTo('[]'))
        .addColumn('files_modified', text, (c) => c.notNull().defaultTo('[]'))
        .addColumn('session_id', text)
        .addColumn('error', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('started_at', text)
        .addColumn('completed_at', text)
        .addColumn('updated_at', text, (c) => c.notNull()),
      db.schema.createIndex('tasks_status').on('tasks').columns(['status', 'created_at']),
      db.schema.createIndex('tasks_message').on('tasks').column('message_id'),
      db.schema
        .createTable('events')
        // SQLite assigns max(seq)+1 and pruning never deletes the newest event, so numbers only grow and
        // cursors stay valid. (AUTOINCREMENT would promise the same at the cost of one more page per commit.)
        .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => c.primaryKey())
        .addColumn('at', text, (c) => c.notNull())
        .addColumn('type', text, (c) => c.notNull())
        .addColumn('thread_id', text)
        .addColumn('message_id', text)
        .addColumn('task_id', text)
        .addColumn('run_id', text)
        .addColumn('module', text)
        .addColumn('data', text, (c) => c.notNull()),
      // Partial indexes: an event touches only the indexes of the ids it carries, which keeps each append to a
      // few pages (every page written is a WAL frame on SQLite).
      db.schema
        .createIndex('events_message')
        .on('events')
        .columns(['message_id', 'seq'])
        .where('message_id', 'is not', null),
      db.schema
        .createIndex('events_thread')
        .on('events')
        .columns(['thread_id', 'seq'])
        .where('thread_id', 'is not', null),
      db.schema.createIndex('events_task').on('events').columns(['task_id', 'seq']).where('task_id', 'is not', null),
      db.schema
        .createTable('meta')
        .addColumn('key', text, (c) => c.primaryKey())
        .addColumn('value', text, (c) => c.notNull()),
    ],
  },
  {
    version: 2,
    name: 'messages.schema: the JSON Schema a structured answer must satisfy',
    up: (db) => [db.schema.alterTable('messages').addColumn('schema', text)],
  },
  {
    version: 3,
    name: 'worker leases on messages; agent sessions per thread and module',
    up: (db) => [
      db.schema.alterTable('messages').addColumn('claimed_by', text),
      db.schema.alterTable('messages').addColumn('lease_until', text),
      db.schema.alterTable('messages').addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0)),
      db.schema
        .createTable('thread_sessions')
        .addColumn('thread_id', text, (c) => c.notNull().references('threads.id'))
        .addColumn('module', text, (c) => c.notNull())
        .addColumn('session_id', text, (c) => c.notNull())
        .addColumn('cost_total_usd', float)
        .addColumn('updated_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('thread_sessions_pk', ['thread_id', 'module']),
    ],
  },
  {
    version: 4,
    name: 'instances (a module’s agents, owned by a worker); module health',
    up: (db) => [
      db.schema
        .createTable('instances')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('module', text, (c) => c.notNull())
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('worker_id', text)
        .addColumn('lease_until', text)
        .addColumn('message_id', text)
        .addColumn('session_id', text)
        .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reason', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull())
        .addColumn('last_active_at', text, (c) => c.notNull())
        .addColumn('terminated_at', text),
      db.schema
        .createIndex('instances_live')
        .on('instances')
        .columns(['module', 'status'])
        .where(sql<boolean>`status <> 'terminated'`),
      db.schema.alterTable('modules').addColumn('health', text, (c) => c.notNull().defaultTo('healthy')),
      db.schema.alterTable('modules').addColumn('health_error', text),
      db.schema.alterTable('modules').addColumn('health_checked_at', text),
    ],
  },
  {
    version: 5,
    name: 'API tokens; watches (hooks) with their delivery cursors',
    up: (db) => [
      db.schema
        .createTable('tokens')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('hash', text, (c) => c.notNull().unique())
        .addColumn('module', text)
        .addColumn('label', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('last_used_at', text)
        .addColumn('revoked_at', text),
      db.schema
        .createTable('watches')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('thread_id', text)
        .addColumn('message_id', text)
        .addColumn('module', text)
        .addColumn('events', text, (c) => c.notNull())
        .addColumn('command', text)
        .addColumn('webhook_url', text)
        .addColumn('secret', text)
        .addColumn('cursor', text, (c) => c.notNull())
        .addColumn('delivered', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull())
        .addColumn('removed_at', text),
      db.schema.createIndex('watches_message').on('watches').column('message_id'),
    ],
  },
  {
    version: 6,
    name: 'ask request ids (idempotency keys), kept a day',
    up: (db) => [
      db.schema
        .createTable('ask_requests')
        .addColumn('scope', text, (c) => c.notNull())
        .addColumn('key', text, (c) => c.notNull())
        .addColumn('request_hash', text, (c) => c.notNull())
        .addColumn('result', text)
        .addColumn('created_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('ask_requests_pk', ['scope', 'key']),
      db.schema.createIndex('ask_requests_created').on('ask_requests').column('created_at'),
    ],
  },
  {
    version: 7,
    name: 'module scope: who created a watch; the threads a module opened or wrote in, found by index',
    up: (db) => [
      db.schema.alterTable('watches').addColumn('created_by', text),
      // What a module token may see starts from "the threads it opened or wrote a message in": without these a
      // scoped read scans every thread and message. One more index entry per message and per thread written.
      db.schema.createIndex('messages_author').on('messages').columns(['author', 'thread_id']),
      db.schema.createIndex('threads_created_by').on('threads').column('created_by'),
    ],
  },
  {
    version: 8,
    name: 'the queue of each module: its unfinished replies by age',
    up: (db) => [
      // A worker claims a module's oldest pending reply. With `messages_author` (version 7) beside the active
      // index, SQLite chose it for the claim and sorted every message the module ever wrote: a cost growing with
      // history, and 327 → 245 answers a second on an empty database (bench row 7). This index answers the claim
      // by itself and holds only unfinished replies, like messages_active.
      db.schema
        .createIndex('messages_queue')
        .on('messages')
        .columns(['author', 'created_at', 'id'])
        .where(sql<boolean>`status in ('pending', 'processing')`),
    ],
  },
  {
    version: 9,
    name: 'modules: the config.yaml that registered each, and when it was removed from it',
    up: (db) => [
      // Null for modules registered through the library: config sync never touches those.
      db.schema.alterTable('modules').addColumn('config_file', text),
      db.schema.alterTable('modules').addColumn('removed_at', text),
    ],
  },
  {
    version: 10,
    name: 'leases: which service runs a role (hooks, retention) while it lives',
    up: (db) => [
      // One row per role. `epoch` grows with every change of holder, so a holder that lost its lease (frozen past
      // its end) cannot renew or release the lease its successor holds.
      db.schema
        .createTable('leases')
        .addColumn('name', text, (c) => c.primaryKey())
        .addColumn('holder', text, (c) => c.notNull())
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .addColumn('lease_until', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull()),
    ],
  },
  {
    version: 11,
    name: 'the threads whose replies failed or were cancelled, found by index',
    up: (db) => [
      // The thread list filtered to failed or cancelled replies walks this, newest thread first (store/threads.ts):
      // without it, a table of 1M replies is read whole to find the few that failed. It holds only such replies,
      // and a reply enters it once, on its final status: nothing else any write does changes.
      db.schema
        .createIndex('messages_unsuccessful')
        .on('messages')
        .column('thread_id')
        .where(sql<boolean>`status in ('failed', 'cancelled')`),
    ],
  },
  {
    version: 12,
    name: 'retries: a reply and its task name the failed or cancelled one they answer again',
    up: (db) => [
      db.schema.alterTable('messages').addColumn('retry_of', text),
      db.schema.alterTable('tasks').addColumn('retry_of', text),
      // A retry looks up whether its reply was retried already; only retries are in it.
      db.schema
        .createIndex('messages_retry_of')
        .on('messages')
        .column('retry_of')
        .where(sql<boolean>`retry_of is not null`),
    ],
  },
  {
    version: 13,
    name: 'search: the words of thread titles, questions, answers, task names and task logs (store/search-index.ts)',
    up: (db, dialect) => [
      db.schema
        .createTable('search_docs')
        .addColumn('id', dialect === 'sqlite' ? 'integer' : 'bigserial', (c) => c.primaryKey())
        .addColumn('kind', text, (c) => c.notNull())
        .addColumn('record_id', text, (c) => c.notNull())
        .addColumn('field', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('body', text)
        // PostgreSQL: the words, under the GIN index. SQLite: the words until they are moved into search_words,
        // 256 texts at a time (search-index.ts, MERGE_EVERY).
        .$call((t) =>
          dialect === 'postgres'
            ? t.addColumn('words', sql`tsvector`, (c) => c.notNull())
            : t.addColumn('pending', text),
        ),
      dialect === 'postgres'
        ? // fastupdate (GIN's default) queues new entries and merges them in bulk, which keeps an insert cheap.
          db.schema.createIndex('search_docs_words').on('search_docs').using('gin').column('words')
        : // Contentless (the words live only in the index) and detail=none (no positions: an AND of prefixes
          // needs none), the smallest FTS5 index there is; `ascii` splits at the spaces between the words only.
          raw(
            "CREATE VIRTUAL TABLE search_words USING fts5(words, content='', tokenize='ascii', detail='none', columnsize=0)",
          ),
    ],
    backfill: backfillSearch,
  },
  {
    version: 14,
    name: 'task and message lists by index whatever their filter; task totals kept as tasks change',
    up: (db, dialect) => [
      // A list is newest first (by id, time-ordered), so each filter has an index ending in id: a page is then a
      // walk of one index range, or of one range per status merged (store/tasks.ts), never a read and sort of
      // every match. The (status, created_at) index gives way to (status, id); `created_at` alone serves the
      // statistics since a time.
      db.schema.dropIndex('tasks_status'),
      db.schema.createIndex('tasks_status').on('tasks').columns(['status', 'id']),
      db.schema.createIndex('tasks_module').on('tasks').columns(['module', 'status', 'id']),
      db.schema.createIndex('tasks_kind').on('tasks').columns(['kind', 'status', 'id']),
      db.schema.createIndex('tasks_created').on('tasks').column('created_at'),
      // The queue's index gains the id, so that its newest are read in order without sorting the ties.
      db.schema.dropIndex('messages_active'),
      db.schema
        .createIndex('messages_active')
        .on('messages')
        .columns(['created_at', 'id'])
        .where(sql<boolean>`status in ('pending', 'processing')`),
      // The newest messages, and the newest that failed or were cancelled (an entry made once, on the final
      // status): `GET /messages` without a thread walks these instead of sorting the table.
      db.schema.createIndex('messages_created').on('messages').columns(['created_at', 'id']),
      db.schema
        .createIndex('messages_unsuccessful_created')
        .on('messages')
        .columns(['created_at', 'id'])
        .where(sql<boolean>`status in ('failed', 'cancelled')`),
      ...taskTotals(db, dialect),
    ],
  },
  {
    version: 15,
    name: "exchange: schemas and query templates (the bundled ones published), a structured reply's value and checking",
    up: (db) => exchangeTables(db),
    backfill: publishBundled,
  },
  {
    version: 16,
    name: 'workflows: definitions, runs and their steps',
    up: (db) => workflowTables(db),
  },
  {
    version: 17,
    name: "workflows: a step's detail (skip reason, approval, routing) and the items of forEach steps",
    up: (db) => workflowFlowTables(db),
    // workflow@1.1.0 joins the bundled schemas.
    backfill: publishBundled,
  },
  {
    version: 18,
    name: 'asks from inside an answer: the reply a question was asked from, and who asked it',
    up: (db) => askChainColumns(db),
  },
  {
    version: 19,
    name: 'A2A: the tasks outside agents start, kept as the protocol writes them',
    up: (db) => a2aTaskTable(db),
  },
  {
    version: 20,
    name: "A2A: push-notification configs as webhook watches on their task's reply",
    up: (db) => a2aPushColumns(db),
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The advisory lock migrations hold on PostgreSQL (an arbitrary constant, "cc" in its high bytes). */
const MIGRATION_LOCK = 0x63630002;

const CREATE_LEDGER =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)';

async function lock(tx: WriteTx, db: Database): Promise<void> {
  if (db.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
}

/**
 * Brings the schema up to date, or up to version `upTo` when given (the bulk loader writes rows as one version
 * stores them, then migrates the rest of the way as any upgraded database would); answers the versions applied now
 * (empty when it already was).
 */
export async function migrate(db: Database, upTo = SCHEMA_VERSION): Promise<number[]> {
  return db.write(async (tx) => {
    await lock(tx, db);
    await tx.run(CREATE_LEDGER);
    const rows = await tx.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...done);
    if (newest > SCHEMA_VERSION) {
      throw new HubError(
        'schema_too_new',
        `the database at ${db.location} has schema version ${newest}, newer than this claude-comms understands (${SCHEMA_VERSION}); upgrade claude-comms or use another database`,
        { details: { databaseVersion: newest, codeVersion: SCHEMA_VERSION } },
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version) || m.version > upTo) continue;
      for (const statement of m.up(db.builder, db.dialect)) await tx.run(statement.compile());
      await m.backfill?.(db.dialect, tx);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** The newest applied migration, 0 for an empty database. */
export async function schemaVersion(db: Database): Promise<number> {
  const row = await db.read.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return Number(row?.v ?? 0);
}
