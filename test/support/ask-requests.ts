// Ages the idempotency keys of asks, so expiry is tested without waiting a day.
import { openDatabase } from '../../src/store/open.js';

/** Moves the creation time of every stored ask request key `hours` into the past. */
export async function ageAskRequests(database: string, hours: number): Promise<void> {
  const db = await openDatabase(database);
  try {
    const rows = await db.read.all<{ scope: string; key: string; created_at: string }>(
      'SELECT scope, key, created_at FROM ask_requests',
    );
    await db.write(async (tx) => {
      for (const r of rows) {
        const older = new Date(Date.parse(r.created_at) - hours * 3_600_000).toISOString();
        await tx.run('UPDATE ask_requests SET created_at = ? WHERE scope = ? AND key = ?', [older, r.scope, r.key]);
      }
    });
  } finally {
    await db.close();
  }
}
