/**
 * Bulk loading of finished history into a new database: rows written straight into their tables, hundreds to a
 * statement and thousands to a transaction. The scale benchmarks fill databases of 100,000 and 1,000,000 asks
 * this way (bench/scale-fill.ts) in minutes, where the ask path and a worker would take most of an hour.
 *
 * Rows go in as schema version 12 stores them; `finish` then migrates the database the rest of the way, as any
 * database of that version is upgraded, so what a later migration derives from existing rows (an index, a
 * counter) is derived here the same way. The rows are trusted as given: nothing is validated and the events are
 * stored as they come, with their own times, numbered in the order given. Whoever builds them mirrors what the hub
 * writes (bench/scale-data.ts, checked against the hub's own reads in test/integration/bulk-load.test.ts).
 */
import { HubError } from '../domain/errors.js';
import type { Database } from './database.js';
import { migrate, schemaVersion } from './migrations.js';
import { openBackend } from './open.js';
import type { Schema } from './schema.js';

/** The schema version whose rows the loader writes. */
export const BULK_SCHEMA_VERSION = 12;

/** The columns written, per table, as version 12 has them (a later column takes its default or a migration's value). */
const COLUMNS = {
  modules: [
    'name',
    'description',
    'paused',
    'config',
    'created_at',
    'updated_at',
    'health',
    'health_error',
    'health_checked_at',
    'config_file',
    'removed_at',
  ],
  threads: ['id', 'title', 'created_by', 'created_at', 'updated_at'],
  messages: [
    'id',
    'thread_id',
    'author',
    'role',
    'content',
    'status',
    'error',
    'created_at',
    'started_at',
    'completed_at',
    'updated_at',
    'schema',
    'claimed_by',
    'lease_until',
    'attempts',
    'retry_of',
  ],
  tasks: [
    'id',
    'name',
    'module',
    'kind',
    'message_id',
    'workflow_run_id',
    'parent_id',
    'depends_on',
    'status',
    'progress',
    'iteration',
    'max_iterations',
    'criteria',
    'cost_usd',
    'max_cost_usd',
    'tokens_in',
    'tokens_out',
    'files_created',
    'files_modified',
    'session_id',
    'error',
    'created_at',
    'started_at',
    'completed_at',
    'updated_at',
    'retry_of',
  ],
  // The sequence number is the database's to give.
  events: ['at', 'type', 'thread_id', 'message_id', 'task_id', 'run_id', 'module', 'data'],
} as const;

type Table = keyof typeof COLUMNS;

/** One table's rows as the loader writes them: every column of version 12 (`events` without its `seq`). */
export type BulkRow<T extends Table> = Pick<Schema[T], Extract<(typeof COLUMNS)[T][number], keyof Schema[T]>>;

/** Rows to write in one transaction; parents before children (threads before their messages) within it. */
export type BulkRows = { [T in Table]?: readonly BulkRow<T>[] };

/** The order tables are written in: foreign keys point backwards along it. */
const ORDER: readonly Table[] = ['modules', 'threads', 'messages', 'tasks', 'events'];

/**
 * Parameters per statement. Many rows to a statement is what makes the loading fast (one call into the driver
 * per few hundred rows); both backends allow far more than this (SQLite 32,766, PostgreSQL 65,535).
 */
const PARAMETERS = 4000;

/** Writes rows of finished history into a new database (see the top of this file). */
export class BulkLoader {
  private constructor(private readonly db: Database) {}

  /** Opens `url` (SQLite or PostgreSQL), a new database, and creates the schema of version 12 in it. */
  static async open(url: string): Promise<BulkLoader> {
    const db = await openBackend(url);
    try {
      const applied = await migrate(db, BULK_SCHEMA_VERSION);
      if (applied[0] !== 1) {
        throw new HubError(
          'conflict',
          `the database at ${db.location} is not new (schema version ${await schemaVersion(db)}); bulk loading writes version ${BULK_SCHEMA_VERSION} rows into a new database`,
        );
      }
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return new BulkLoader(db);
  }

  /** Writes `rows` in one transaction, table by table in `ORDER`; events are numbered in the order given. */
  async insert(rows: BulkRows): Promise<void> {
    await this.db.write(async (tx) => {
      for (const table of ORDER) {
        const list = rows[table] as readonly Record<string, unknown>[] | undefined;
        if (!list?.length) continue;
        const columns = COLUMNS[table];
        const perStatement = Math.max(1, Math.floor(PARAMETERS / columns.length));
        const many = insertSql(table, columns, perStatement);
        let i = 0;
        for (; i + perStatement <= list.length; i += perStatement) {
          await tx.run(many, parameters(list, i, perStatement, columns));
        }
        // The rest one at a time: a statement per remainder's size would fill the statement cache.
        const one = insertSql(table, columns, 1);
        for (; i < list.length; i++) await tx.run(one, parameters(list, i, 1, columns));
      }
    });
  }

  /** Migrates the database to the current schema and closes it; answers the versions applied. */
  async finish(): Promise<number[]> {
    try {
      return await migrate(this.db);
    } finally {
      await this.db.close();
    }
  }

  /** Closes the database as it is (a load given up). */
  close(): Promise<void> {
    return this.db.close();
  }
}

function insertSql(table: Table, columns: readonly string[], rows: number): string {
  const row = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}`;
}

function parameters(
  list: readonly Record<string, unknown>[],
  from: number,
  count: number,
  columns: readonly string[],
): unknown[] {
  const values: unknown[] = [];
  for (let i = from; i < from + count; i++) {
    const row = list[i] as Record<string, unknown>;
    for (const column of columns) values.push(row[column]);
  }
  return values;
}
