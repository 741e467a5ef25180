// Opening a hub: where the data goes, migrations (idempotent, concurrent, refusing newer schemas) and bad targets.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, openHub } from '../../src/index.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { BACKENDS } from '../support/backends.js';

const opened: Hub[] = [];
async function open(database: string, extra: Parameters<typeof openHub>[0] = {}): Promise<Hub> {
  const hub = await openHub({ database, ...extra });
  opened.push(hub);
  return hub;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()));
});

async function execute(url: string, statement: string): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length));
    db.exec(statement);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(statement);
  await client.end();
}

describe.each(BACKENDS)('migrations on $name', (backend) => {
  describe.skipIf(!backend.available)('', () => {
    it('run once at open and are a no-op the next time, keeping the data', async () => {
      const url = await backend.freshDatabase();
      const first = await open(url);
      expect(await first.schemaVersion()).toBe(SCHEMA_VERSION);
      const thread = await first.threads.create({ title: 'kept' });
      await first.close();
      const second = await open(url);
      expect(await second.schemaVersion()).toBe(SCHEMA_VERSION);
      expect((await second.threads.get(thread.id)).title).toBe('kept');
    });

    it('apply exactly once when several hubs open a fresh database at the same time', async () => {
      const url = await backend.freshDatabase();
      const hubs = await Promise.all(Array.from({ length: 4 }, () => open(url)));
      for (const hub of hubs) expect(await hub.schemaVersion()).toBe(SCHEMA_VERSION);
      await hubs[0]?.threads.create();
      expect((await hubs[3]?.threads.list())?.length).toBe(1);
    });

    it('refuse a database whose schema is newer than the code, saying so', async () => {
      const url = await backend.freshDatabase();
      await (await open(url)).close();
      await execute(
        url,
        `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${SCHEMA_VERSION + 1}, 'future', 'x')`,
      );
      await expect(openHub({ database: url })).rejects.toMatchObject({
        code: 'schema_too_new',
        message: expect.stringContaining(
          `has schema version ${SCHEMA_VERSION + 1}, newer than this claude-comms understands`,
        ),
      });
    });
  });
});

describe('opening', () => {
  it('defaults to SQLite at $CLAUDE_COMMS_HOME/comms.db, and CLAUDE_COMMS_DATABASE overrides it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cc-home-'));
    const saved = { home: process.env.CLAUDE_COMMS_HOME, db: process.env.CLAUDE_COMMS_DATABASE };
    try {
      process.env.CLAUDE_COMMS_HOME = home;
      delete process.env.CLAUDE_COMMS_DATABASE;
      expect((await open(undefined as unknown as string)).database).toBe(join(home, 'comms.db'));
      process.env.CLAUDE_COMMS_DATABASE = `sqlite:${join(home, 'other.db')}`;
      expect((await open(undefined as unknown as string)).database).toBe(join(home, 'other.db'));
    } finally {
      process.env.CLAUDE_COMMS_HOME = saved.home;
      process.env.CLAUDE_COMMS_DATABASE = saved.db;
      if (saved.home === undefined) delete process.env.CLAUDE_COMMS_HOME;
      if (saved.db === undefined) delete process.env.CLAUDE_COMMS_DATABASE;
    }
  });

  it('creates missing directories for a SQLite path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-dirs-'));
    const hub = await open(`sqlite:${join(dir, 'a', 'b', 'comms.db')}`);
    expect(hub.database).toBe(join(dir, 'a', 'b', 'comms.db'));
  });

  it('explains a SQLite path that cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-bad-'));
    await expect(openHub({ database: `sqlite:${dir}` })).rejects.toMatchObject({
      code: 'unavailable',
      message: `cannot open SQLite database at ${dir}: it is a directory`,
    });
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await expect(openHub({ database: `sqlite:${join(file, 'comms.db')}` })).rejects.toMatchObject({
      code: 'unavailable',
    });
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database, just text long enough to have a header '.repeat(20));
    await expect(openHub({ database: `sqlite:${garbage}` })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(garbage),
    });
  });

  it('explains an unreachable PostgreSQL server without leaking the password', async () => {
    const error = await openHub({ database: 'postgres://me:secret@127.0.0.1:1/db' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect((error as Error).message).toContain('cannot connect to PostgreSQL at postgres://me:***@127.0.0.1:1/db');
    expect((error as Error).message).not.toContain('secret');
  });

  it.each([
    ['mysql://localhost/db', "unsupported database 'mysql://localhost/db'"],
    ['', 'got an empty value'],
    ['sqlite:', 'names no file'],
    ['sqlite::memory:', 'cannot be shared'],
  ])('refuses the database %j with validation', async (database, message) => {
    await expect(openHub({ database })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining(message),
    });
  });

  it('refuses a durability other than normal or full', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-dur-'));
    await expect(openHub({ database: `sqlite:${join(dir, 'x.db')}`, durability: 'fast' as 'full' })).rejects.toThrow(
      "durability must be 'normal' or 'full', got 'fast'",
    );
    const full = await open(`sqlite:${join(dir, 'y.db')}`, { durability: 'full' });
    await full.threads.create();
  });
});
