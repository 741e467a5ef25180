/** Tasks: tracked work with progress, iterations, criteria, cost, tokens, files and an action log. */
import { checkLimits } from '../domain/budget.js';
import { HubError } from '../domain/errors.js';
import { assertId, newId } from '../domain/ids.js';
import type { CreateTaskInput, ListTasksOptions, TaskChange, TaskLogEntry, TaskUpdate } from '../domain/inputs.js';
import { assertTransition, isTerminal, STATUSES, type Status } from '../domain/status.js';
import type { Criterion, Task, TaskKind, TaskStats } from '../domain/types.js';
import { list, moduleName, oneOf, optionalText, pageSize, text } from '../domain/validate.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { rowLock } from './row-lock.js';
import type { TasksTable } from './schema.js';
import { indexText, logText, recordsMatching, type SearchBatch, type SearchDoc } from './search-index.js';
import { statusUpdate } from './status-update.js';
import { type Counters, countersOf } from './task-counters.js';
import { foldTotals, taskStats } from './task-stats.js';
import { visibleTo } from './visibility.js';

export type { CreateTaskInput, ListTasksOptions, TaskChange, TaskLogEntry, TaskUpdate } from '../domain/inputs.js';

function fromRow(r: TasksTable): Task {
  return {
    id: r.id,
    name: r.name,
    module: r.module,
    kind: r.kind as TaskKind,
    messageId: r.message_id,
    workflowRunId: r.workflow_run_id,
    parentId: r.parent_id,
    dependsOn: JSON.parse(r.depends_on),
    status: r.status as Status,
    progress: Number(r.progress),
    iteration: Number(r.iteration),
    maxIterations: r.max_iterations === null ? null : Number(r.max_iterations),
    criteria: JSON.parse(r.criteria),
    costUsd: Number(r.cost_usd),
    maxCostUsd: r.max_cost_usd === null ? null : Number(r.max_cost_usd),
    tokensIn: Number(r.tokens_in),
    tokensOut: Number(r.tokens_out),
    filesCreated: JSON.parse(r.files_created),
    filesModified: JSON.parse(r.files_modified),
    sessionId: r.session_id,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    updatedAt: r.updated_at,
    retryOf: r.retry_of,
  };
}

const KINDS: readonly TaskKind[] = ['ask', 'workflow_step', 'manual'];

/** Reads and writes tasks. */
export class TaskStore {
  constructor(private readonly db: Database) {}

  /** Creates a pending task (event `task.created`); its name is indexed for search, or added to `batch`. */
  async create(input: CreateTaskInput, tx?: WriteTx, batch?: SearchBatch): Promise<Task> {
    const name = text(input.name, 'name', 500);
    const module = input.module == null ? null : moduleName(input.module);
    const kind = oneOf(input.kind ?? 'manual', 'kind', KINDS);
    if (input.messageId != null) assertId(input.messageId, 'message id');
    if (input.parentId != null) assertId(input.parentId, 'parent task id');
    if (input.retryOf != null) assertId(input.retryOf, 'retried task id');
    if (input.workflowRunId != null) assertId(input.workflowRunId, 'workflow run id');
    const dependsOn = list(input.dependsOn ?? [], 'dependsOn', 1000, (id, field) => {
      assertId(id, `task id in ${field}`);
      return id;
    });
    const criteria: Criterion[] = list(input.criteria ?? [], 'criteria', 1000, (c, field) => ({
      text: text(c, field, 2000),
      verified: false,
      verifiedAt: null,
    }));
    const { maxCostUsd, maxIterations } = checkLimits(input);
    const now = new Date().toISOString();
    const task: Task = {
      id: newId(),
      name,
      module,
      kind,
      messageId: input.messageId ?? null,
      workflowRunId: input.workflowRunId ?? null,
      parentId: input.parentId ?? null,
      dependsOn,
      status: 'pending',
      progress: 0,
      iteration: 0,
      maxIterations,
      criteria,
      costUsd: 0,
      maxCostUsd,
      tokensIn: 0,
      tokensOut: 0,
      filesCreated: [],
      filesModified: [],
      sessionId: null,
      error: null,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      updatedAt: now,
      retryOf: input.retryOf ?? null,
    };
    const insert = async (w: WriteTx) => {
      await w.run(
        `INSERT INTO tasks (id, name, module, kind, message_id, parent_id, depends_on, status, progress, iteration,
           max_iterations, criteria, cost_usd, max_cost_usd, tokens_in, tokens_out, files_created, files_modified,
           created_at, updated_at, retry_of, workflow_run_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, 0, ?, 0, 0, '[]', '[]', ?, ?, ?, ?)`,
        [
          task.id,
          name,
          module,
          kind,
          task.messageId,
          task.parentId,
          JSON.stringify(dependsOn),
          maxIterations,
          JSON.stringify(criteria),
          maxCostUsd,
          now,
          now,
          task.retryOf,
          task.workflowRunId,
        ],
      );
      await this.index(w, { recordId: task.id, field: 'name', createdAt: now, text: name }, batch);
      w.emit({
        type: 'task.created',
        taskId: task.id,
        messageId: task.messageId,
        ...(task.workflowRunId ? { runId: task.workflowRunId } : {}),
        module,
        data: {
          name,
          kind,
          criteria: criteria.map((c) => c.text),
          maxIterations,
          maxCostUsd,
          ...(task.retryOf ? { retryOf: task.retryOf } : {}),
        },
      });
    };
    if (tx) await insert(tx);
    else await this.db.write(insert);
    return task;
  }

