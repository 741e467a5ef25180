/** Opens the backend a database URL names and brings its schema up to date. */
import { resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { HubError } from '../domain/errors.js';
import type { Database } from './database.js';
import { isPostgresUrl, sqlitePath } from './location.js';
import { migrate } from './migrations.js';
import type { PostgresOptions } from './postgres.js';
import { type Durability, SqliteDatabase } from './sqlite.js';

/** Backend options. */
export interface OpenDatabaseOptions {
  /** SQLite only: `normal` (default) or `full`. */
  durability?: Durability;
  /** PostgreSQL only. */
  postgres?: PostgresOptions;
  /**
   * Tests only: called with the SQLite connection that writes, once it is set up, so that a test can make a real
   * storage fault (`PRAGMA max_page_count` fills the database) and clear it again.
   */
  sqliteWriter?: (connection: BetterSqlite3.Database) => void;
}

/**
 * `sqlite:PATH`, a bare file path, or `postgres://…` / `postgresql://…`, its schema brought up to date. Anything
 * else is refused with `validation`, naming what was given.
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const db = await openBackend(url, options);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/** Opens the backend `url` names as `openDatabase` does, leaving its schema as it is (see bulk-load.ts). */
export async function openBackend(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new HubError('validation', 'database must be sqlite:PATH or postgres://…, got an empty value');
  }
  if (isPostgresUrl(url)) {
    // Loaded on demand: a SQLite-only hub never loads the PostgreSQL driver.
    const { PostgresDatabase } = await import('./postgres.js');
    return PostgresDatabase.connect(url, options.postgres);
  }
  if (url.startsWith('sqlite:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const path = sqlitePath(url);
    if (path === '') throw new HubError('validation', "database 'sqlite:' names no file; use sqlite:PATH");
    if (path === ':memory:') {
      throw new HubError(
        'validation',
        "an in-memory SQLite database cannot be shared by the hub's connections; use a file",
      );
    }
    const durability = options.durability ?? 'normal';
    if (durability !== 'normal' && durability !== 'full') {
      throw new HubError('validation', `durability must be 'normal' or 'full', got '${String(durability)}'`);
    }
    return new SqliteDatabase(resolve(path), durability, options.sqliteWriter);
  }
  throw new HubError(
    'validation',
    `unsupported database '${url.replace(/\/\/[^@/]*@/, '//***@')}': use sqlite:PATH or postgres://…`,
  );
}
