// Leases on every backend: one holder at a time; a lease ends, is renewed, released or taken over from a dead
// holder; a holder whose lease was taken after it ran out can neither renew nor release its successor's.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { LeaseStore } from '../../src/store/leases.js';
import { openDatabase } from '../../src/store/open.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('leases', (hubs) => {
  it('give a role to one holder at a time, with a new epoch at every change of holder', async () => {
    const hub = await hubs.open();
    const db = await openDatabase(hub.database);
    try {
      const leases = new LeaseStore(db);
      const a = await leases.acquire('hooks', 'host/1/a', 10_000);
      expect(a).toMatchObject({ name: 'hooks', holder: 'host/1/a', epoch: 1 });
      expect(await leases.acquire('hooks', 'host/2/b', 10_000)).toBeUndefined();
      // Another role is free.
      expect(await leases.acquire('workflows', 'host/2/b', 10_000)).toMatchObject({ epoch: 1 });

      // Renewed by its holder, in its epoch; renewed to end at once, it ends and another takes it.
      expect(await leases.renew(a as NonNullable<typeof a>, 10_000)).toBeDefined();
      expect(await leases.acquire('hooks', 'host/2/b', 10_000)).toBeUndefined();
      expect(await leases.renew(a as NonNullable<typeof a>, 1)).toBeDefined();
      await sleep(20);
      const b = await leases.acquire('hooks', 'host/2/b', 10_000);
      // The first can then neither renew nor release it.
      expect(b).toMatchObject({ holder: 'host/2/b', epoch: 2 });
      expect(await leases.renew(a as NonNullable<typeof a>, 10_000)).toBeUndefined();
      await leases.release(a as NonNullable<typeof a>);
      expect(await leases.get('hooks')).toMatchObject({ holder: 'host/2/b', epoch: 2 });

      // Released, it is free at once; taken over while still running only from the holder named.
      await leases.release(b as NonNullable<typeof b>);
      const c = await leases.acquire('hooks', 'host/3/c', 10_000);
      expect(c).toMatchObject({ epoch: 3 });
      expect(await leases.acquire('hooks', 'host/4/d', 10_000, b)).toBeUndefined();
      expect(await leases.acquire('hooks', 'host/4/d', 10_000, c)).toMatchObject({ holder: 'host/4/d', epoch: 4 });
    } finally {
      await db.close();
    }
  });

  it('let exactly one of many holders racing for a free role take it', async () => {
    const hub = await hubs.open();
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase(hub.database)));
    try {
      const won = await Promise.all(
        dbs.flatMap((db, i) =>
          Array.from({ length: 5 }, (_, j) => new LeaseStore(db).acquire('hooks', `host/${i}/${j}`, 10_000)),
        ),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