  /** The task, or `not_found`. */
  async get(id: string, client: SqlClient = this.db.read): Promise<Task> {
    assertId(id, 'task id');
    const row = await client.get<TasksTable>(
      `SELECT * FROM tasks WHERE id = ?${client === this.db.read ? '' : rowLock(this.db)}`,
      [id],
    );
    if (!row) throw new HubError('not_found', `no task with id ${id}`);
    return fromRow(row);
  }

  /** The task tracking a reply, if it has one. */
  async forMessage(messageId: string): Promise<Task | undefined> {
    assertId(messageId, 'message id');
    const row = await this.db.read.get<TasksTable>('SELECT * FROM tasks WHERE message_id = ? LIMIT 1', [messageId]);
    return row ? fromRow(row) : undefined;
  }

  /**
   * Tasks, newest first, by status, module, kind and a search in their names; `before` (a task id) pages on
   * from the end of the previous page.
   *
   * Each filter walks an index ending in the id (migration 14), so a page costs the same however many tasks
   * there are. A module or kind without one status to walk is read one status at a time, each range newest
   * first, and the ranges merged in one statement: the merge sorts at most a page per status.
   */
  async list(options: ListTasksOptions = {}): Promise<Task[]> {
    const statuses =
      options.status === undefined
        ? undefined
        : [
            ...new Set(
              list(
                Array.isArray(options.status) ? options.status : [options.status],
                'status',
                STATUSES.length,
                (v, f) => oneOf(v, f, STATUSES),
              ),
            ),
          ];
    const module = options.module === undefined ? undefined : moduleName(options.module);
    const kind = options.kind === undefined ? undefined : oneOf(options.kind, 'kind', KINDS);
    // Words found by the search index (the same rules as search), evaluated once per range.
    const found = options.q === undefined ? undefined : recordsMatching(this.db, 'task', options.q);
    if (options.before !== undefined) assertId(options.before, 'before');
    const limit = options.limit === undefined ? 100 : pageSize(options.limit, 5000);
    const b = this.db.builder;
    const range = (status?: Status) => {
      let q = b.selectFrom('tasks').selectAll();
      if (status !== undefined) q = q.where('status', '=', status);
      if (module !== undefined) q = q.where('module', '=', module);
      if (kind !== undefined) q = q.where('kind', '=', kind);
      if (found !== undefined) q = q.where('id', 'in', found);
      if (options.before !== undefined) q = q.where('id', '<', options.before);
      if (options.visibleTo !== undefined) q = q.where(visibleTo.tasks(b, options.visibleTo));
      return q.orderBy('id', 'desc').limit(limit);
    };
    // One range: a status named alone, or no filter that an index leads with (the table's own order serves).
    const ranges = statuses ?? (module !== undefined || kind !== undefined ? STATUSES : undefined);
    if (ranges === undefined || ranges.length === 1) {
      return (await this.db.read.all<TasksTable>(range(ranges?.[0]).compile())).map(fromRow);
    }
    const [first, ...rest] = ranges.map((status, i) => b.selectFrom(range(status).as(`r${i}`)).selectAll());
    let merged = first as NonNullable<typeof first>;
    for (const other of rest) merged = merged.unionAll(other);
    const q = b.selectFrom(merged.as('m')).selectAll().orderBy('id', 'desc').limit(limit);
    return (await this.db.read.all<TasksTable>(q.compile())).map(fromRow);
  }

  /**
   * Counts by status, cost (all time and since `since`, default the start of today, UTC) and tokens; with
   * `visibleTo`, of the tasks that module may see.
   */
  async stats(options: { since?: string; module?: string; visibleTo?: string } = {}): Promise<TaskStats> {
    return taskStats(this.db, options);
  }

