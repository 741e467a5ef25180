/**
 * What callers hand the hub: the inputs and options of its operations, and what an ask answers. They live here,
 * apart from the store that checks and stores them, so the client, the CLI and the HTTP API name them without
 * reaching into the store.
 */
import type { Status } from './status.js';
import type { InstanceState, MessageRole, ReplyStatus, SearchKind, TaskKind } from './types.js';
import type { WatchEvent } from './watch-events.js';

/** A question from one module to another. */
export interface AskInput {
  /** The asking module (need not be registered: people and scripts ask too). */
  from: string;
  /**
   * The answering module: registered, not paused, not removed from config.yaml. Give it or `capability`, not both.
   */
  to?: string;
  /**
   * Instead of `to`: a capability; the ask goes to the module `routeCapability` picks among those declaring it
   * (see registry/routing.ts), and its result names that module (`to`).
   */
  capability?: string;
  /**
   * The reply whose run makes this ask: an agent asking from inside its own answer. The hub follows these links
   * back and refuses (`conflict`) an ask that would wait on one of its own askers (A → B → A) or go deeper than its
   * depth limit, instead of letting the asks wait on each other.
   */
  via?: string;
  /** The question; with a `template`, added after the template's question (optional then). */
  prompt?: string;
  /** Continue this thread (the answering agent resumes its session in it); default: a new thread. */
  threadId?: string;
  /**
   * The JSON Schema the answer must satisfy: a published one (`name@version`, or `name` for its latest) or one
   * given here. The answer is then parsed and validated; an invalid one is repaired in further rounds.
   */
  schema?: Record<string, unknown> | string;
  /** A query template (`name@version` or `name`): its question, with `params`, and its answer schema. */
  template?: string;
  /** The template's parameters. */
  params?: Record<string, unknown>;
  /** Repair rounds a structured answer may have after its first (0 to 10, default 2). */
  maxRepairs?: number;
  /**
   * The most the answer's run may cost, in dollars (0 to 1,000,000), stored on its task; default: the answering
   * module's `maxCostUsd`, if it has one; null: no limit, whatever the module's default. A run past it is stopped
   * and fails with reason `budget_exceeded`.
   */
  maxCostUsd?: number | null;
  /** The most iterations (agent turns) the answer's run may take (1 to 1,000,000), likewise. */
  maxIterations?: number | null;
  /**
   * Makes a retry safe (an idempotency key: 1 to 255 printable ASCII characters). Asking again with the same id,
   * in the same scope, within 24 hours answers the original ask (`replayed: true`, the same ids, even once it is
   * answered) rather than asking twice; the same id with a different question is `conflict`.
   */
  requestId?: string;
  /**
   * Whose request ids these are. Default: the asking module (`from`). The HTTP API passes the token's id when the
   * request carries a token, so a key is the token's; without one (loopback) it is the asking module's.
   */
  requestScope?: string;
}

/** What `ask` returns at once. */
export interface AskResult {
  threadId: string;
  /** The question. */
  questionId: string;
  /** The reply to watch (`waitForCompletion`, `monitor.add`). */
  messageId: string;
  taskId: string;
  /** True when a request id matched an earlier ask: these are that ask's ids, and nothing new was asked. */
  replayed: boolean;
}

/** What a new thread may carry. */
export interface CreateThreadInput {
  title?: string | null;
  /** The module that opened the conversation. */
  createdBy?: string | null;
}

/** Which threads `list` answers. */
export interface ListThreadsOptions {
  /** At most this many (default 100, at most 1000). */
  limit?: number;
  /** Only the threads this module may see. */
  visibleTo?: string;
  /** Only the threads in which this module was asked (wrote a reply). */
  module?: string;
  /** Only the threads with a reply in one of these statuses (with `module`: a reply of that module). */
  status?: readonly ReplyStatus[];
}

/** What a new message carries. A question is created `complete`; a reply starts `pending`. */
export interface CreateMessageInput {
  /** A UUID chosen by the caller (so watchers can start before the message exists); default: a new one. */
  id?: string;
  threadId: string;
  /** The module that wrote (or will write) it. */
  author: string;
  role?: MessageRole;
  content?: string;
  status?: 'pending' | 'complete';
  /** For a reply: the JSON Schema its answer must satisfy. */
  schema?: Record<string, unknown> | null;
  /** For a retry: the failed or cancelled reply it answers again. */
  retryOf?: string | null;
  /** For a structured reply: which schema it is checked against (`name@version` or `inline`) and its repair rounds. */
  checking?: { schema: string; maxRepairs: number } | null;
  /** For a reply: the module that asked for it. */
  asker?: string | null;
  /** For a reply asked from inside another reply's answer: that reply (see store/ask-chain.ts). */
  via?: string | null;
}

