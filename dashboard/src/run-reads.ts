/**
 * The Runs page's reads: a page of workflow runs (newest first, of one status or any) and the run it opens, kept
 * current by the stream without repeating the engine's logic here. A run's events say what moved, not what the
 * engine made of it (a step's output, the run's cost, the steps it started next), so a listed run that an event
 * is about is read again whole (`GET /runs/{id}`): the runs events touched, together, at most every 250 ms. A new
 * run, or a run moving into a filtered list, reloads the list; the open run is read again on each of its events
 * (the store's refresher spaces those reads).
 */
import { api, failure, type HubEvent, type WorkflowRun } from './api';
import type { StateAccess } from './reads';
import { Refresher } from './refresher';
import { RUN_PAGE, type RunQuery } from './state';

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

  constructor(
    private readonly store: StateAccess,
    private readonly load: Load,
  ) {}

  /** Lists the runs that `query` selects (its filter and page). */
  openList(query: RunQuery): void {
    this.store.set({ runs: { query, runs: [], next: null, loaded: false, error: null } });
    this.load('runs');
  }

  openRun(id: string): void {
    const current = this.store.get().run;
    if (current?.id === id && !current.error) return;
    this.store.set({ run: { id, error: null } });
    this.load('run');
  }

  /** Loads the open run again now (after an action on it). */
  reloadRun(): void {
    this.load('run');
  }

  /** Notes an event from the stream: what it makes stale is read again. */
  note(e: HubEvent): void {
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
      if (this.store.get().run?.id === id) this.store.set({ run: { id, run, error: null } });
    } catch (err) {
      const current = this.store.get().run;
      if (current?.id === id) this.store.set({ run: { ...current, error: failure(err) } });
      throw err;
    }
  }
}
