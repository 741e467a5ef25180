/**
 * The task totals behind `GET /tasks/stats`: counts, cost and tokens per module and status, kept up to date by
 * triggers on `tasks` so that every write path counts (create, status change, cost, a module removed) without
 * each having to remember, and read in a time that does not grow with the number of tasks.
 *
 * SQLite has one writer at a time: its triggers add to the totals row directly. PostgreSQL has many: totals
 * rows changed by every task write would be locked until each transaction commits, serializing writers and
 * letting two transactions deadlock over two rows. There, the triggers append to `task_total_changes` instead
 * (no row is shared), and a reader folds those into `task_totals` (store/task-stats.ts) — a fold deletes the
 * changes it adds, in one statement, so two folding at once never count a change twice.
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import type { Dialect, Schema } from './schema.js';

type Statement = { compile(): CompiledQuery };

const raw = (db: Kysely<Schema>, text: string): Statement => ({ compile: () => sql.raw(text).compile(db) });

/** The columns a total adds up, in the order both tables keep them. */
const SUMS = ['n', 'cost_usd', 'tokens_in', 'tokens_out'] as const;

/** A task row's contribution to its totals, `sign` 1 (it arrives) or -1 (it leaves). */
const contribution = (row: 'new' | 'old', sign: 1 | -1) => {
  const s = sign === 1 ? '' : '-';
  return `coalesce(${row}.module, ''), ${row}.status, ${s}1, ${s}${row}.cost_usd, ${s}${row}.tokens_in, ${s}${row}.tokens_out`;
};

/** Adds the incoming `excluded` row to the totals row it collides with. */
const ADD = SUMS.map((c) => `${c} = task_totals.${c} + excluded.${c}`).join(', ');

/** What changes a task's totals: its status, module, cost or tokens. */
const CHANGED_COLUMNS = 'status, module, cost_usd, tokens_in, tokens_out';
const changed = (distinct: string) =>
  ['status', 'module', 'cost_usd', 'tokens_in', 'tokens_out'].map((c) => `old.${c} ${distinct} new.${c}`).join(' OR ');

/** DDL for the totals (migration 14), with a backfill from the tasks already there. */
export function taskTotals(db: Kysely<Schema>, dialect: Dialect): Statement[] {
  const big = dialect === 'sqlite' ? 'integer' : 'bigint';
  const table = (name: string, key: string) =>
    raw(
      db,
      `CREATE TABLE ${name} (${key}module text NOT NULL, status text NOT NULL, n ${big} NOT NULL,
       cost_usd double precision NOT NULL, tokens_in ${big} NOT NULL, tokens_out ${big} NOT NULL${
         key ? '' : ', PRIMARY KEY (module, status)'
       })`,
    );
  const statements = [
    table('task_totals', ''),
    raw(
      db,
      `INSERT INTO task_totals (module, status, ${SUMS.join(', ')})
       SELECT coalesce(module, ''), status, count(*), coalesce(sum(cost_usd), 0), coalesce(sum(tokens_in), 0),
         coalesce(sum(tokens_out), 0)
       FROM tasks GROUP BY coalesce(module, ''), status`,
    ),
  ];
  const insert = (target: string, row: 'new' | 'old', sign: 1 | -1, upsert: boolean) =>
    `INSERT INTO ${target} (module, status, ${SUMS.join(', ')}) VALUES (${contribution(row, sign)})${
      upsert ? ` ON CONFLICT (module, status) DO UPDATE SET ${ADD}` : ''
    };`;
  if (dialect === 'sqlite') {
    const into = (row: 'new' | 'old', sign: 1 | -1) => insert('task_totals', row, sign, true);
    return [
      ...statements,
      raw(db, `CREATE TRIGGER task_totals_insert AFTER INSERT ON tasks BEGIN ${into('new', 1)} END`),
      raw(db, `CREATE TRIGGER task_totals_delete AFTER DELETE ON tasks BEGIN ${into('old', -1)} END`),
      raw(
        db,
        `CREATE TRIGGER task_totals_update AFTER UPDATE OF ${CHANGED_COLUMNS} ON tasks
         WHEN ${changed('IS NOT')} BEGIN ${into('old', -1)} ${into('new', 1)} END`,
      ),
    ];
  }
  const into = (row: 'new' | 'old', sign: 1 | -1) => insert('task_total_changes', row, sign, false);
  return [
    ...statements,
    table('task_total_changes', 'id bigserial PRIMARY KEY, '),
    raw(
      db,
      `CREATE FUNCTION task_totals_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN ${into('old', -1)} END IF;
         IF TG_OP <> 'DELETE' THEN ${into('new', 1)} END IF;
         RETURN NULL;
       END $$`,
    ),
    raw(
      db,
      'CREATE TRIGGER task_totals_insert_delete AFTER INSERT OR DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION task_totals_change()',
    ),
    raw(
      db,
      `CREATE TRIGGER task_totals_update AFTER UPDATE OF ${CHANGED_COLUMNS} ON tasks FOR EACH ROW
       WHEN (${changed('IS DISTINCT FROM')}) EXECUTE FUNCTION task_totals_change()`,
    ),
  ];
}
