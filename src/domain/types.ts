/** The records claude-comms stores and the events that describe every change to them. */
import type { EventData, InstanceState } from './event-data.js';
import type { ValidationIssue } from './validation-issue.js';

export type { ValidationIssue };

import type { SnippetPart } from './search-text.js';
import { settingsSummary } from './settings-summary.js';

export type { InstanceState, SnippetPart };

import type { ObservedStatus, Status } from './status.js';

/** A conversation between modules. */
export interface Thread {
  id: string;
  title: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The statuses a reply (a message) can have: all but `paused`, which only runs have. */
export const REPLY_STATUSES = ['pending', 'processing', 'complete', 'failed', 'cancelled'] as const;
export type ReplyStatus = (typeof REPLY_STATUSES)[number];

/** A thread as the thread list shows it: who was asked in it and how their replies stand. */
export interface ThreadSummary extends Thread {
  /** The modules asked in the thread (the authors of its replies), in the order they were first asked. */
  asked: string[];
  /** Its replies, counted by status. */
  replies: Record<ReplyStatus, number>;
  /** Its newest reply: who writes it, where it stands and when it was asked; null before the first question. */
  latestReply: { module: string; status: ReplyStatus; createdAt: string } | null;
}

/**
 * Why a reply failed: the `reason` of the status change that ends it (and its task) `failed` or `cancelled` — a
 * run's end, or `module_removed` when its module left config.yaml. `budget_exceeded`: the run's cost or iterations
 * passed its task's limit (see budget.ts); `session_not_found`: the agent's session was gone (the worker starts a
 * new one, so a reply ends with it only if that fails too). The error says more.
 */
export const FAILURE_REASONS = [
  'agent_error',
  'budget_exceeded',
  'cancelled',
  'idle',
  'module_removed',
  'no_result',
  'not_installed',
  'session_not_found',
  'timeout',
  'validation',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Who wrote a message: the asking side (`user`), the answering agent (`assistant`), or the hub (`system`). */
export type MessageRole = 'user' | 'assistant' | 'system';

/** A message in a thread. A reply's status and content are what watchers follow. */
export interface Message {
  id: string;
  threadId: string;
  author: string;
  role: MessageRole;
  content: string;
  status: Status;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  /** For a structured question's reply: the JSON Schema the answer must satisfy. */
  schema: Record<string, unknown> | null;
  /** For a retry: the failed or cancelled reply it answers again. */
  retryOf: string | null;
  /** For a structured question's reply: its answer parsed and validated (JSON); null until it completes. */
  value: unknown;
  /** For a structured question's reply: the schema it is checked against, and each round's result. */
  validation: ReplyValidation | null;
}

/** One checked answer of a structured reply: round 0 is the first answer, each repair round the next. */
export interface ValidationRound {
  round: number;
  valid: boolean;
  /** The answer as the agent wrote it. */
  answer: string;
  issues: ValidationIssue[];
  at: string;
}

/** A structured reply's checking: what against, how many repair rounds it may have, and each round so far. */
export interface ReplyValidation {
  /** `name@version`, or `inline` for a schema given with the question. */
  schema: string;
  maxRepairs: number;
  /** Null while it is being answered; true once an answer was valid; false when the last round failed. */
  valid: boolean | null;
  rounds: ValidationRound[];
}

/** What `messages.get` answers for an id with no row (yet). */
export interface UnknownMessage {
  id: string;
  status: 'unknown';
}

/** An acceptance criterion of a task. */
export interface Criterion {
  text: string;
  verified: boolean;
  verifiedAt: string | null;
}

/** What a task is: the tracked work behind a reply, a workflow step, or work recorded by hand. */
export type TaskKind = 'ask' | 'workflow_step' | 'manual';

/** The unit of tracked work. */
export interface Task {
  id: string;
  name: string;
  module: string | null;
  kind: TaskKind;
  messageId: string | null;
  workflowRunId: string | null;
  parentId: string | null;
  dependsOn: string[];
  status: Status;
  progress: number;
  iteration: number;
  maxIterations: number | null;
  criteria: Criterion[];
  costUsd: number;
  maxCostUsd: number | null;
  tokensIn: number;
  tokensOut: number;
  filesCreated: string[];
  filesModified: string[];
  sessionId: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  /** For a retry's task: the task of the failed or cancelled reply answered again. */
  retryOf: string | null;
}

/** A registered module (an agent working in its own repository). */
export interface Module {
  name: string;
  description: string;
  paused: boolean;
  config: Record<string, unknown>;
  /** `unhealthy` while its backend keeps failing: its queued work waits until a health check passes. */
  health: 'healthy' | 'unhealthy';
  /** Why it is unhealthy. */
  healthError: string | null;
  healthCheckedAt: string | null;
  /** The config.yaml it was registered from; null when registered through the library (config never removes it). */
  configFile: string | null;
  /**
   * When it was removed from its config.yaml: asking it is refused and its unanswered replies failed. Null while
   * it is in the config (or was registered through the library).
   */
  removedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * An instance: one of a module's agents, run by a worker. It answers one reply at a time; a module has at most
 * its `concurrency` live instances. Instances persist, so a paused one stays paused across restarts.
 */
export interface Instance {
  id: string;
  module: string;
  state: InstanceState;
  /** Paused (set while busy too: it finishes its reply, then takes nothing new). */
  paused: boolean;
  /** The worker running it, if any. */
  workerId: string | null;
  /** The reply it is answering, while busy. */
  messageId: string | null;
  /** The agent session of its last run, when the backend has sessions. */
  sessionId: string | null;
  /** Replies it has answered. */
  runs: number;
  /** Why it was terminated. */
  reason: string | null;
  createdAt: string;
  updatedAt: string;
  lastActiveAt: string;
  terminatedAt: string | null;
}

/** Every event type the log carries (dot-named, past tense). */
export const EVENT_TYPES = [
  'module.registered',
  'module.updated',
  'instance.created',
  'instance.updated',
  'thread.created',
  'message.created',
  'message.status_changed',
  'message.content_updated',
  'message.validated',
  'task.created',
  'task.progressed',
  'task.criterion_verified',
  'task.logged',
  'task.status_changed',
  'watch.created',
  'watch.removed',
  'schema.published',
  'template.published',
  'workflow_run.created',
  'workflow_run.status_changed',
  'step_run.status_changed',
  'step_run.updated',
] as const satisfies readonly (keyof EventData)[];
export type EventType = (typeof EVENT_TYPES)[number];

/** What every event has besides its type and data. */
interface EventEnvelope {
  seq: number;
  cursor: string;
  at: string;
  threadId: string | null;
  messageId: string | null;
  taskId: string | null;
  runId: string | null;
  module: string | null;
}

/**
 * One entry of the append-only log. `cursor` is the position just after it. A union over `type`, so checking the
 * type gives `data` its shape (see event-data.ts).
 */
export type HubEvent = { [T in EventType]: EventEnvelope & { type: T; data: EventData[T] } }[EventType];

/** The event of type `T`. */
export type EventOf<T extends EventType> = Extract<HubEvent, { type: T }>;

/** An event before the store has given it a place in the log. */
export type NewEvent = {
  [T in EventType]: { type: T; data: EventData[T] } & Partial<
    Pick<EventEnvelope, 'threadId' | 'messageId' | 'taskId' | 'runId' | 'module'>
  >;
}[EventType];

/**
 * Which events a subscriber or a listing wants. All given fields must match. `types` entries are exact types
 * or a family ending in `.*` (`message.*`).
 */
export interface EventFilter {
  threadId?: string;
  messageId?: string;
  taskId?: string;
  module?: string;
  types?: readonly string[];
  /** Only what this module may see (a token scoped to it): see store/visibility.ts. */
  visibleTo?: string;
}

/** One entry of a message's status history. */
export interface StatusChange {
  status: ObservedStatus;
  from: ObservedStatus | null;
  at: string;
  reason: string | null;
  seq: number | null;
}

/** A module as the API shows it: the settings that matter to callers (never its env), health and instances. */
export interface ModuleView {
  name: string;
  description: string;
  paused: boolean;
  health: 'healthy' | 'unhealthy';
  healthError: string | null;
  /** When it was removed from config.yaml (it answers nothing more); null while it is served. */
  removedAt: string | null;
  backend: string | null;
  concurrency: number;
  capabilities: string[];
  instances: { busy: number; idle: number; paused: number };
}

/** A module as the API shows it, with its instances counted by state (`instances` may hold other modules'). */
export function moduleView(m: Module, instances: Instance[]): ModuleView {
  const mine = instances.filter((i) => i.module === m.name);
  return {
    name: m.name,
    description: m.description,
    paused: m.paused,
    health: m.health,
    healthError: m.healthError,
    removedAt: m.removedAt,
    ...settingsSummary(m.config),
    instances: {
      busy: mine.filter((i) => i.state === 'busy').length,
      idle: mine.filter((i) => i.state === 'idle').length,
      paused: mine.filter((i) => i.state === 'paused').length,
    },
  };
}

/** Totals over tasks. */
export interface TaskStats {
  total: number;
  byStatus: Record<Status, number>;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  /** Start of the window of `createdSince` and `costSinceUsd` (default: today, UTC). */
  since: string;
  createdSince: number;
  costSinceUsd: number;
}

/** One entry of a task's action log. */
export interface LogLine {
  at: string;
  level: 'info' | 'warn' | 'error';
  text: string;
  action?: string;
  target?: string;
  success?: boolean;
}

/** The agent control panel's view of a task (the original design's to_graph_ui). */
export interface AgentControl {
  taskId: string;
  name: string;
  agentId: string | null;
  sessionId: string | null;
  status: Status;
  progress: number;
  iteration: number;
  maxIterations: number | null;
  costUsd: number;
  maxCostUsd: number | null;
  tokensIn: number;
  tokensOut: number;
  criteria: { text: string; status: 'pass' | 'pending'; verifiedAt: string | null }[];
  criteriaPassed: number;
  criteriaTotal: number;
  filesCreated: string[];
  filesModified: string[];
  /** The last log lines, oldest first. */
  logs: LogLine[];
  /** Errors logged, and the task's own error when it failed. */
  errors: string[];
  messageId: string | null;
  /** For a retry's task: the task of the reply it answers again. */
  retryOf: string | null;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
}

/** What search finds: threads (by title), messages (questions and answers) and tasks (by name and log). */
export const SEARCH_KINDS = ['thread', 'message', 'task'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

/** Where in a hit the words were found. */
export type SearchField = 'title' | 'question' | 'answer' | 'name' | 'log';

/** One record search found: what it is, where it sits, and a snippet of the text that matched. */
export interface SearchHit {
  kind: SearchKind;
  /** The thread's, message's or task's id (pass the last as `before` for the next page). */
  id: string;
  /** The thread it is (or is in); null for a task not behind a reply. */
  threadId: string | null;
  /** The message it is, or the reply behind a task; null for a thread. */
  messageId: string | null;
  /** The task it is, or the task behind a reply; null for a thread or a question. */
  taskId: string | null;
  /** Who opened the thread, wrote the message, or works on the task. */
  module: string | null;
  /** Its status now; null for a thread. */
  status: Status | null;
  createdAt: string;
  field: SearchField;
  /** About 160 characters around the first match, as written, in pieces marking the matched words. */
  snippet: SnippetPart[];
}
