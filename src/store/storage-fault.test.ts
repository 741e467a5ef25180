// The drivers' own errors, provoked for real where a test can (a full SQLite file through its page limit, a
// read-only connection, a file that is no database, a refused PostgreSQL connection), each turned into the code
// and sentence callers see; PostgreSQL's disk-full and read-only SQLSTATEs as the server sends them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { storageError } from './storage-fault.js';

function sqliteFailure(fn: (dir: string) => void): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'cc-fault-'));
  try {
    fn(dir);
  } catch (err) {
    return err;
  }
  throw new Error('expected SQLite to fail');
}

/** A PostgreSQL error as node-postgres builds it from the server's ErrorResponse. */
function serverError(code: string, message: string): Error {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
}

const sqlite = { dialect: 'sqlite' as const, location: '/data/comms.db' };
const postgres = { dialect: 'postgres' as const, location: 'postgres://cc@db.example/comms' };

describe('storage faults from SQLite', () => {
  it('a database at its size limit is storage_full, naming the file and what to do', () => {
    const err = sqliteFailure((dir) => {
      const db = new BetterSqlite3(join(dir, 'full.db'));
      db.exec('CREATE TABLE t (x)');
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
      db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000));
    });
    expect(storageError(err, sqlite)).toMatchObject({
      code: 'storage_full',
      message: expect.stringMatching(/^the SQLite database at \/data\/comms\.db is full .*free space/),
      cause: err,
    });
  });

  it('a read-only database is storage_unavailable saying it is read-only', () => {
    const err = sqliteFailure((dir) => {
      new BetterSqlite3(join(dir, 'ro.db')).exec('CREATE TABLE t (x)');
      new BetterSqlite3(join(dir, 'ro.db'), { readonly: true }).prepare('INSERT INTO t VALUES (1)').run();
    });
    expect(storageError(err, sqlite)).toMatchObject({
      code: 'storage_unavailable',
      message: expect.stringContaining('is read-only (SQLITE_READONLY'),
    });
  });

  it('a damaged file and one that cannot be opened are storage_unavailable', () => {
    const notADatabase = sqliteFailure((dir) => {
      writeFileSync(join(dir, 'bad.db'), 'x'.repeat(5000));
      new BetterSqlite3(join(dir, 'bad.db')).prepare('SELECT * FROM sqlite_master').all();
    });
    expect(storageError(notADatabase, sqlite)).toMatchObject({
      code: 'storage_unavailable',
      message: expect.stringContaining('is damaged (SQLITE_NOTADB): stop claude-comms and restore the file'),
    });
    const cannotOpen = sqliteFailure((dir) => new BetterSqlite3(join(dir, 'missing.db'), { fileMustExist: true }));
    expect(storageError(cannotOpen, sqlite)).toMatchObject({
      code: 'storage_unavailable',
      message: expect.stringContaining('cannot be opened (SQLITE_CANTOPEN'),
    });
  });

  it('a database locked by another writer is unavailable (try again), not a fault of storage', () => {
    const err = sqliteFailure((dir) => {
      const a = new BetterSqlite3(join(dir, 'busy.db'));
      const b = new BetterSqlite3(join(dir, 'busy.db'));
      b.pragma('busy_timeout = 0');
      a.exec('BEGIN IMMEDIATE');
      b.exec('BEGIN IMMEDIATE');
    });
    expect(storageError(err, sqlite)).toMatchObject({ code: 'unavailable' });
  });

  it('leaves other errors alone', () => {
    const err = sqliteFailure((dir) => {
      const db = new BetterSqlite3(join(dir, 'c.db'));
      db.exec('CREATE TABLE t (x UNIQUE)');
      db.exec('INSERT INTO t VALUES (1)');
      db.exec('INSERT INTO t VALUES (1)');
    });
    expect(storageError(err, sqlite)).toBeUndefined();
    expect(storageError(new Error('a bug'), sqlite)).toBeUndefined();
  });
});

describe('storage faults from PostgreSQL', () => {
  it('disk_full (53100) is storage_full', () => {
    const err = serverError('53100', 'could not extend file "base/16384/16402": No space left on device');
    expect(storageError(err, postgres)).toMatchObject({
      code: 'storage_full',
      message: expect.stringMatching(/^PostgreSQL at postgres:\/\/cc@db\.example\/comms has no disk space left/),
    });
  });

  it('a read-only transaction (25006), lack of resources and a shutting-down server are storage_unavailable', () => {
    const readOnly = storageError(serverError('25006', 'cannot execute INSERT in a read-only transaction'), postgres);
    expect(readOnly).toMatchObject({ code: 'storage_unavailable', message: expect.stringContaining('refuses writes') });
    for (const code of ['53000', '53200', '57P01', '57P03', '08006']) {
      expect(storageError(serverError(code, 'server said no'), postgres)?.code).toBe('storage_unavailable');
    }
  });

  it('a refused connection is storage_unavailable', async () => {
    // Port 1 on loopback: nothing listens there.
    const client = new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 });
    const err = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(storageError(err, postgres)).toMatchObject({
      code: 'storage_unavailable',
      message: expect.stringContaining('cannot reach PostgreSQL at postgres://cc@db.example/comms (ECONNREFUSED'),
    });
  });

  it('leaves a unique violation alone', () => {
    expect(storageError(serverError('23505', 'duplicate key'), postgres)).toBeUndefined();
  });
});
