// Group commit on PostgreSQL (src/store/postgres-commit.ts): concurrent writes share transactions, each in its own
// savepoint, so that one failing — by throwing, or by a statement PostgreSQL refuses — leaves the others whole;
// the events of those that commit form a gapless log in commit order. Two writes that wait on each other's row
// locks from different groups (a deadlock PostgreSQL breaks by failing one) both succeed: the one that failed is
// run again alone.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/open.js';
import { BACKENDS } from '../support/backends.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

const open: Database[] = [];
const clients: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
  await Promise.all(clients.splice(0).map((c) => c.end()));
});

async function setUp(): Promise<{ db: Database; admin: pg.Client }> {
  const url = await (postgres as NonNullable<typeof postgres>).freshDatabase();
  const db = await openDatabase(url);
  open.push(db);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  clients.push(admin);
  // `started`: now() is the start of the transaction that wrote the row, shared by every row it wrote.
  await admin.query('CREATE TABLE probe (id integer PRIMARY KEY, note text, started timestamptz DEFAULT now())');
  return { db, admin };
}

describe.skipIf(!postgres?.available)('PostgreSQL group commit', () => {
  it('commits concurrent writes together, each that fails rolled back alone, the rest whole with their events', async () => {
    const { db, admin } = await setUp();
    const committed: number[] = [];
    db.onCommit((events) => {
      for (const e of events) committed.push(e.seq);
    });
    await admin.query('INSERT INTO probe VALUES (-1, $1)', ['taken']);
    const WRITES = 300;
    const outcomes = await Promise.allSettled(
      Array.from({ length: WRITES }, (_, i) =>
        db.write(async (tx) => {
          await tx.run('INSERT INTO probe (id, note) VALUES (?, ?)', [i, `write ${i}`]);
          tx.emit({ type: 'thread.created', data: { title: `write ${i}`, createdBy: null } });
          // Every seventh throws after writing; every eleventh then breaks a constraint (PostgreSQL aborts the
          // statement, and with it everything after it in the transaction but for the savepoint).
          if (i % 7 === 0) throw new Error(`write ${i} refused`);
          if (i % 11 === 0) await tx.run('INSERT INTO probe (id, note) VALUES (?, ?)', [-1, 'again']);
          await tx.run('UPDATE probe SET note = ? WHERE id = ?', [`write ${i}, kept`, i]);
          return i;
        }),
      ),
    );

    const ok = (i: number) => i % 7 !== 0 && i % 11 !== 0;
    outcomes.forEach((outcome, i) => {
      if (ok(i)) expect(outcome).toEqual({ status: 'fulfilled', value: i });
      else if (i % 7 === 0)
        expect(outcome).toMatchObject({ status: 'rejected', reason: { message: `write ${i} refused` } });
      else expect(outcome).toMatchObject({ status: 'rejected', reason: { code: '23505' } }); // unique_violation
    });
    const kept = Array.from({ length: WRITES }, (_, i) => i).filter(ok);
    const rows = await admin.query<{ id: number; note: string }>(
      'SELECT id, note FROM probe WHERE id >= 0 ORDER BY id',
    );
    expect(rows.rows).toEqual(kept.map((id) => ({ id, note: `write ${id}, kept` })));

    // One event per write that committed, none of those that failed; sequence numbers without a gap, each
    // dispatched once (groups committing side by side may be heard in either order: the event log reorders).
    const events = await admin.query<{ seq: string; data: string }>('SELECT seq, data FROM events ORDER BY seq');
    const titles = events.rows.map((r) => (JSON.parse(r.data) as { title: string }).title);
    expect(titles.sort()).toEqual(kept.map((i) => `write ${i}`).sort());
    const seqs = events.rows.map((r) => Number(r.seq));
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    expect(committed.sort((a, b) => a - b)).toEqual(seqs);
    // Far fewer transactions than writes: they were committed in groups.
    const started = await admin.query<{ n: string }>('SELECT count(DISTINCT started) AS n FROM probe WHERE id >= 0');
    expect(Number(started.rows[0]?.n)).toBeLessThan(kept.length / 4);
  });

  it('runs again, alone, a write that a deadlock between two groups failed, so that both succeed', async () => {
    const { db, admin } = await setUp();
    await admin.query("INSERT INTO probe VALUES (1, 'one'), (2, 'two')");
    // Each write locks one row, waits until the other has locked its own, then wants the other's: a deadlock.
    let locked = 0;
    const bothLocked = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (locked >= 2) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    let runs = 0;
    const crossing = (first: number, second: number) =>
      db.write(async (tx) => {
        runs++;
        await tx.run('UPDATE probe SET note = note || ? WHERE id = ?', [` +${first}`, first]);
        locked++;
        await bothLocked;
        await tx.run('UPDATE probe SET note = note || ? WHERE id = ?', [` +${second}`, second]);
        return `${first} then ${second}`;
      });
    // The second starts once the first holds its lock, so that it is in a group of its own.
    const first = crossing(1, 2);
    while (locked < 1) await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.all([first, crossing(2, 1)]);
    expect(results).toEqual(['1 then 2', '2 then 1']);
    // At least one run again (on a loaded machine a run was once seen twice again, a cause not traced); what must
    // hold is below: each write committed once.
    expect(runs).toBeGreaterThanOrEqual(3);
    const rows = await admin.query<{ id: number; note: string }>('SELECT id, note FROM probe ORDER BY id');
    expect(rows.rows.map((r) => r.note.split(' ').sort())).toEqual([
      ['+1', '+1', 'one'],
      ['+2', '+2', 'two'],
    ]);
  });
});
