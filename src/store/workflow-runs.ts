/**
 * Workflow definitions by name, runs and their steps: the rows the engine (workflows/engine.ts) reads and moves,
 * every change with its event in the same transaction. A run keeps the definition it started with.
 */
import { HubError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { assertStepTransition, type Status, type StepStatus } from '../domain/status.js';
import type { StepDetail, StepRun, WorkflowRun } from '../domain/workflow-types.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { rowLock } from './row-lock.js';
import type { StepRunsTable, WorkflowRunsTable, WorkflowsTable } from './schema.js';
import { StepItemStore } from './step-items.js';

export interface StoredDefinition {
  name: string;
  definition: unknown;
  hash: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The engine's place in the log, in `meta`. */
const POSITION_KEY = 'workflows.position';

const json = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

function stepFromRow(r: StepRunsTable, after: Map<string, string[]>): StepRun {
  return {
    stepId: r.step_id,
    kind: r.kind,
    after: after.get(r.step_id) ?? [],
    status: r.status as StepStatus,
    attempt: Number(r.attempt),
    output: json(r.output),
    error: r.error,
    reason: r.reason,
    taskId: r.task_id,
    messageId: r.message_id,
    costUsd: Number(r.cost_usd),
    notBefore: r.not_before,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    updatedAt: r.updated_at,
    detail: json(r.detail) as StepDetail | null,
  };
}

/** Each step's dependencies, and the definition's order of steps, from a run's stored definition. */
function shapeOf(definition: string): { after: Map<string, string[]>; order: Map<string, number> } {
  const steps = (JSON.parse(definition) as { steps?: { id: string; after?: string[] }[] }).steps ?? [];
  return { after: new Map(steps.map((s) => [s.id, s.after ?? []])), order: new Map(steps.map((s, i) => [s.id, i])) };
}

function definitionFromRow(r: WorkflowsTable): StoredDefinition {
  return {
    name: r.name,
    definition: JSON.parse(r.definition),
    hash: r.hash,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function runFromRow(r: WorkflowRunsTable, rows: StepRunsTable[]): WorkflowRun {
  const { after, order } = shapeOf(r.definition);
  const steps = rows
    .map((row) => stepFromRow(row, after))
    .sort((a, b) => (order.get(a.stepId) ?? 0) - (order.get(b.stepId) ?? 0));
  return {
    id: r.id,
    workflow: r.workflow,
    hash: r.hash,
    inputs: JSON.parse(r.inputs) as Record<string, unknown>,
    status: r.status as Status,
    output: json(r.output),
    error: r.error,
    costUsd: Number(r.cost_usd),
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    updatedAt: r.updated_at,
    steps,
  };
}

/** A step's changes: any column of its row, by its name in `StepRun`. */
export type StepChange = Partial<
  Pick<
    StepRun,
    | 'status'
    | 'attempt'
    | 'output'
    | 'error'
    | 'reason'
    | 'taskId'
    | 'messageId'
    | 'costUsd'
    | 'notBefore'
    | 'startedAt'
    | 'completedAt'
    | 'detail'
  >
>;
export type RunChange = Partial<
  Pick<WorkflowRun, 'status' | 'output' | 'error' | 'costUsd' | 'startedAt' | 'completedAt'>
>;

const STEP_COLUMNS: Record<keyof StepChange, string> = {
  status: 'status',
  attempt: 'attempt',
  output: 'output',
  error: 'error',
  reason: 'reason',
  taskId: 'task_id',
  messageId: 'message_id',
  costUsd: 'cost_usd',
  notBefore: 'not_before',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  detail: 'detail',
};
const RUN_COLUMNS: Record<keyof RunChange, string> = {
  status: 'status',
  output: 'output',
  error: 'error',
  costUsd: 'cost_usd',
  startedAt: 'started_at',
  completedAt: 'completed_at',
};

function sets<T extends object>(change: T, columns: Record<string, string>): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) continue;
    parts.push(`${columns[key]} = ?`);
    params.push(key === 'output' || key === 'detail' ? (value === null ? null : JSON.stringify(value)) : value);
  }
  return { sql: parts.join(', '), params };
}

export class WorkflowStore {
  /** The items of `forEach` steps. */
  readonly items = new StepItemStore();

  constructor(private readonly db: Database) {}

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.db.write(fn);
  }

  /** Where the engine has read the log to (undefined before it first ran). */
  async position(): Promise<string | undefined> {
    const row = await this.db.read.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [POSITION_KEY]);
    return row?.value;
  }

  async savePosition(cursor: string): Promise<void> {
    await this.db.write((tx) =>
      tx.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        POSITION_KEY,
        cursor,
      ]),
    );
  }

  async saveDefinition(name: string, definition: unknown, hash: string, by: string | null): Promise<StoredDefinition> {
    const now = new Date().toISOString();
    await this.db.write(async (tx) => {
      const inserted = await tx.run(
        'INSERT INTO workflows (name, definition, hash, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
        [name, JSON.stringify(definition), hash, by, now, now],
      );
      if (!inserted)
        await tx.run('UPDATE workflows SET definition = ?, hash = ?, updated_at = ? WHERE name = ?', [
          JSON.stringify(definition),
          hash,
          now,
          name,
        ]);
    });
    return this.definition(name);
  }

  async definition(name: string): Promise<StoredDefinition> {
    const r = await this.db.read.get<WorkflowsTable>('SELECT * FROM workflows WHERE name = ?', [name]);
    if (!r) {
      const names = (await this.definitions()).map((d) => d.name);
      throw new HubError(
        'not_found',
        `no workflow named ${name}${names.length ? ` (workflows: ${names.join(', ')})` : ''}`,
      );
    }
    return definitionFromRow(r);
  }

  async definitions(): Promise<StoredDefinition[]> {
    const rows = await this.db.read.all<WorkflowsTable>('SELECT * FROM workflows ORDER BY name');
    return rows.map(definitionFromRow);
  }

  /** Creates a pending run with its steps pending (event `workflow_run.created`). */
  async createRun(
    tx: WriteTx,
    run: {
      workflow: string;
      definition: unknown;
      hash: string;
      inputs: Record<string, unknown>;
      createdBy: string | null;
    },
    steps: { stepId: string; kind: string; taskId: string | null; done?: { output: unknown } }[],
    id = newId(),
  ): Promise<string> {
    const now = new Date().toISOString();
    await tx.run(
      `INSERT INTO workflow_runs (id, workflow, definition, hash, inputs, status, cost_usd, created_by, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
      [id, run.workflow, JSON.stringify(run.definition), run.hash, JSON.stringify(run.inputs), run.createdBy, now, now],
    );
    for (const s of steps)
      await tx.run(
        `INSERT INTO step_runs (run_id, step_id, kind, status, attempt, output, task_id, cost_usd, updated_at, completed_at)
         VALUES (?, ?, ?, ?, 0, ?, ?, 0, ?, ?)`,
        [
          id,
          s.stepId,
          s.kind,
          s.done ? 'complete' : 'pending',
          s.done ? JSON.stringify(s.done.output) : null,
          s.taskId,
          now,
          s.done ? now : null,
        ],
      );
    tx.emit({
      type: 'workflow_run.created',
      runId: id,
      module: run.createdBy,
      data: { workflow: run.workflow, hash: run.hash, steps: steps.map((s) => s.stepId) },
    });
    return id;
  }

  /** The run with its steps (in definition order is the caller's to restore), or `not_found`. */
  async run(id: string, client: SqlClient = this.db.read): Promise<WorkflowRun> {
    const r = await client.get<WorkflowRunsTable>(`SELECT * FROM workflow_runs WHERE id = ?`, [id]);
    if (!r) throw new HubError('not_found', `no workflow run with id ${id}`);
    const steps = await client.all<StepRunsTable>('SELECT * FROM step_runs WHERE run_id = ?', [id]);
    return runFromRow(r, steps);
  }

  /** The definition a run started with. */
  async runDefinition(id: string): Promise<unknown> {
    const r = await this.db.read.get<{ definition: string }>('SELECT definition FROM workflow_runs WHERE id = ?', [id]);
    if (!r) throw new HubError('not_found', `no workflow run with id ${id}`);
    return JSON.parse(r.definition);
  }

  /** The run and its steps, locked for the transaction (PostgreSQL; SQLite has one writer). */
  async lockRun(tx: WriteTx, id: string): Promise<{ run: WorkflowRun; definition: unknown }> {
    const r = await tx.get<WorkflowRunsTable>(`SELECT * FROM workflow_runs WHERE id = ?${rowLock(this.db)}`, [id]);
    if (!r) throw new HubError('not_found', `no workflow run with id ${id}`);
    const steps = await tx.all<StepRunsTable>('SELECT * FROM step_runs WHERE run_id = ?', [id]);
    return { run: runFromRow(r, steps), definition: JSON.parse(r.definition) };
  }

  /** Runs, newest first; `before` pages on. */
  async list(
    options: { status?: Status; limit?: number; before?: string; createdBy?: string } = {},
  ): Promise<WorkflowRun[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.createdBy !== undefined) {
      where.push('created_by = ?');
      params.push(options.createdBy);
    }
    if (options.status) {
      where.push('status = ?');
      params.push(options.status);
    }
    if (options.before) {
      where.push('id < ?');
      params.push(options.before);
    }
    const rows = await this.db.read.all<WorkflowRunsTable>(
      `SELECT * FROM workflow_runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, Math.min(Math.max(options.limit ?? 50, 1), 500)],
    );
    if (!rows.length) return [];
    const steps = await this.db.read.all<StepRunsTable>(
      `SELECT * FROM step_runs WHERE run_id IN (${rows.map(() => '?').join(', ')})`,
      rows.map((r) => r.id),
    );
    return rows.map((r) =>
      runFromRow(
        r,
        steps.filter((s) => s.run_id === r.id),
      ),
    );
  }

  /** The ids of runs not finished (pending, processing, paused): what an engine looks after. */
  async unfinished(): Promise<string[]> {
    const rows = await this.db.read.all<{ id: string }>(
      "SELECT id FROM workflow_runs WHERE status IN ('pending', 'processing', 'paused') ORDER BY id",
    );
    return rows.map((r) => r.id);
  }

  /** The run and step an ask step's reply belongs to (or the reply of one item of a `forEach` step). */
  async stepOfMessage(messageId: string): Promise<{ runId: string; stepId: string } | undefined> {
    const r = await this.db.read.get<{ run_id: string; step_id: string }>(
      'SELECT run_id, step_id FROM step_runs WHERE message_id = ?',
      [messageId],
    );
    return r ? { runId: r.run_id, stepId: r.step_id } : this.items.ofMessage(this.db.read, messageId);
  }

  /** Changes a step (event `step_run.status_changed` when its status moves, else `step_run.updated` for its detail). */
  async changeStep(
    tx: WriteTx,
    runId: string,
    step: StepRun,
    change: StepChange,
    module: string | null = null,
  ): Promise<void> {
    if (change.status && change.status !== step.status) assertStepTransition(step.stepId, step.status, change.status);
    const { sql, params } = sets({ ...change, updatedAt: undefined }, STEP_COLUMNS);
    const now = new Date().toISOString();
    await tx.run(`UPDATE step_runs SET ${sql ? `${sql}, ` : ''}updated_at = ? WHERE run_id = ? AND step_id = ?`, [
      ...params,
      now,
      runId,
      step.stepId,
    ]);
    if (change.status && change.status !== step.status)
      tx.emit({
        type: 'step_run.status_changed',
        runId,
        taskId: change.taskId ?? step.taskId,
        messageId: change.messageId ?? step.messageId,
        module,
        data: {
          stepId: step.stepId,
          from: step.status,
          to: change.status,
          attempt: change.attempt ?? step.attempt,
          ...(change.reason ? { reason: change.reason } : {}),
          ...(change.error ? { error: change.error } : {}),
        },
      });
    else if (change.detail)
      tx.emit({
        type: 'step_run.updated',
        runId,
        taskId: change.taskId ?? step.taskId,
        messageId: change.messageId ?? step.messageId,
        module,
        data: { stepId: step.stepId, detail: change.detail },
      });
    Object.assign(step, change, { updatedAt: now });
  }

  /** Changes a run (event `workflow_run.status_changed` when its status moves). */
  async changeRun(tx: WriteTx, run: WorkflowRun, change: RunChange & { reason?: string }): Promise<void> {
    const { reason, ...rest } = change;
    const { sql, params } = sets(rest, RUN_COLUMNS);
    const now = new Date().toISOString();
    await tx.run(`UPDATE workflow_runs SET ${sql ? `${sql}, ` : ''}updated_at = ? WHERE id = ?`, [
      ...params,
      now,
      run.id,
    ]);
    if (rest.status && rest.status !== run.status)
      tx.emit({
        type: 'workflow_run.status_changed',
        runId: run.id,
        module: run.createdBy,
        data: {
          from: run.status,
          to: rest.status,
          ...(reason ? { reason } : {}),
          ...(rest.error ? { error: rest.error } : {}),
        },
      });
    Object.assign(run, rest, { updatedAt: now });
  }
}
