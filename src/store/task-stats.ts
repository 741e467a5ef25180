/** Totals over tasks (`GET /tasks/stats`): counts by status, cost and tokens, all time and since a given time. */
import { sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { STATUSES, type Status } from '../domain/status.js';
import type { TaskStats } from '../domain/types.js';
import { moduleName } from '../domain/validate.js';
import type { Database } from './database.js';
import { visibleTo } from './visibility.js';

/**
 * Counts by status, cost (all time and since `since`, default the start of today, UTC) and tokens; with
 * `visibleTo`, of the tasks that module may see.
 */
export async function taskStats(
  db: Database,
  options: { since?: string; module?: string; visibleTo?: string } = {},
): Promise<TaskStats> {
  const since = options.since ?? `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  if (Number.isNaN(Date.parse(since))) throw new HubError('validation', `since must be an ISO-8601 time, got ${since}`);
  let q = db.builder
    .selectFrom('tasks')
    .select([
      'status',
      sql<number>`count(*)`.as('n'),
      sql<number>`sum(cost_usd)`.as('cost'),
      sql<number>`sum(tokens_in)`.as('tin'),
      sql<number>`sum(tokens_out)`.as('tout'),
      sql<number>`sum(CASE WHEN created_at >= ${since} THEN 1 ELSE 0 END)`.as('n_since'),
      sql<number>`sum(CASE WHEN created_at >= ${since} THEN cost_usd ELSE 0 END)`.as('cost_since'),
    ])
    .groupBy('status');
  if (options.module !== undefined) q = q.where('module', '=', moduleName(options.module));
  if (options.visibleTo !== undefined) q = q.where(visibleTo.tasks(db.builder, options.visibleTo));
  const rows = await db.read.all<{
    status: Status;
    n: number;
    cost: number;
    tin: number;
    tout: number;
    n_since: number;
    cost_since: number;
  }>(q.compile());
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  let total = 0;
  let costUsd = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  let createdSince = 0;
  let costSinceUsd = 0;
  for (const r of rows) {
    byStatus[r.status] = Number(r.n);
    total += Number(r.n);
    costUsd += Number(r.cost ?? 0);
    tokensIn += Number(r.tin ?? 0);
    tokensOut += Number(r.tout ?? 0);
    createdSince += Number(r.n_since ?? 0);
    costSinceUsd += Number(r.cost_since ?? 0);
  }
  return {
    total,
    byStatus,
    costUsd,
    tokensIn,
    tokensOut,
    since,
    createdSince,
    costSinceUsd,
  };
}
