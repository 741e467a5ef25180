/**
 * The Runs page's reads: a page of workflow runs (newest first, of one status or any) and the run it opens, kept
 * current by the stream without repeating the engine's logic here. A run's events say what moved, not what the
 * engine made of it (a step's output, the run's cost, the steps it started next), so a listed run that an event
 * is about is read again whole (`GET /runs/{id}`): the runs events touched, together, at most every 250 ms. A new
 * run, or a run moving into a filtered list, reloads the list; the open run is read again on each of its events
 * (the store's refresher spaces those reads).
 *
 * The open run's running steps also show what their programs report (step-progress.ts). Those reports are events
 * of the steps' tasks, not of the run, so they are applied to the open run only, and only for its steps' tasks;
 * each task is read once (`GET /tasks/{id}?logLimit=1`) when its step is first seen running, for what it reported
 * before the page heard — one small read per step that runs while the view is open, never a poll.
 */
import { api, failure, type HubEvent, type LogLine, type Task, type WorkflowRun } from './api';
import type { StateAccess } from './reads';
import { Refresher } from './refresher';
import type { Snapshots } from './snapshots';
import { RUN_PAGE, type RunQuery } from './state';
import { isReport, progressOf, withReport } from './step-progress';

/** Asks the store to (re)load the run list or the open run, now or once the stream is live. */
type Load = (resource: 'runs' | 'run') => void;

/** Whether `e` is about a workflow run (its envelope's `runId` names it). */
function runEvent(e: HubEvent): e is HubEvent & { runId: string } {
  return Boolean(e.runId) && (e.type.startsWith('workflow_run.') || e.type.startsWith('step_run.'));
}

export class RunReads {
  /** Listed runs that events were about since they were last read. */
  private readonly stale = new Set<string>();
  /** Runs that events were about while the list was loading: its answer may have been read before them. */
  private touched: Set<string> | undefined;
  private readonly reread = new Refresher(() => this.rereadStale(), 250);
  /** The open run's step tasks read (or being read) for their progress: each once. */
  private readonly progressRead = new Set<string>();

  constructor(
    private readonly store: StateAccess,
    private readonly load: Load,
    private readonly snapshots: Snapshots,
  ) {}

  /** Lists the runs that `query` selects (its filter and page). */
  openList(query: RunQuery): void {
    this.store.set({ runs: { query, runs: [], next: null, loaded: false, error: null } });
    this.load('runs');
  }

  openRun(id: string): void {
    const current = this.store.get().run;
    if (current?.id === id && !current.error) return;
    if (current?.id !== id) this.progressRead.clear();
    this.store.set({ run: { id, progress: current?.id === id ? current.progress : {}, error: null } });
    this.load('run');
  }

  /** The stream starts afresh (its events since the last were not replayed): step tasks are read again. */
  restarted(): void {
    this.progressRead.clear();
  }

  /** Loads the open run again now (after an action on it). */
  reloadRun(): void {
    this.load('run');
  }

  /** Notes an event from the stream: what it makes stale is read again; a step's report is applied. */
  note(e: HubEvent): void {
    if (isReport(e)) this.noteReport(e);
    if (!runEvent(e)) return;
    const s = this.store.get();
    if (s.run?.id === e.runId) this.load('run');
    const list = s.runs;
    if (!list) return;
    this.touched?.add(e.runId);
    const { status, before } = list.query;
    // A new run is on the first page (of a filter too: it may have moved on by the time the list is read).
    if (e.type === 'workflow_run.created') {
      if (!before) this.load('runs');
      return;
    }
    // A run taking the status a list is filtered by enters it, wherever its page is: read the page again.
    if (e.type === 'workflow_run.status_changed' && status && e.data.to === status) {
      this.load('runs');
      return;
    }
    if (list.runs.some((r) => r.id === e.runId)) {
      this.stale.add(e.runId);
      this.reread.schedule();
    }
  }