/** Options of a status change. */
export interface TransitionOptions {
  /** Why, in a few words; kept in the status history. */
  reason?: string;
  /** For `failed` and `cancelled`: what went wrong, kept on the message. */
  error?: string;
}

/** What registering a module sets; on an update, omitted fields keep their values. */
export interface RegisterModuleInput {
  name: string;
  description?: string;
  /** Backend settings and anything else the runtime needs, stored as JSON. */
  config?: Record<string, unknown>;
}

/** What listing instances filters on. */
export interface ListInstancesOptions {
  module?: string;
  state?: InstanceState;
  /** Include terminated instances (default: only live ones). */
  all?: boolean;
}

/** What a new task carries. */
export interface CreateTaskInput {
  name: string;
  module?: string | null;
  kind?: TaskKind;
  messageId?: string | null;
  parentId?: string | null;
  dependsOn?: string[];
  /** Acceptance criteria, as texts. */
  criteria?: string[];
  maxIterations?: number | null;
  maxCostUsd?: number | null;
  /** For a retry's task: the task it answers again. */
  retryOf?: string | null;
  /** For a workflow step's task: its run. */
  workflowRunId?: string | null;
}

/** A change of a task's counters. Omitted fields stay as they are; lists of files are added to, not replaced. */
export interface TaskUpdate {
  progress?: number;
  iteration?: number;
  costUsd?: number;
  tokensIn?: number;
  tokensOut?: number;
  filesCreated?: string[];
  filesModified?: string[];
  sessionId?: string | null;
  maxIterations?: number | null;
  maxCostUsd?: number | null;
}

/** Counters and a status change, applied together by `tasks.change`. */
export interface TaskChange extends TaskUpdate {
  status?: Status;
  /** Why the status changed (kept in the event). */
  reason?: string;
  /** What went wrong, with `failed`. */
  error?: string;
}

/** What `tasks.list` filters on. */
export interface ListTasksOptions {
  status?: Status | Status[];
  module?: string;
  kind?: TaskKind;
  /** Words of its name or log, each the beginning of a word there, any case (the rules of `search`). */
  q?: string;
  /** Only tasks older than this task (the last id of the previous page). */
  before?: string;
  limit?: number;
  /** Only the tasks this module may see (see store/visibility.ts). */
  visibleTo?: string;
}

/** What `search` looks for. */
export interface SearchOptions {
  /** Words, each to begin a word of the text found, any case and accents; all of them must be there. */
  q: string;
  /** Only threads, only messages, or only tasks. */
  kind?: SearchKind;
  /** Only threads this module opened, messages it wrote, and tasks it works on. */
  module?: string;
  /** Only messages and tasks in one of these statuses (threads have none). */
  status?: Status | Status[];
  /** Only hits older than this one (the last id of the previous page). */
  before?: string;
  /** At most this many (default 20, at most 100). */
  limit?: number;
  /** Only what this module may see (see store/visibility.ts). */
  visibleTo?: string;
}

/** An entry of a task's action log. */
export interface TaskLogEntry {
  text: string;
  level?: 'info' | 'warn' | 'error';
  /** The tool or action (Write, Edit, Bash…). */
  action?: string;
  /** What it acted on (a path, a command). */
  target?: string;
  success?: boolean;
}

/** What a new watch follows and does. At least one target and at least one action. */
export interface CreateWatchInput {
  messageId?: string;
  threadId?: string;
  /** The replies of this module. */
  module?: string;
  /** Default: `['complete', 'failed', 'cancelled']`; `status` fires on every status change. */
  on?: WatchEvent[];
  /** A shell command (`/bin/sh -c`). */
  command?: string;
  /** An http(s) URL. */
  webhook?: string;
}

/** A question waiting for an interactive module (`backend: session`): in its inbox until its session answers. */
export interface InboxItem {
  /** The reply to give with `answer`. */
  replyId: string;
  threadId: string;
  /** The task tracking the reply. */
  taskId: string | null;
  /** Who asked. */
  from: string;
  /** The question as asked (with a schema, the answer must satisfy it: see `schema`). */
  question: string;
  /** `pending` until the session starts answering, then `processing`. */
  status: 'pending' | 'processing';
  /** What has been answered so far (an answer given in parts). */
  content: string;
  /** The answer's JSON Schema, when the ask gave one (the answer is then checked before it completes). */
  schema: Record<string, unknown> | null;
  askedAt: string;
  /** When the question fails with `timeout` unless answered (the module's `timeoutMs`); null without one. */
  expiresAt: string | null;
}

/** An interactive module's answer to a question in its inbox. */
export interface AnswerInput {
  /** The answer, or the next part of it. */
  content: string;
  /**
   * False: a part of the answer, appended, and the reply stays `processing` for more (streamed as any reply is).
   * True (the default): the answer is complete; with a schema it is checked first, and refused with the errors
   * (the reply stays open for a corrected answer) when it does not satisfy it.
   */
  final?: boolean;
}
