// A PostgreSQL connection that ends in the middle of a write transaction (the server restarted, the backend was
// terminated) fails that write and nothing else: the process goes on, and the next write works. Run in a child
// process, so that an `error` event nobody listens for would show as that process dying. A read the lost
// connection was running runs again on another.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../support/postgres.js';
import { until } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Waits until `database` runs a statement that sleeps, then ends every session on it (as an administrator would). */
async function endSessionsWhileSleeping(admin: pg.Client, database: string, what: string): Promise<void> {
  const name = decodeURIComponent(new URL(database).pathname.slice(1));
  await until(
    async () =>
      (await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%'", [name]))
        .rowCount === 1,
    10_000,
    what,
  );
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
}

describe.skipIf(inject('postgresUrl') === '')('a PostgreSQL connection lost in a write transaction', () => {
  it('fails that write, and the process goes on writing', async () => {
    const database = await createDatabase(inject('postgresUrl'));
    const code = `
const { openDatabase } = await import(${JSON.stringify(join(ROOT, 'src/store/open.ts'))});
const db = await openDatabase(${JSON.stringify(database)});
const slow = db.write((tx) => tx.run('SELECT pg_sleep(30)')).then(() => 'committed', (err) => 'failed: ' + err.message);
process.stdout.write('writing\\n');
process.stdout.write((await slow) + '\\n');
await db.write((tx) => tx.run('SELECT 1'));
process.stdout.write('wrote again\\n');
await db.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(() => out.includes('writing'), 20_000, 'the write to begin');
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    await endSessionsWhileSleeping(admin, database, 'the sleeping statement');
    await admin.end();
    expect(await exited, err).toBe(0);
    expect(out).toMatch(/failed: /);
    expect(out).toContain('wrote again');
  });
});

describe.skipIf(inject('postgresUrl') === '')('a PostgreSQL connection lost under a read', () => {
  it('runs the read again on another connection', async () => {
    const database = await createDatabase(inject('postgresUrl'));
    const { openDatabase } = await import('../../src/store/open.js');
    const db = await openDatabase(database);
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    try {
      const read = db.read.get<{ one: number }>('SELECT 1 AS one FROM (SELECT pg_sleep(0.5)) AS slept');
      await endSessionsWhileSleeping(admin, database, 'the sleeping read');
      expect(await read).toEqual({ one: 1 });
    } finally {
      await admin.end();
      await db.close();
    }
  });
});