  /** Loads the page of runs the list asks for. */
  async loadList(): Promise<void> {
    const slot = this.store.get().runs;
    if (!slot) return;
    const { query } = slot;
    const params = new URLSearchParams({ limit: String(RUN_PAGE) });
    if (query.status) params.set('status', query.status);
    if (query.before) params.set('before', query.before);
    const touched = new Set<string>();
    this.touched = touched;
    try {
      const { runs } = await api<{ runs: WorkflowRun[] }>(`/runs?${params}`);
      if (this.store.get().runs?.query !== query) return;
      const next = runs.length === RUN_PAGE ? (runs.at(-1)?.id ?? null) : null;
      this.store.set({ runs: { query, runs, next, loaded: true, error: null } });
      for (const id of touched) if (runs.some((r) => r.id === id)) this.stale.add(id);
      if (this.stale.size) this.reread.schedule();
    } catch (err) {
      const current = this.store.get().runs;
      if (current?.query === query) this.store.set({ runs: { ...current, error: failure(err) } });
      throw err;
    } finally {
      if (this.touched === touched) this.touched = undefined;
    }
  }

  /** Reads the stale runs of the list again and puts them in its place; one no longer of its filter leaves it. */
  private async rereadStale(): Promise<void> {
    const ids = [...this.stale];
    this.stale.clear();
    if (!ids.length) return;
    let fresh: WorkflowRun[];
    try {
      fresh = await Promise.all(ids.map((id) => api<WorkflowRun>(`/runs/${encodeURIComponent(id)}`)));
    } catch (err) {
      this.load('runs'); // the whole page read again instead
      throw err;
    }
    const slot = this.store.get().runs;
    if (!slot?.loaded) return;
    const byId = new Map(fresh.map((r) => [r.id, r]));
    const { status } = slot.query;
    const runs = slot.runs.flatMap((r) => {
      const f = byId.get(r.id);
      return !f ? [r] : status && f.status !== status ? [] : [f];
    });
    this.store.set({ runs: { ...slot, runs } });
  }

  /** Loads the open run with its steps. */
  async loadRun(): Promise<void> {
    const slot = this.store.get().run;
    if (!slot) return;
    const { id } = slot;
    try {
      const run = await api<WorkflowRun>(`/runs/${encodeURIComponent(id)}`);
      const current = this.store.get().run;
      if (current?.id !== id) return;
      // A retried step has a new task: what the old one reported is dropped.
      const tasks = new Set(run.steps.flatMap((s) => s.taskId ?? []));
      const progress = Object.fromEntries(Object.entries(current.progress).filter(([task]) => tasks.has(task)));
      this.store.set({ run: { id, run, progress, error: null } });
      for (const s of run.steps) if (s.status === 'processing' && s.taskId) void this.readProgress(id, s.taskId);
    } catch (err) {
      const current = this.store.get().run;
      if (current?.id === id) this.store.set({ run: { ...current, error: failure(err) } });
      throw err;
    }
  }

  /** Applies a report of one of the open run's step tasks (a task of another run, or of none, is no concern). */
  private noteReport(e: HubEvent & { taskId: string }): void {
    const slot = this.store.get().run;
    if (!slot?.run?.steps.some((s) => s.taskId === e.taskId)) return;
    const before = slot.progress[e.taskId];
    const after = withReport(before, e);
    if (after !== before) this.store.set({ run: { ...slot, progress: { ...slot.progress, [e.taskId]: after } } });
  }

  /**
   * Reads what a running step's task reported before the page heard, once (again after a failed read, on the
   * run's next load), brought up to date with the reports that arrived while it was read.
   */
  private async readProgress(runId: string, taskId: string): Promise<void> {
    if (this.progressRead.has(taskId)) return;
    this.progressRead.add(taskId);
    try {
      const read = await this.snapshots.take(
        () => api<Task & { log: LogLine[] }>(`/tasks/${encodeURIComponent(taskId)}?logLimit=1`).then(progressOf),
        (p, e) => (isReport(e) && e.taskId === taskId ? withReport(p, e) : p),
      );
      const slot = this.store.get().run;
      if (slot?.id !== runId || !slot.run) return;
      this.store.set({ run: { ...slot, progress: { ...slot.progress, [taskId]: read } } });
    } catch {
      this.progressRead.delete(taskId); // shown from its events meanwhile
    }
  }
}
