/**
 * What the hook runner writes about each watch: how far it has delivered (the cursor), the counts and the last
 * error. Every write is conditional on the cursor the runner last read and on the watch being live, so a watch
 * removed meanwhile, or advanced by another runner on the same database, is noticed rather than overwritten.
 */
import type { Database } from '../store/database.js';
import type { WatchesTable } from '../store/schema.js';
import { type Watch, watchFromRow } from './watches.js';

/** A live watch as the runner delivers it, secret included. */
export interface LiveWatch extends Omit<Watch, 'secret'> {
  secret: string | null;
}

/** How a step of delivery ended, written with the new cursor. */
export interface Outcome {
  /** The notification was delivered. */
  delivered?: boolean;
  /** It was given up: why. */
  error?: string;
  /** A message watch reported its message's end: it is removed (event `watch.removed`, reason `finished`). */
  finished?: boolean;
}

function live(row: WatchesTable): LiveWatch {
  return { ...watchFromRow(row), secret: row.secret };
}

/** Reads and writes the runner's progress on watches. */
export class DeliveryRecords {
  constructor(private readonly db: Database) {}

  /** Every live watch, oldest first. */
  async live(): Promise<LiveWatch[]> {
    const rows = await this.db.read.all<WatchesTable>(
      'SELECT * FROM watches WHERE removed_at IS NULL ORDER BY created_at, id',
    );
    return rows.map(live);
  }

  /** The watch while it is live. */
  async load(id: string): Promise<LiveWatch | undefined> {
    const row = await this.db.read.get<WatchesTable>('SELECT * FROM watches WHERE id = ? AND removed_at IS NULL', [id]);
    return row ? live(row) : undefined;
  }

  /**
   * Moves the cursor from `from` to `to` and records how the step ended, in one statement: a delivery is marked
   * done exactly when its position is. False when the watch was removed or its cursor is no longer `from`.
   */
  advance(id: string, from: string, to: string, outcome: Outcome = {}): Promise<boolean> {
    return this.db.write(async (tx) => {
      const now = new Date().toISOString();
      const changed = await tx.run(
        `UPDATE watches SET cursor = ?, delivered = delivered + ?, failures = 0, last_error = COALESCE(?, last_error),
         updated_at = ?, removed_at = ? WHERE id = ? AND cursor = ? AND removed_at IS NULL`,
        [to, outcome.delivered ? 1 : 0, outcome.error ?? null, now, outcome.finished ? now : null, id, from],
      );
      if (changed && outcome.finished) tx.emit({ type: 'watch.removed', data: { watchId: id, reason: 'finished' } });
      return changed > 0;
    });
  }

  /**
   * Records a failed attempt of the delivery after `cursor`: `failures` attempts so far and the error. The count
   * is stored so that the give-up rule holds across restarts. False when the watch was removed or moved on.
   */
  async recordFailure(id: string, cursor: string, failures: number, error: string): Promise<boolean> {
    const changed = await this.db.write((tx) =>
      tx.run(
        'UPDATE watches SET failures = ?, last_error = ?, updated_at = ? WHERE id = ? AND cursor = ? AND removed_at IS NULL',
        [failures, error, new Date().toISOString(), id, cursor],
      ),
    );
    return changed > 0;
  }
}
