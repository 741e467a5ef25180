/**
 * The shape of the dashboard's state: what the store holds of each resource, the filters and pages the views ask
 * for, and how much of each is shown.
 */
import type {
  AgentControl,
  Instance,
  ModuleView,
  QueryTemplate,
  SchemaSummary,
  SchemaVersion,
  Task,
  TaskStats,
  Thread,
  ThreadSummary,
  WorkflowRun,
} from './api';
import type { LiveMessage } from './apply';
import type { FeedEntry } from './feed';
import type { ConnectionState } from './live';
import type { ProgressOf } from './step-progress';

/** Threads listed: the newest, by creation. */
export const THREADS_SHOWN = 200;
/** Messages `GET /threads/{id}` returns: the first 1,000. Changes to later ones cannot be shown. */
export const THREAD_MESSAGES_SHOWN = 1000;
/** Unfinished tasks on the overview. */
export const ACTIVE_SHOWN = 25;
/** Tasks per page of the task list. */
export const TASK_PAGE = 50;
/** Runs per page of the run list. */
export const RUN_PAGE = 50;

export interface OpenThread {
  id: string;
  thread?: Thread;
  messages: readonly LiveMessage[];
  loaded: boolean;
  error: string | null;
}

/** The task list's filter and page (`before`: the last id of the previous page). */
export interface TaskQuery {
  status?: string;
  module?: string;
  q?: string;
  before?: string;
}

export interface TaskPage {
  query: TaskQuery;
  tasks: readonly Task[];
  /** `before` of the next (older) page; null on the last page. */
  next: string | null;
  loaded: boolean;
  error: string | null;
}

/** The thread list's filter: the module asked, and reply statuses (comma-separated, as the API takes them). */
export interface ThreadQuery {
  module?: string;
  status?: string;
}

/** How a cancelled task ended: when, and the reason given (who cancelled it, in words), with what it recorded. */
export interface Cancellation {
  at: string;
  reason: string | null;
  /** What the cancellation left as the task's or reply's error (the worker writes "cancelled"): not an error. */
  notes: string[];
}

export interface OpenPanel {
  id: string;
  view?: AgentControl;
  /** For a cancelled task, once read. */
  cancellation?: Cancellation;
  /** The thread of the task's reply, once known (null: the task has no reply). */
  threadId?: string | null;
  error: string | null;
}

/** The Schemas page's lists: loaded once it opens, loaded again when a schema or template is published. */
export interface ExchangeLists {
  schemas?: readonly SchemaSummary[];
  templates?: readonly QueryTemplate[];
  error: string | null;
}

/** The schema the Schemas page shows: every version of it, oldest first (as the API lists them). */
export interface OpenSchema {
  name: string;
  versions?: readonly SchemaVersion[];
  error: string | null;
}

/** The run list's filter and page (`before`: the last id of the previous page). */
export interface RunQuery {
  status?: string;
  before?: string;
}

/** Workflow runs, newest first; `next` is the `before` of the next (older) page, null on the last. */
export interface RunPage {
  query: RunQuery;
  runs: readonly WorkflowRun[];
  next: string | null;
  loaded: boolean;
  error: string | null;
}

/** The run the Runs page shows, with its steps in its definition's order. */
export interface OpenRun {
  id: string;
  run?: WorkflowRun;
  /** What its steps' tasks have reported (step-progress.ts), by task id. */
  progress: ProgressOf;
  error: string | null;
}

export interface State {
  connection: { state: ConnectionState; attempt: number; error: string | null };
  /** The service answered 401: the page asks for a token. */
  tokenRequired: boolean;
  modules?: readonly ModuleView[];
  instances?: readonly Instance[];
  stats?: TaskStats;
  active?: readonly Task[];
  threads?: readonly ThreadSummary[];
  /** The thread list's filter. */
  threadQuery: ThreadQuery;
  /** The latest events, newest first. */
  feed: readonly FeedEntry[];
  thread?: OpenThread;
  tasks?: TaskPage;
  panel?: OpenPanel;
  exchange?: ExchangeLists;
  schema?: OpenSchema;
  runs?: RunPage;
  run?: OpenRun;
  /** The task of each reply, as far as known (null: the message has none). */
  taskOf: Readonly<Record<string, string | null>>;
  /** Why the overview's resources could not be loaded, if they could not. */
  loadError: string | null;
}

/** Whether the thread list is narrowed by a filter. */
export const filtered = (query: ThreadQuery) => Boolean(query.module || query.status);
