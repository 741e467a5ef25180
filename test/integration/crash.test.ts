// Crash consistency: a writer process killed with SIGKILL in the middle of its writes loses nothing that was
// committed, and leaves every message's row exactly as its events describe it: no transaction half-applied.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, type HubEvent, type Message, openHub } from '../../src/index.js';
import { BACKENDS } from '../support/backends.js';
import { readLog, until } from '../support/wait.js';

const WRITER = fileURLToPath(new URL('../support/writer-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Messages the writer creates in one transaction (see writer-child.ts, crash mode). */
const BATCH = 5;
/** One kill per entry, after the subscriber has seen this many of that round's events. */
const KILL_AFTER = [300, 500, 700];
const WRITER_APP = 'cc-crash-writer';

const children = new Set<ChildProcess>();
const hubs = new Set<Hub>();

async function open(database: string): Promise<Hub> {
  const hub = await openHub({ database, retentionDays: 0 });
  hubs.add(hub);
  return hub;
}

async function close(hub: Hub): Promise<void> {
  hubs.delete(hub);
  await hub.close();
}

/** Starts an endless crash-mode writer; `exited` resolves with the signal that ended it. */
function startWriter(database: string): { child: ChildProcess; exited: Promise<NodeJS.Signals | null> } {
  const options = JSON.stringify({ lanes: 4, batch: BATCH });
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, 'crash', database, options], {
    cwd: ROOT,
    // node-postgres names its sessions after PGAPPNAME, which lets us tell the writer's sessions apart.
    env: { ...process.env, PGAPPNAME: WRITER_APP },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (signal) resolve(signal);
      else reject(new Error(`the writer stopped by itself (exit ${code}): ${err.trim() || '(no stderr)'}`));
    });
  });
  return { child, exited };
}

/** A message as its events say it must be. */
interface Rebuilt {
  status: string;
  content: string;
  error: string | null;
}

/** Replays message events; throws on an event that cannot follow the ones before it. */
function rebuild(log: HubEvent[]): Map<string, Rebuilt> {
  const messages = new Map<string, Rebuilt>();
  for (const e of log) {
    if (!e.messageId) continue;
    const m = messages.get(e.messageId);
    if (e.type === 'message.created') {
      expect(m, `message ${e.messageId} created twice`).toBeUndefined();
      messages.set(e.messageId, { status: String(e.data.status), content: String(e.data.content), error: null });
      continue;
    }
    if (!m) throw new Error(`event ${e.seq} (${e.type}) for message ${e.messageId} before its message.created`);
    if (e.type === 'message.status_changed') {
      expect(e.data.from, `event ${e.seq} starts from the status before it`).toBe(m.status);
      m.status = String(e.data.to);
      if (typeof e.data.error === 'string') m.error = e.data.error;
    } else if (e.type === 'message.content_updated') {
      m.content += String(e.data.delta);
      expect(e.data.length, `event ${e.seq} states the new length`).toBe([...m.content].length);
    }
  }
  return messages;
}

/**
 * SIGKILLs the writer at a moment it is inside a write transaction, as far as can be seen from outside, and
 * answers whether it was. SQLite: a probe `BEGIN IMMEDIATE` that finds the write lock taken, with the kill in
 * the same synchronous step. PostgreSQL: a writer session with a transaction that has written (has an xid).
 */
async function killMidTransaction(database: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5000;
  if (database.startsWith('sqlite:')) {
    const probe = new BetterSqlite3(database.slice('sqlite:'.length), { timeout: 0 });
    try {
      while (Date.now() < deadline) {
        try {
          probe.exec('BEGIN IMMEDIATE');
          probe.exec('ROLLBACK');
        } catch {
          child.kill('SIGKILL');
          return true;
        }
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      probe.close();
    }
  } else {
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL',
          [WRITER_APP],
        );
        if (Number(rows[0]?.n) > 0) {
          child.kill('SIGKILL');
          return true;
        }
      }
    } finally {
      await client.end();
    }
  }
  child.kill('SIGKILL');
  return false;
}

/** Waits until no other session is connected to the database, so nothing can still commit while we read. */
async function untilAlone(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    await until(
      async () => {
        const { rows } = await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        return Number(rows[0]?.n) === 0;
      },
      10_000,
      'the killed writer’s sessions to end',
    );
  } finally {
    await client.end();
  }
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`crash consistency on ${backend.name}`, () => {
    afterEach(async () => {
      for (const child of children) child.kill('SIGKILL');
      children.clear();
      await Promise.all([...hubs].map((h) => close(h)));
    });

    it('a writer killed mid-write loses no committed event and leaves state matching the log', async () => {
      const database = await backend.freshDatabase();
      const seenEver: HubEvent[] = [];
      for (const killAfter of KILL_AFTER) {
        const subscriber = await open(database);
        const start = await subscriber.events.head();
        const seen: HubEvent[] = [];
        await subscriber.events.subscribe({ after: start }, (e) => seen.push(e));
        const writer = startWriter(database);
        await until(() => seen.length >= killAfter, 30_000, `${killAfter} events from the writer`);
        expect(await killMidTransaction(database, writer.child), 'the kill caught a transaction open').toBe(true);
        expect(await writer.exited).toBe('SIGKILL');
        await close(subscriber);
        seenEver.push(...seen);
        if (backend.name === 'postgres') await untilAlone(database);

        // Reopen, as a user would after the crash, and read everything back.
        const hub = await open(database);
        const log = await readLog(hub);
        const seqs = log.map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        if (backend.name === 'sqlite') {
          // A rolled-back transaction gives its numbers back on SQLite: the log has no holes.
          expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
        }

        // Nothing a subscriber was told about is missing, and it is what was stored.
        const bySeq = new Map(log.map((e) => [e.seq, e]));
        const lost = seenEver.filter((e) => !bySeq.has(e.seq));
        expect(lost, 'delivered events missing after the crash').toEqual([]);
        for (const e of seenEver) expect(bySeq.get(e.seq)).toEqual(e);
        expect(seen.map((e) => e.seq)).toEqual([...seen.map((e) => e.seq)].sort((a, b) => a - b));

        // Every message row is exactly what its events add up to, and every created event has its row.
        const expected = rebuild(log);
        const rows: Message[] = [];
        for (const e of log) {
          if (e.type === 'thread.created' && e.threadId) {
            rows.push(...(await hub.messages.list({ threadId: e.threadId, limit: 5000 })));
          }
        }
        expect(rows.map((r) => r.id).sort()).toEqual([...expected.keys()].sort());
        const mismatched = rows
          .filter((r) => {
            const m = expected.get(r.id);
            return !m || m.status !== r.status || m.content !== r.content || m.error !== r.error;
          })
          .map((r) => ({ row: r, fromLog: expected.get(r.id) }));
        expect(mismatched, 'rows that disagree with their events').toEqual([]);

        // A transaction that created several messages is seen whole or not at all.
        const batches = new Map<string, number>();
        for (const r of rows) {
          const k = /^batch:(\d+):/.exec(r.content)?.[1];
          if (k !== undefined) batches.set(`${r.threadId}/${k}`, (batches.get(`${r.threadId}/${k}`) ?? 0) + 1);
        }
        expect(batches.size).toBeGreaterThan(0);
        expect([...batches].filter(([, n]) => n !== BATCH)).toEqual([]);
        await close(hub);

        if (backend.name === 'sqlite') {
          const file = new BetterSqlite3(database.slice('sqlite:'.length), { readonly: true });
          try {
            expect(file.pragma('integrity_check', { simple: true })).toBe('ok');
          } finally {
            file.close();
          }
        }
      }
    });
  });
}
