/** Totals over tasks (`GET /tasks/stats`): counts by status, cost and tokens, all time and since a given time. */
import { sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { STATUSES, type Status } from '../domain/status.js';
import type { TaskStats } from '../domain/types.js';
import { moduleName } from '../domain/validate.js';
import type { Database } from './database.js';
import { visibleTo } from './visibility.js';

/** Rounds away the drift of adding and taking away costs many times. */
const cents = (usd: number) => Math.round(usd * 1e10) / 1e10;

interface Sums {
  status: Status;
  n: number;
  cost: number | null;
  tin: number | null;
  tout: number | null;
}

/**
 * Counts by status, cost (all time and since `since`, default the start of today, UTC) and tokens; with
 * `visibleTo`, of the tasks that module may see.
 *
 * All-time figures come from the totals the triggers keep (task-totals-schema.ts): a few rows per module,
 * however many tasks there are. Figures since a time read the tasks created since then, by index. A module's
 * own view adds up the tasks it may see (it grows with them: totals per viewer would be kept for every module).
 */
export async function taskStats(
  db: Database,
  options: { since?: string; module?: string; visibleTo?: string } = {},
): Promise<TaskStats> {
  const since = options.since ?? `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  if (Number.isNaN(Date.parse(since))) throw new HubError('validation', `since must be an ISO-8601 time, got ${since}`);
  const module = options.module === undefined ? undefined : moduleName(options.module);
  const sums = sql<number>`sum(cost_usd)`;
  // Grouped by an expression: a status index would otherwise be walked whole to group in its order, where the
  // range of tasks_created holds only the tasks since then.
  const status = sql<Status>`status || ''`;
  let recent = db.builder
    .selectFrom('tasks')
    .select([
      status.as('status'),
      sql<number>`count(*)`.as('n'),
      sums.as('cost'),
      sql<null>`NULL`.as('tin'),
      sql<null>`NULL`.as('tout'),
    ])
    .where('created_at', '>=', since)
    .groupBy(status);
  // `module || ''` keeps the planner on tasks_created: the module's index would read all its tasks ever.
  if (module !== undefined) recent = recent.where(sql`module || ''`, '=', module);
  let all: Sums[];
  if (options.visibleTo !== undefined) {
    let q = db.builder
      .selectFrom('tasks')
      .select([
        'status',
        sql<number>`count(*)`.as('n'),
        sums.as('cost'),
        sql<number>`sum(tokens_in)`.as('tin'),
        sql<number>`sum(tokens_out)`.as('tout'),
      ])
      .where(visibleTo.tasks(db.builder, options.visibleTo))
      .groupBy('status');
    if (module !== undefined) q = q.where('module', '=', module);
    all = await db.read.all<Sums>(q.compile());
    recent = recent.where(visibleTo.tasks(db.builder, options.visibleTo));
  } else {
    await foldTotals(db);
    all = await db.read.all<Sums>(
      `SELECT status, sum(n) AS n, sum(cost_usd) AS cost, sum(tokens_in) AS tin, sum(tokens_out) AS tout
       FROM task_totals${module === undefined ? '' : ' WHERE module = ?'} GROUP BY status`,
      module === undefined ? [] : [module],
    );
  }
  const fresh = await db.read.all<Sums>(recent.compile());
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  let total = 0;
  let costUsd = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  for (const r of all) {
    if (!(r.status in byStatus)) continue;
    byStatus[r.status] = Number(r.n);
    total += Number(r.n);
    costUsd += Number(r.cost ?? 0);
    tokensIn += Number(r.tin ?? 0);
    tokensOut += Number(r.tout ?? 0);
  }
  let createdSince = 0;
  let costSinceUsd = 0;
  for (const r of fresh) {
    createdSince += Number(r.n);
    costSinceUsd += Number(r.cost ?? 0);
  }
  return {
    total,
    byStatus,
    costUsd: cents(costUsd),
    tokensIn,
    tokensOut,
    since,
    createdSince,
    costSinceUsd: cents(costSinceUsd),
  };
}

/**
 * PostgreSQL: adds the task changes its triggers recorded into the totals and deletes them, in one statement (a
 * second fold at the same time waits for the deleted rows and then finds them gone). Nothing to do on SQLite,
 * whose triggers add to the totals directly, nor when no change is waiting.
 */
export async function foldTotals(db: Database): Promise<void> {
  if (db.dialect !== 'postgres') return;
  const waiting = await db.read.get('SELECT 1 AS x FROM task_total_changes LIMIT 1');
  if (!waiting) return;
  await db.write((tx) =>
    tx.run(
      `WITH gone AS (DELETE FROM task_total_changes RETURNING module, status, n, cost_usd, tokens_in, tokens_out)
       INSERT INTO task_totals (module, status, n, cost_usd, tokens_in, tokens_out)
       SELECT module, status, sum(n), sum(cost_usd), sum(tokens_in), sum(tokens_out) FROM gone GROUP BY module, status
       ON CONFLICT (module, status) DO UPDATE SET n = task_totals.n + excluded.n,
         cost_usd = task_totals.cost_usd + excluded.cost_usd, tokens_in = task_totals.tokens_in + excluded.tokens_in,
         tokens_out = task_totals.tokens_out + excluded.tokens_out`,
    ),
  );
}
