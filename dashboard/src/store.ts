/**
 * The dashboard's client-side store: API resources cached in one immutable state, kept current by the event
 * stream. An event is applied to what is loaded when it carries enough to do so (apply.ts); a resource it
 * cannot update (module and instance lists, totals, a task's control view with its log) is refetched instead,
 * one request at a time. Resources load only while the stream is live, and events that arrive while one loads
 * are applied to it once it has (snapshots.ts), so nothing falls between a snapshot and the stream. What the
 * state holds: state.ts.
 */
import { useSyncExternalStore } from 'react';
import {
  type AgentControl,
  api,
  failure,
  type HubEvent,
  type Instance,
  type Message,
  type ModuleView,
  type Task,
  type TaskStats,
  type Thread,
  type ThreadSummary,
  type ThreadWithMessages,
  whenUnauthorized,
} from './api';
import {
  applyToMessages,
  applyToTasks,
  applyToThreads,
  type LiveMessage,
  liveMessage,
  toReread,
  withReread,
} from './apply';
import { addToFeed } from './feed';
import { LiveConnection } from './live';
import { loadExchange, loadSchema, readCancellation, readMessage } from './reads';
import { Refresher } from './refresher';
import { RunReads } from './run-reads';
import { Snapshots } from './snapshots';
import {
  ACTIVE_SHOWN,
  filtered,
  type State,
  TASK_PAGE,
  type TaskQuery,
  THREAD_MESSAGES_SHOWN,
  THREADS_SHOWN,
  type ThreadQuery,
} from './state';
import { setToken } from './token';

/** At most one render per 16 ms (a 60 Hz frame): a burst of events, such as a replay, is not a render per event. */
const FRAME_MS = 16;

