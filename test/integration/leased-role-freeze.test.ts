// A service frozen past its lease (a stopped process, a long pause) wakes holding the lease in memory while another
// service has taken it. `LeasedRole.confirm()` — what a hook loop asks before each delivery — answers no then, even
// before the role's own renewal has found the lease lost; yes while the lease runs, renewing one near its end.
// SQLite: the freeze is the event loop blocked, and the takeover is made meanwhile through a connection of its own,
// synchronously, so the role's timers cannot run in between.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LeasedRole } from '../../src/events/leased-role.js';
import type { Database } from '../../src/store/database.js';
import { LeaseStore } from '../../src/store/leases.js';
import { openDatabase } from '../../src/store/open.js';

const open: { db: Database; role: LeasedRole }[] = [];
afterEach(async () => {
  for (const { db, role } of open.splice(0)) {
    await role.stop();
    await db.close();
  }
});

function freeze(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop blocked, as a stopped process's is
  }
}

describe('a leased role frozen past its lease', () => {
  it('confirms its lease while it runs, and not once another service took it during a freeze', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cc-freeze-')), 'comms.db');
    const db = await openDatabase(`sqlite:${path}`);
    const lost: string[] = [];
    const role = new LeasedRole(
      new LeaseStore(db),
      'hooks',
      'host/1/a',
      300,
      { held: () => undefined, lost: () => void lost.push('lost') },
      pino({ level: 'silent' }),
    );
    open.push({ db, role });
    await role.start();
    expect(role.holding).toBe(true);
    expect(await role.confirm()).toBe(true);

    // Near its end by the holder's clock, the lease is renewed before it is confirmed.
    freeze(260);
    const before = (await db.read.get<{ lease_until: string }>('SELECT lease_until FROM leases'))?.lease_until;
    expect(await role.confirm()).toBe(true);
    const after = (await db.read.get<{ lease_until: string }>('SELECT lease_until FROM leases'))?.lease_until;
    expect(Date.parse(after as string)).toBeGreaterThan(Date.parse(before as string));

    // Frozen past its end; another service takes the lease meanwhile.
    freeze(400);
    const other = new BetterSqlite3(path);
    other
      .prepare("UPDATE leases SET holder = 'host/2/b', epoch = epoch + 1, lease_until = ? WHERE name = 'hooks'")
      .run(new Date(Date.now() + 60_000).toISOString());
    other.close();
    // Still holding in memory, as a woken process is before its next turn; but not confirmed.
    expect(role.holding).toBe(true);
    expect(await role.confirm()).toBe(false);
    // The role's own turn then finds the lease lost and stops the work.
    await new Promise((r) => setTimeout(r, 250));
    expect(role.holding).toBe(false);
    expect(lost).toEqual(['lost']);
  });
});