  /** Folds the task changes PostgreSQL's triggers recorded into the totals (see task-stats.ts). */
  foldTotals(): Promise<void> {
    return foldTotals(this.db);
  }

  /** Moves a task to `to` (event `task.status_changed`). */
  async transition(id: string, to: Status, options: { reason?: string; error?: string } = {}): Promise<Task> {
    const reason = optionalText(options.reason, 'reason', 2000);
    const error = optionalText(options.error, 'error', 20000);
    return this.db.write((tx) => this.moveStatus(tx, id, to, { reason, error }));
  }

  /** The status change itself, inside the caller's write transaction; options are taken as already validated. */
  async moveStatus(
    tx: WriteTx,
    id: string,
    to: Status,
    options: { reason?: string | null; error?: string | null } = {},
  ): Promise<Task> {
    const task = await this.get(id, tx);
    // A workflow step's task follows its step, which the engine moves: it is controlled through its run.
    if (task.kind === 'workflow_step')
      throw new HubError(
        'conflict',
        `task ${id} is a step of workflow run ${task.workflowRunId}: its status follows the run; pause, cancel or retry the run (claude-comms workflow …)`,
      );
    assertTransition('task', id, task.status, to);
    return (await this.moveFrom(tx, { id }, task.status, to, options)) as Task;
  }

  /**
   * Moves the task `id` — or the task of the reply `messageId` — from `from` to `to` in one statement, inside the
   * caller's write transaction, for a caller that knows which status the task should be at (a worker moving the
   * task of a reply it claimed). Answers the task, or undefined (nothing changed) when it is not at `from`.
   */
  async moveFrom(
    tx: WriteTx,
    key: { id: string } | { messageId: string },
    from: Status,
    to: Status,
    { reason, error }: { reason?: string | null; error?: string | null } = {},
  ): Promise<Task | undefined> {
    // A completed task is done: its progress reads 100 whatever was last reported.
    const [set, params] = statusUpdate(to, error ?? null, new Date().toISOString(), {
      sets: to === 'complete' ? ['progress = 100'] : [],
    });
    const where = 'id' in key ? 'id = ?' : 'id = (SELECT id FROM tasks WHERE message_id = ? LIMIT 1)';
    const row = await tx.get<TasksTable>(`UPDATE tasks SET ${set} WHERE ${where} AND status = ? RETURNING *`, [
      ...params,
      'id' in key ? key.id : key.messageId,
      from,
    ]);
    if (!row) return undefined;
    const task = fromRow(row);
    tx.emit({
      type: 'task.status_changed',
      taskId: task.id,
      messageId: task.messageId,
      module: task.module,
      data: { from, to, ...(reason ? { reason } : {}), ...(error ? { error } : {}) },
    });
    return task;
  }

  /** Changes counters (event `task.progressed` with the changed fields). A finished task refuses changes. */
  update(id: string, change: TaskUpdate): Promise<Task> {
    return this.change(id, change);
  }

  /**
   * Changes counters and then, when `status` is given, the status (events `task.progressed`, then
   * `task.status_changed`), in one transaction: a refused transition (`invalid_transition`) or a bad value
   * changes nothing at all.
   */
  async change(id: string, change: TaskChange): Promise<Task> {
    const counters = countersOf(change);
    const status = change.status === undefined ? undefined : oneOf(change.status, 'status', STATUSES);
    const reason = optionalText(change.reason, 'reason', 2000);
    const error = optionalText(change.error, 'error', 20000);
    return this.db.write(async (tx) => {
      const task = await this.updateIn(tx, id, counters);
      return status === undefined ? task : this.moveStatus(tx, id, status, { reason, error });
    });
  }

  /** Writes checked counters inside the caller's transaction (see `update`). */
  private async updateIn(tx: WriteTx, id: string, counters: Counters): Promise<Task> {
    const { fields, created, modified } = { ...counters, fields: { ...counters.fields } };
    const task = await this.get(id, tx);
    this.assertOpen(task);
    if (created) fields.files_created = JSON.stringify([...new Set([...task.filesCreated, ...created])]);
    if (modified) fields.files_modified = JSON.stringify([...new Set([...task.filesModified, ...modified])]);
    const columns = Object.keys(fields);
    if (!columns.length) return task;
    const changed = columns.map((c) => c.replace(/_([a-z])/g, (_, l: string) => l.toUpperCase()));
    fields.updated_at = new Date().toISOString();
    const q = this.db.builder.updateTable('tasks').set(fields).where('id', '=', id).compile();
    await tx.run(q);
    const after = await this.get(id, tx);
    tx.emit({
      type: 'task.progressed',
      taskId: id,
      messageId: task.messageId,
      module: task.module,
      data: {
        progress: after.progress,
        iteration: after.iteration,
        costUsd: after.costUsd,
        changed,
        ...(created ? { filesCreated: after.filesCreated } : {}),
        ...(modified ? { filesModified: after.filesModified } : {}),
        ...(fields.tokens_in !== undefined || fields.tokens_out !== undefined
          ? { tokensIn: after.tokensIn, tokensOut: after.tokensOut }
          : {}),
      },
    });
    return after;
  }

