/**
 * The items of `forEach` steps: one row per item of the list a step runs over, with its attempt, output or error
 * and, for an ask, the reply it waits for. Written in the engine's transactions (workflows/for-each.ts); a step's
 * own row keeps the counts (`detail.items`) and its event says when they change.
 */
import type { Status } from '../domain/status.js';
import type { StepItem } from '../domain/workflow-types.js';
import type { SqlClient, WriteTx } from './database.js';
import type { StepItemsTable } from './schema.js';

const json = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

function itemFromRow(r: StepItemsTable): StepItem {
  return {
    index: Number(r.idx),
    status: r.status as Status,
    attempt: Number(r.attempt),
    input: json(r.input),
    output: json(r.output),
    error: r.error,
    reason: r.reason,
    messageId: r.message_id,
    costUsd: Number(r.cost_usd),
    notBefore: r.not_before,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

/** An item's changes, by its name in `StepItem`. */
export type ItemChange = Partial<
  Pick<
    StepItem,
    | 'status'
    | 'attempt'
    | 'output'
    | 'error'
    | 'reason'
    | 'messageId'
    | 'costUsd'
    | 'notBefore'
    | 'startedAt'
    | 'completedAt'
  >
>;

const COLUMNS: Record<keyof ItemChange, string> = {
  status: 'status',
  attempt: 'attempt',
  output: 'output',
  error: 'error',
  reason: 'reason',
  messageId: 'message_id',
  costUsd: 'cost_usd',
  notBefore: 'not_before',
  startedAt: 'started_at',
  completedAt: 'completed_at',
};

/** A step's items counted by status, and their cost. */
export interface ItemTally {
  total: number;
  complete: number;
  failed: number;
  running: number;
  costUsd: number;
}

/** The most items one read answers (a step has at most 10,000). */
const MAX_READ = 10_000;

export class StepItemStore {
  /** Creates a step's items, pending, in the list's order. */
  async create(tx: WriteTx, runId: string, stepId: string, items: unknown[]): Promise<StepItem[]> {
    const now = new Date().toISOString();
    // A few hundred rows a statement: within every backend's limit on parameters.
    for (let at = 0; at < items.length; at += 200) {
      const chunk = items.slice(at, at + 200);
      await tx.run(
        `INSERT INTO step_items (run_id, step_id, idx, status, attempt, input, cost_usd, updated_at) VALUES ${chunk
          .map(() => "(?, ?, ?, 'pending', 0, ?, 0, ?)")
          .join(', ')}`,
        chunk.flatMap((item, i) => [runId, stepId, at + i, JSON.stringify(item ?? null), now]),
      );
    }
    return items.map((input, index) => ({
      index,
      status: 'pending',
      attempt: 0,
      input: input ?? null,
      output: null,
      error: null,
      reason: null,
      messageId: null,
      costUsd: 0,
      notBefore: null,
      startedAt: null,
      completedAt: null,
    }));
  }

  /** A step's items in order. */
  async list(client: SqlClient, runId: string, stepId: string): Promise<StepItem[]> {
    const rows = await client.all<StepItemsTable>(
      'SELECT * FROM step_items WHERE run_id = ? AND step_id = ? ORDER BY idx',
      [runId, stepId],
    );
    return rows.map(itemFromRow);
  }

  /** One item of a step, or undefined. */
  async get(client: SqlClient, runId: string, stepId: string, index: number): Promise<StepItem | undefined> {
    const r = await client.get<StepItemsTable>(
      'SELECT * FROM step_items WHERE run_id = ? AND step_id = ? AND idx = ?',
      [runId, stepId, index],
    );
    return r ? itemFromRow(r) : undefined;
  }

  /** A step's items with `status`, in order (at most `limit`). */
  async withStatus(
    client: SqlClient,
    runId: string,
    stepId: string,
    status: Status,
    limit = MAX_READ,
  ): Promise<StepItem[]> {
    const rows = await client.all<StepItemsTable>(
      'SELECT * FROM step_items WHERE run_id = ? AND step_id = ? AND status = ? ORDER BY idx LIMIT ?',
      [runId, stepId, status, limit],
    );
    return rows.map(itemFromRow);
  }

  /**
   * The first `limit` pending items that may start at `now` (no back-off, or its time come), in order; and when
   * the soonest of the others may.
   */
  async ready(
    client: SqlClient,
    runId: string,
    stepId: string,
    now: string,
    limit: number,
  ): Promise<{ ready: StepItem[]; nextAt: string | null }> {
    const rows = await client.all<StepItemsTable>(
      `SELECT * FROM step_items WHERE run_id = ? AND step_id = ? AND status = 'pending'
         AND (not_before IS NULL OR not_before <= ?) ORDER BY idx LIMIT ?`,
      [runId, stepId, now, limit],
    );
    const next = await client.get<{ at: string | null }>(
      `SELECT min(not_before) AS at FROM step_items WHERE run_id = ? AND step_id = ? AND status = 'pending'
         AND not_before > ?`,
      [runId, stepId, now],
    );
    return { ready: rows.map(itemFromRow), nextAt: next?.at ?? null };
  }

  /** How many of a step's items there are by status, and what they cost. */
  async tally(client: SqlClient, runId: string, stepId: string): Promise<ItemTally> {
    const rows = await client.all<{ status: string; n: number | string; cost: number | string | null }>(
      'SELECT status, count(*) AS n, sum(cost_usd) AS cost FROM step_items WHERE run_id = ? AND step_id = ? GROUP BY status',
      [runId, stepId],
    );
    const of = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
    return {
      total: rows.reduce((sum, r) => sum + Number(r.n), 0),
      complete: of('complete'),
      failed: of('failed'),
      running: of('processing'),
      costUsd: rows.reduce((sum, r) => sum + Number(r.cost ?? 0), 0),
    };
  }

  /** Cancels a step's items not finished (its run or it ended). */
  async cancelOpen(tx: WriteTx, runId: string, stepId: string): Promise<void> {
    const now = new Date().toISOString();
    await tx.run(
      `UPDATE step_items SET status = 'cancelled', completed_at = ?, updated_at = ?
       WHERE run_id = ? AND step_id = ? AND status IN ('pending', 'processing')`,
      [now, now, runId, stepId],
    );
  }

  /** Removes a step's items (it runs over its list afresh: a retry). */
  async clear(tx: WriteTx, runId: string, stepId: string): Promise<void> {
    await tx.run('DELETE FROM step_items WHERE run_id = ? AND step_id = ?', [runId, stepId]);
  }

  /** Puts a step's failed and cancelled items back to pending (a retry: the completed ones stay). */
  async reset(tx: WriteTx, runId: string, stepId: string): Promise<void> {
    await tx.run(
      `UPDATE step_items SET status = 'pending', error = NULL, reason = NULL, message_id = NULL, not_before = NULL,
         started_at = NULL, completed_at = NULL, updated_at = ?
       WHERE run_id = ? AND step_id = ? AND status IN ('failed', 'cancelled', 'processing')`,
      [new Date().toISOString(), runId, stepId],
    );
  }

  async change(tx: WriteTx, runId: string, stepId: string, item: StepItem, change: ItemChange): Promise<void> {
    const parts: string[] = [];
    const params: unknown[] = [];
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) continue;
      parts.push(`${COLUMNS[key as keyof ItemChange]} = ?`);
      params.push(key === 'output' ? (value === null ? null : JSON.stringify(value)) : value);
    }
    await tx.run(
      `UPDATE step_items SET ${parts.join(', ')}, updated_at = ? WHERE run_id = ? AND step_id = ? AND idx = ?`,
      [...params, new Date().toISOString(), runId, stepId, item.index],
    );
    Object.assign(item, change);
  }

  /** The run, step and item an item's reply belongs to. */
  async ofMessage(client: SqlClient, messageId: string): Promise<{ runId: string; stepId: string } | undefined> {
    const r = await client.get<{ run_id: string; step_id: string }>(
      'SELECT run_id, step_id FROM step_items WHERE message_id = ?',
      [messageId],
    );
    return r ? { runId: r.run_id, stepId: r.step_id } : undefined;
  }
}
