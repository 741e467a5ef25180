import type { Database } from './database.js';

/**
 * What a SELECT in a write transaction appends to lock the rows it reads: ` FOR UPDATE` on PostgreSQL, where row
 * locks exist; nothing on SQLite, whose write transaction already excludes every other writer.
 */
export function rowLock(db: Pick<Database, 'dialect'>): string {
  return db.dialect === 'postgres' ? ' FOR UPDATE' : '';
}