  /**
   * Marks a criterion (by index or exact text) verified (event `task.criterion_verified`). With `add`, a text the
   * task does not list is matched ignoring case and surrounding space, and when still not found is added to the
   * criteria as met (the event then carries `added: true`): an agent reporting "criterion met: …" on a task that
   * was never given that criterion has still met it, and a count of "0 of 0" would hide that.
   */
  async verifyCriterion(id: string, which: number | string, options: { add?: boolean } = {}): Promise<Task> {
    return this.db.write(async (tx) => {
      const task = await this.get(id, tx);
      this.assertOpen(task);
      let index = typeof which === 'number' ? which : task.criteria.findIndex((c) => c.text === which);
      let added = false;
      if (index < 0 && options.add && typeof which === 'string') {
        const wanted = which.trim().toLowerCase();
        index = task.criteria.findIndex((c) => c.text.trim().toLowerCase() === wanted);
        if (index < 0) {
          if (task.criteria.length >= 1000) {
            throw new HubError('validation', `task ${id} already has 1000 criteria; no more can be added`);
          }
          task.criteria.push({ text: text(which.trim(), 'criterion', 2000), verified: false, verifiedAt: null });
          index = task.criteria.length - 1;
          added = true;
        }
      }
      const criterion = task.criteria[index];
      if (!criterion) {
        throw new HubError(
          'not_found',
          `task ${id} has no criterion ${typeof which === 'number' ? `#${which}` : `'${which}'`} (it has ${task.criteria.length})`,
        );
      }
      if (criterion.verified) return task;
      const now = new Date().toISOString();
      criterion.verified = true;
      criterion.verifiedAt = now;
      await tx.run('UPDATE tasks SET criteria = ?, updated_at = ? WHERE id = ?', [
        JSON.stringify(task.criteria),
        now,
        id,
      ]);
      tx.emit({
        type: 'task.criterion_verified',
        taskId: id,
        messageId: task.messageId,
        module: task.module,
        data: {
          index,
          text: criterion.text,
          verified: task.criteria.filter((c) => c.verified).length,
          total: task.criteria.length,
          ...(added ? { added: true } : {}),
        },
      });
      return { ...task, updatedAt: now };
    });
  }

  /** Adds an entry to the task's action log (event `task.logged`), in `tx` when given. */
  async log(id: string, entry: TaskLogEntry, tx?: WriteTx): Promise<void> {
    const data = {
      level: oneOf(entry.level ?? 'info', 'level', ['info', 'warn', 'error'] as const),
      text: text(entry.text, 'text', 20000),
      ...(entry.action !== undefined ? { action: text(entry.action, 'action', 200) } : {}),
      ...(entry.target !== undefined ? { target: text(entry.target, 'target', 4096) } : {}),
      ...(entry.success !== undefined ? { success: Boolean(entry.success) } : {}),
    };
    const write = async (w: WriteTx) => {
      const task = await this.get(id, w);
      await w.run('UPDATE tasks SET updated_at = ? WHERE id = ?', [new Date().toISOString(), id]);
      await this.index(w, { recordId: id, field: 'log', createdAt: task.createdAt, text: logText(data) });
      w.emit({ type: 'task.logged', taskId: id, messageId: task.messageId, module: task.module, data });
    };
    if (tx) await write(tx);
    else await this.db.write(write);
  }

  /** Indexes a task's name or log entry for search (see store/search-index.ts), in `tx` or `batch`. */
  private index(tx: WriteTx, doc: Omit<SearchDoc, 'kind'>, batch?: SearchBatch): Promise<void> {
    return indexText(this.db.dialect, tx, { kind: 'task', ...doc }, batch);
  }

  private assertOpen(task: Task): void {
    if (isTerminal(task.status)) {
      throw new HubError('invalid_transition', `task ${task.id} is ${task.status}; it can no longer change`);
    }
  }
}
