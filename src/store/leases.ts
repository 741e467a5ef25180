/**
 * Leases on roles that must run in one place at a time however many services share the database (delivering
 * hooks, pruning the log). A holder keeps its lease by renewing it before it ends; a holder that dies stops
 * renewing, and another takes the lease once it has ended. Every change of holder raises the lease's `epoch`,
 * and renewing or releasing names the epoch it holds, so a holder that was frozen past its lease's end cannot
 * touch the lease its successor took.
 */
import { HubError } from '../domain/errors.js';
import type { Database } from './database.js';
import type { LeasesTable } from './schema.js';

/** A lease as held: by whom, in which epoch, until when. */
export interface Lease {
  name: string;
  holder: string;
  epoch: number;
  until: string;
}

const EXPIRED = '1970-01-01T00:00:00.000Z';

function lease(row: LeasesTable): Lease {
  return { name: row.name, holder: row.holder, epoch: Number(row.epoch), until: row.lease_until };
}

/** Takes, renews and releases leases. */
export class LeaseStore {
  constructor(private readonly db: Database) {}

  /**
   * Takes lease `name` for `holder` for `ms` milliseconds when nobody holds it (never held, released, or ended),
   * or when it is still `over` (a lease whose holder is known to be dead); answers it, with a new epoch, or
   * undefined when another holder's lease is still running.
   */
  async acquire(name: string, holder: string, ms: number, over?: Lease): Promise<Lease | undefined> {
    const now = new Date();
    const until = new Date(now.getTime() + ms).toISOString();
    const row = await this.db.write((tx) =>
      tx.get<LeasesTable>(
        `INSERT INTO leases (name, holder, epoch, lease_until, updated_at) VALUES (?, ?, 1, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = leases.epoch + 1,
           lease_until = excluded.lease_until, updated_at = excluded.updated_at
         WHERE leases.lease_until < excluded.updated_at OR (leases.holder = ? AND leases.epoch = ?)
         RETURNING *`,
        [name, holder, until, now.toISOString(), over?.holder ?? null, over?.epoch ?? null],
      ),
    );
    return row ? lease(row) : undefined;
  }

  /**
   * Extends a held lease to `ms` from now. False when it is no longer this holder's in this epoch (another took
   * it after it ended): the holder must stop what the lease covered.
   */
  async renew(held: Lease, ms: number): Promise<Lease | undefined> {
    const now = new Date();
    const until = new Date(now.getTime() + ms).toISOString();
    const changed = await this.db.write((tx) =>
      tx.run('UPDATE leases SET lease_until = ?, updated_at = ? WHERE name = ? AND holder = ? AND epoch = ?', [
        until,
        now.toISOString(),
        held.name,
        held.holder,
        held.epoch,
      ]),
    );
    return changed > 0 ? { ...held, until } : undefined;
  }

  /** Ends a held lease now, so another service may take it at once (nothing when it was already taken). */
  async release(held: Lease): Promise<void> {
    await this.db.write((tx) =>
      tx.run('UPDATE leases SET lease_until = ?, updated_at = ? WHERE name = ? AND holder = ? AND epoch = ?', [
        EXPIRED,
        new Date().toISOString(),
        held.name,
        held.holder,
        held.epoch,
      ]),
    );
  }

  /** Lease `name` as stored (possibly ended), or undefined when it was never taken. */
  async get(name: string): Promise<Lease | undefined> {
    if (name.length === 0 || name.length > 200)
      throw new HubError('validation', 'a lease name has 1 to 200 characters');
    const row = await this.db.read.get<LeasesTable>('SELECT * FROM leases WHERE name = ?', [name]);
    return row ? lease(row) : undefined;
  }
}
