// Writes made by different callbacks of one turn of the event loop — HTTP requests read together, timers due
// together — are committed in one group on both backends: the second runs before the first has committed, so a read
// from another connection does not see the first's row yet. A writer awaiting each of its writes still starts its
// next group at once (the group commit conformance suite and the benchmarks' row 1a cover that path).
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/open.js';
import { BACKENDS } from '../support/backends.js';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

describe.each(BACKENDS)('group commit across the callbacks of one turn on $name', (backend) => {
  it.skipIf(!backend.available)('commits writes from two timers due together in one group', async () => {
    const db = await openDatabase(await backend.freshDatabase());
    open.push(db);
    await db.write((tx) => tx.run('CREATE TABLE turn_probe (name text PRIMARY KEY)'));
    const name = (n: number) => `turn-${n}`;
    const register = (n: number) => (tx: Parameters<Parameters<Database['write']>[0]>[0]) =>
      tx.run('INSERT INTO turn_probe (name) VALUES (?)', [name(n)]);
    // The first timer's write lets the turn end before it is committed; the second, due in the same turn, looks
    // from the read connection for the first's row while its own write runs.
    const seen = await new Promise<unknown>((resolve, reject) => {
      setTimeout(() => void db.write(register(1)).catch(reject), 5);
      setTimeout(
        () =>
          void db
            .write(async (tx) => {
              await register(2)(tx);
              return db.read.get('SELECT name FROM turn_probe WHERE name = ?', [name(1)]);
            })
            .then(resolve, reject),
        5,
      );
    });
    expect(seen).toBeUndefined();
    const both = await db.read.all<{ name: string }>('SELECT name FROM turn_probe ORDER BY name');
    expect(both.map((r) => r.name)).toEqual([name(1), name(2)]);
  });
});
