/**
 * A2A push-notification configs, kept as the hub's own watches (migration 20): a config for an A2A task is a
 * webhook watch on the task's reply, whose row also names the task (`a2a_task_id`) and holds the config
 * (`a2a_push`, JSON of `A2APushTarget`) that the hook runner renders the A2A body and headers from. Delivery,
 * retries, the webhook target rules and durability are thus the hooks' (src/hooks/). This file reads a task's
 * configs back from those rows, and unlinks a deleted config's watch from its task.
 *
 * A config stays listed after its watch has finished (a message watch ends by itself once its reply has ended);
 * deleting a config removes its watch and unlinks it, so it is listed no more.
 */
import type { CompiledQuery, Kysely } from 'kysely';
import type { A2APushTarget } from '../exchange/a2a-push.js';
import type { Database } from './database.js';
import type { Schema, WatchesTable } from './schema.js';

export type { A2APushTarget };

type Statement = { compile(): CompiledQuery };

/** A config and the watch delivering it. */
export interface A2APushRecord {
  watchId: string;
  push: A2APushTarget;
  /** When the watch was removed or finished; null while it is live. */
  removedAt: string | null;
}

/** Migration 20: the columns that make a watch an A2A task's push config, and the index listing a task's. */
export function a2aPushColumns(db: Kysely<Schema>): Statement[] {
  return [
    db.schema.alterTable('watches').addColumn('a2a_task_id', 'text'),
    db.schema.alterTable('watches').addColumn('a2a_push', 'text'),
    db.schema.createIndex('watches_a2a_task').on('watches').columns(['a2a_task_id', 'created_at', 'id']),
  ];
}

/** The config a watch row holds, or null for an ordinary watch. */
export function a2aPushOf(row: Pick<WatchesTable, 'a2a_push'>): A2APushTarget | null {
  return row.a2a_push ? (JSON.parse(row.a2a_push) as A2APushTarget) : null;
}

/** Reads A2A tasks' push configs from their watches. */
export class A2APushRecords {
  constructor(private readonly db: Database) {}

  /** The configs of `taskId` not deleted (live or finished), oldest first. */
  async forTask(taskId: string): Promise<A2APushRecord[]> {
    const rows = await this.db.read.all<Pick<WatchesTable, 'id' | 'a2a_push' | 'removed_at'>>(
      'SELECT id, a2a_push, removed_at FROM watches WHERE a2a_task_id = ? ORDER BY created_at, id',
      [taskId],
    );
    return rows.flatMap((row) => {
      const push = a2aPushOf(row);
      return push ? [{ watchId: row.id, push, removedAt: row.removed_at }] : [];
    });
  }

  /** Takes a (removed) watch off its task's configs. */
  async unlink(watchId: string): Promise<void> {
    await this.db.write((tx) =>
      tx.run('UPDATE watches SET a2a_task_id = NULL, updated_at = ? WHERE id = ?', [new Date().toISOString(), watchId]),
    );
  }
}