/** Midnight today, local time: "today" on the overview is the viewer's day. */
function startOfToday(): string {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

/** The resources a view opens (a slot of the state, loaded once opened); the others load from the start. */
const OPENED = ['thread', 'tasks', 'panel', 'exchange', 'schema', 'runs', 'run'] as const;
type Resource = 'overview' | 'stats' | 'active' | 'threads' | (typeof OPENED)[number];

class Store {
  state: State = {
    connection: { state: 'connecting', attempt: 0, error: null },
    tokenRequired: false,
    feed: [],
    threadQuery: {},
    taskOf: {},
    loadError: null,
  };
  private readonly listeners = new Set<() => void>();
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private lastNotify = 0;
  private live = false;
  private readonly snapshots = new Snapshots();
  private readonly lookingUp = new Set<string>();
  private readonly access = { get: () => this.state, set: (patch: Partial<State>) => this.set(patch) };
  /** The Runs page's list and open run: `store.runs.openList(…)`, `store.runs.openRun(id)`. */
  readonly runs = new RunReads(this.access, (resource) => this.load(resource), this.snapshots);
  private readonly refresh: Record<Resource, Refresher> = {
    overview: new Refresher(() => this.loadOverview(), 250),
    stats: new Refresher(() => this.loadStats(), 500),
    active: new Refresher(() => this.loadActive(), 250),
    threads: new Refresher(() => this.loadThreads(), 250),
    thread: new Refresher(() => this.loadThread(), 50),
    tasks: new Refresher(() => this.loadTasks(), 250),
    panel: new Refresher(() => this.loadPanel(), 50),
    exchange: new Refresher(() => loadExchange(this.access), 250),
    schema: new Refresher(() => loadSchema(this.access), 50),
    runs: new Refresher(() => this.runs.loadList(), 250),
    run: new Refresher(() => this.runs.loadRun(), 100),
  };
  private readonly connection = new LiveConnection({
    history: (events) => this.set({ feed: events.reduce(addToFeed, this.state.feed) }),
    ready: (resumed) => this.onReady(resumed),
    event: (event) => this.onEvent(event),
    state: (state, detail) => {
      this.set({
        connection: { state, ...detail },
        ...(state === 'unauthorized' ? { tokenRequired: true } : {}),
      });
      if (state !== 'live') this.live = false;
    },
  });

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  start(): void {
    whenUnauthorized(() => this.set({ tokenRequired: true }));
    this.connection.start();
  }

  /** Uses `token` from now on and connects again with it. */
  submitToken(token: string): void {
    setToken(token);
    this.set({ tokenRequired: false });
    this.connection.reconnect();
  }

  openThread(id: string): void {
    const current = this.state.thread;
    if (current?.id === id && !current.error) return;
    this.set({ thread: { id, messages: [], loaded: false, error: null } });
    this.load('thread');
  }

  /** Lists the threads that `query` selects (after the list shown so far, which stays until they load). */
  filterThreads(query: ThreadQuery): void {
    this.set({ threadQuery: query });
    this.load('threads');
  }

  openTasks(query: TaskQuery): void {
    this.set({ tasks: { query, tasks: [], next: null, loaded: false, error: null } });
    this.load('tasks');
  }

  openPanel(id: string): void {
    const current = this.state.panel;
    if (current?.id === id && !current.error) return;
    this.set({ panel: { id, error: null } });
    this.load('panel');
  }

  /** Loads the panel's task again now (after an action on it). */
  reloadPanel(): void {
    this.load('panel');
  }

  /** Lists the schemas and templates (again, the lists shown so far staying until they load). */
  openExchange(): void {
    if (!this.state.exchange) this.set({ exchange: { error: null } });
    this.load('exchange');
  }

  openSchema(name: string): void {
    const current = this.state.schema;
    if (current?.name === name && !current.error) return;
    this.set({ schema: { name, error: null } });
    this.load('schema');
  }

  private set(patch: Partial<State>): void {
    this.state = { ...this.state, ...patch };
    if (this.notifyTimer !== undefined) return;
    const wait = this.lastNotify + FRAME_MS - performance.now();
    this.notifyTimer = setTimeout(
      () => {
        this.notifyTimer = undefined;
        this.lastNotify = performance.now();
        for (const listener of this.listeners) listener();
      },
      Math.max(0, wait),
    );
  }

  /** Loads `resource` now, or once the stream is live (a snapshot taken before could miss what happens between). */
  private load(resource: Resource): void {
    if (this.live) this.refresh[resource].schedule();
    else this.refresh[resource].ok = false;
  }

  private isOpen(resource: Resource): boolean {
    const opened = OPENED.find((r) => r === resource);
    return opened ? this.state[opened] !== undefined : true;
  }

  /**
   * The stream is live. Resumed, it replays what the page missed, so only resources never loaded or whose last
   * load failed are loaded; a fresh stream (first connection, or a cursor the service no longer knows) reloads all.
   */
  private onReady(resumed: boolean): void {
    this.live = true;
    if (!resumed) this.runs.restarted();
    for (const resource of Object.keys(this.refresh) as Resource[]) {
      if (this.isOpen(resource) && (!resumed || !this.refresh[resource].ok)) this.refresh[resource].schedule();
    }
  }

  private onEvent(e: HubEvent): void {
    this.snapshots.note(e);
    this.runs.note(e);
    const s = this.state;
    const type = e.type;
    const patch: Partial<State> = { feed: addToFeed(s.feed, e) };
    if (type.startsWith('module.') || type.startsWith('instance.')) this.load('overview');
    if (type.startsWith('task.')) {
      if (type === 'task.created' || type === 'task.status_changed') {
        this.load('stats');
        this.load('active');
      }
      // Also while the list is still loading: its answer may have been read before the task existed, and a new
      // task cannot be applied to a list (the reload waits for the load in flight, then runs once more).
      if (type === 'task.created' && s.tasks && !s.tasks.query.before) this.load('tasks');
      if (e.type === 'task.progressed' && e.data.changed.includes('costUsd')) this.load('stats');
      // The open thread's replies link to their tasks (others are looked up when shown).
      const { messageId, taskId } = e;
      if (type === 'task.created' && messageId && taskId && s.thread?.messages.some((m) => m.id === messageId)) {
        patch.taskOf = { ...s.taskOf, [messageId]: taskId };
      }
      if (s.active) patch.active = applyToTasks(s.active, e);
      if (s.tasks?.loaded) {
        const tasks = applyToTasks(s.tasks.tasks, e);
        if (tasks !== s.tasks.tasks) patch.tasks = { ...s.tasks, tasks };
      }
      if (s.panel && e.taskId === s.panel.id) this.load('panel');
    }
    if (s.threads && type.startsWith('thread.') && !filtered(s.threadQuery)) {
      patch.threads = applyToThreads(s.threads, e).slice(0, THREADS_SHOWN);
    }
    // A new reply or a status change moves a thread's tally, and may move it into or out of a filtered list.
    if (s.threads && (type === 'message.created' || type === 'message.status_changed')) {
      if (filtered(s.threadQuery) || s.threads.some((t) => t.id === e.threadId)) this.load('threads');
    }
    if (s.thread?.loaded && e.threadId === s.thread.id && type.startsWith('message.')) {
      const messages = applyToMessages(s.thread.messages, e);
      if (messages === 'gap') {
        if (s.thread.messages.length < THREAD_MESSAGES_SHOWN) this.load('thread');
      } else {
        if (messages !== s.thread.messages) patch.thread = { ...s.thread, messages };
        const reread = toReread(messages, e);
        if (reread) void this.rereadMessage(s.thread.id, reread);
      }
    }
    if (type === 'schema.published' || type === 'template.published') {
      if (s.exchange) this.load('exchange');
      if (e.type === 'schema.published' && s.schema?.name === e.data.name) this.load('schema');
    }
    this.set(patch);
  }

  private async loadOverview(): Promise<void> {
    try {
      const [modules, instances] = await Promise.all([
        api<{ modules: ModuleView[] }>('/modules'),
        api<{ instances: Instance[] }>('/instances'),
      ]);
      this.set({ modules: modules.modules, instances: instances.instances, loadError: null });
    } catch (err) {
      this.set({ loadError: failure(err) });
      throw err;
    }
  }

  private async loadStats(): Promise<void> {
    const stats = await api<TaskStats>(`/tasks/stats?since=${encodeURIComponent(startOfToday())}`);
    this.set({ stats });
  }

  private async loadActive(): Promise<void> {
    const active = await this.snapshots.take(
      () =>
        api<{ tasks: Task[] }>(`/tasks?status=pending,processing&limit=${ACTIVE_SHOWN}`).then(
          (r) => r.tasks as readonly Task[],
        ),
      applyToTasks,
    );
    this.set({ active });
  }

  /**
   * Loads the thread list. Events that arrive meanwhile and change a tally schedule the next load (onEvent), so
   * here only a new thread is applied — and not to a filtered list, which a thread without replies is not in.
   */
  private async loadThreads(): Promise<void> {
    const query = this.state.threadQuery;
    const params = new URLSearchParams({ limit: String(THREADS_SHOWN) });
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    const threads = await this.snapshots.take(
      () => api<{ threads: ThreadSummary[] }>(`/threads?${params}`).then((r) => r.threads as readonly ThreadSummary[]),
      (list, e) => (filtered(query) || !e.type.startsWith('thread.') ? list : applyToThreads(list, e)),
    );
    if (this.state.threadQuery === query) this.set({ threads });
  }

  private async loadThread(): Promise<void> {
    const slot = this.state.thread;
    if (!slot) return;
    const { id } = slot;
    const reread = new Set<string>();
    try {
      const loaded = await this.snapshots.take(
        async () => {
          const { messages, ...thread } = await api<ThreadWithMessages>(`/threads/${encodeURIComponent(id)}`);
          return { thread: thread as Thread, messages: messages.map(liveMessage) as readonly LiveMessage[] };
        },
        (data, e) => {
          if (e.threadId !== id) return data;
          const messages = applyToMessages(data.messages, e);
          if (messages === 'gap') return undefined;
          const stale = toReread(messages, e);
          if (stale) reread.add(stale);
          return { ...data, messages };
        },
      );
      if (this.state.thread?.id !== id) return;
      this.set({ thread: { id, ...loaded, loaded: true, error: null } });
      void this.findTasks(loaded.messages);
      for (const message of reread) void this.rereadMessage(id, message);
    } catch (err) {
      const current = this.state.thread;
      if (current?.id === id) this.set({ thread: { ...current, error: failure(err) } });
      throw err;
    }
  }

  /**
   * Reads one reply of the open thread again, brought up to date with the events received meanwhile, for what
   * its events do not carry (toReread). Reads may overlap: a value once read is kept (it is set once).
   */
  private async rereadMessage(threadId: string, id: string): Promise<void> {
    const fresh = await readMessage(this.snapshots, id).catch(() => undefined); // else shown as its events left it
    const slot = this.state.thread;
    if (!fresh || !slot?.loaded || slot.id !== threadId) return;
    const messages = withReread(slot.messages, fresh);
    if (messages !== slot.messages) this.set({ thread: { ...slot, messages } });
  }

  /** Looks up the task of each reply in the thread not yet known (replies made by `ask` have one). */
  private findTasks(messages: readonly LiveMessage[]): Promise<void> {
    return this.findTask(...messages.filter((m) => m.role === 'assistant').map((m) => m.id));
  }

  /** Looks up the tasks of the given replies (once each; a failed lookup is tried again on the next call). */
  async findTask(...messageIds: string[]): Promise<void> {
    const unknown = messageIds.filter((id) => !(id in this.state.taskOf) && !this.lookingUp.has(id)).slice(-50);
    const found: Record<string, string | null> = {};
    await Promise.all(
      unknown.map(async (id) => {
        this.lookingUp.add(id);
        try {
          found[id] = (await api<Message & { taskId: string | null }>(`/messages/${id}`)).taskId;
        } catch {
          // Shown without a task link for now.
        } finally {
          this.lookingUp.delete(id);
        }
      }),
    );
    if (Object.keys(found).length) this.set({ taskOf: { ...this.state.taskOf, ...found } });
  }

  private async loadTasks(): Promise<void> {
    const slot = this.state.tasks;
    if (!slot) return;
    const { query } = slot;
    const params = new URLSearchParams({ limit: String(TASK_PAGE) });
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    try {
      const page = await this.snapshots.take(
        () => api<{ tasks: Task[]; next: string | null }>(`/tasks?${params}`),
        (p, e) => ({ ...p, tasks: applyToTasks(p.tasks, e) as Task[] }),
      );
      if (this.state.tasks?.query !== query) return;
      this.set({ tasks: { query, tasks: page.tasks, next: page.next, loaded: true, error: null } });
    } catch (err) {
      const current = this.state.tasks;
      if (current?.query === query) this.set({ tasks: { ...current, error: failure(err) } });
      throw err;
    }
  }

  private async loadPanel(): Promise<void> {
    const slot = this.state.panel;
    if (!slot) return;
    const { id } = slot;
    try {
      const view = await api<AgentControl>(`/tasks/${encodeURIComponent(id)}/control`);
      let threadId = slot.threadId;
      if (threadId === undefined) {
        threadId = view.messageId ? (await api<Message>(`/messages/${view.messageId}`)).threadId : null;
      }
      const cancellation = view.status === 'cancelled' ? await readCancellation(view) : undefined;
      if (this.state.panel?.id === id) {
        this.set({ panel: { id, view, threadId, error: null, ...(cancellation ? { cancellation } : {}) } });
      }
    } catch (err) {
      const current = this.state.panel;
      if (current?.id === id) this.set({ panel: { ...current, error: failure(err) } });
      throw err;
    }
  }
}

/** The page's one store. */
export const store = new Store();

/** A part of the state; the component renders again when that part changes. Select parts, never build objects. */
export function useStore<T>(select: (state: State) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.state));
}
