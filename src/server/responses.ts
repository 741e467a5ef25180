/**
 * The API's answers as zod schemas, which make the OpenAPI document's response schemas. Each record's schema is
 * declared with `answers<T>()`, which fails compilation unless it has exactly the fields of the domain type `T`
 * it describes, so the document lists every field the API returns (test/integration/openapi.test.ts checks
 * real answers against it). The answers stay together, past 400 lines, so that the shapes of the document are read
 * in one place.
 */
import { z } from '@hono/zod-openapi';
import type { InboxItem as InboxItemRecord } from '../domain/inputs.js';
import { STATUSES, type Status } from '../domain/status.js';
import {
  type AgentControl as AgentControlRecord,
  EVENT_TYPES,
  FAILURE_REASONS,
  type HubEvent,
  type Instance as InstanceRecord,
  type LogLine,
  type Message as MessageRecord,
  type ModuleView as ModuleViewRecord,
  REPLY_STATUSES,
  type ReplyStatus,
  SEARCH_KINDS,
  type SearchHit as SearchHitRecord,
  type StatusChange,
  type Task as TaskRecord,
  type TaskStats as TaskStatsRecord,
  type Thread as ThreadRecord,
  type ThreadSummary as ThreadSummaryRecord,
} from '../domain/types.js';
import { WATCH_EVENTS } from '../domain/watch-events.js';
import type { EventPage as EventPageRecord } from '../events/event-log.js';
import type { AskResult as AskResultRecord } from '../store/asks.js';
import type { StorageState as StorageStateRecord } from '../store/storage-health.js';
import type { Watch as WatchRecord } from '../store/watches.js';
import { ReplyValidation } from './validation-schemas.js';

/** `T` written out field by field, at every depth, so an intersection and its flattened form compare equal. */
type Flat<T> = T extends readonly (infer I)[] ? Flat<I>[] : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
/** Whether `A` and `B` are the same type: the same fields, each as optional and of the same type. */
type Same<A, B> = (<X>() => X extends Flat<A> ? 1 : 2) extends <X>() => X extends Flat<B> ? 1 : 2 ? true : false;

/**
 * Declares that `schema` describes the domain type `T`: compilation fails where a field is in one and not the
 * other, or differs in type or optionality.
 */
export function answers<T>() {
  return <S extends z.ZodType>(
    schema: S & (Same<z.output<S>, T> extends true ? unknown : { 'differs from the domain type': T }),
  ): S => schema;
}

const status = z.enum(STATUSES);
const json = z.record(z.string(), z.unknown());

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ example: 'validation' }),
    detail: z.string(),
  })
  .openapi('Problem');

export const Ok = z.object({ ok: z.boolean() });

export const StorageState = answers<StorageStateRecord>()(
  z
    .object({
      status: z.enum(['ok', 'faulted']),
      code: z.enum(['storage_full', 'storage_unavailable']).optional(),
      detail: z.string().optional(),
      since: z.string().optional(),
    })
    .openapi('StorageState'),
);
export const Health = z
  .object({
    ok: z.boolean(),
    database: z.string(),
    /** Absent when the database cannot be read. */
    schemaVersion: z.number().int().optional(),
    storage: StorageState,
    version: z.string(),
    pid: z.number().int(),
    startedAt: z.string(),
    uptimeMs: z.number(),
    config: z.string().openapi({ description: 'the config.yaml the service serves' }),
    modulesServed: z.array(z.string()).openapi({ description: 'the modules whose agents this service runs' }),
    streams: z
      .object({ clients: z.number().int(), heldBytes: z.number().int() })
      .optional()
      .openapi({ description: 'the SSE and WebSocket clients connected, and the bytes queued for them' }),
  })
  .openapi('Health');
/** What the service tells about itself in `/health`, besides its database. */
export type ServiceInfo = Omit<z.output<typeof Health>, 'ok' | 'database' | 'schemaVersion' | 'storage'>;

export const AskResult = answers<Omit<AskResultRecord, 'replayed'>>()(
  z
    .object({ threadId: z.string(), questionId: z.string(), messageId: z.string(), taskId: z.string() })
    .openapi('AskResult'),
);

// ---- threads and messages
const messageFields = {
  id: z.string(),
  threadId: z.string(),
  author: z.string(),
  role: z.enum(['user', 'assistant', 'system']),
  content: z.string(),
  status,
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  updatedAt: z.string(),
  schema: json.nullable(),
  retryOf: z
    .string()
    .nullable()
    .openapi({ description: 'for a retry: the failed or cancelled reply it answers again' }),
  value: z.unknown().openapi({
    description: "a structured reply's answer, parsed and validated against its schema; null until it completes",
  }),
  validation: ReplyValidation.nullable(),
};
export const Message = answers<MessageRecord>()(z.object(messageFields).openapi('Message'));
export const MessageWithTask = answers<MessageRecord & { taskId: string | null }>()(
  z
    .object({
      ...messageFields,
      taskId: z.string().nullable().openapi({ description: 'the task behind the reply; null for a question' }),
    })
    .openapi('MessageWithTask'),
);
export const MessageList = z.object({ messages: z.array(Message) });
export const Thread = answers<ThreadRecord>()(
  z
    .object({
      id: z.string(),
      title: z.string().nullable(),
      createdBy: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
    })
    .openapi('Thread'),
);
const replyStatus = z.enum(REPLY_STATUSES);
export const ThreadSummary = answers<ThreadSummaryRecord>()(
  Thread.extend({
    asked: z.array(z.string()).openapi({ description: 'the modules asked in the thread, in the order first asked' }),
    replies: z
      .object(Object.fromEntries(REPLY_STATUSES.map((s) => [s, z.number().int()])) as Record<ReplyStatus, z.ZodNumber>)
      .openapi({ description: 'its replies counted by status' }),
    latestReply: z
      .object({ module: z.string(), status: replyStatus, createdAt: z.string() })
      .nullable()
      .openapi({ description: 'its newest reply; null before the first question' }),
  }).openapi('ThreadSummary'),
);
export const ThreadList = z.object({ threads: z.array(ThreadSummary) });
export const ThreadWithMessages = answers<ThreadRecord & { messages: MessageRecord[] }>()(
  Thread.extend({ messages: z.array(Message) }),
);
const observedStatus = z.enum([...STATUSES, 'unknown']);
/** What a status change's `reason` holds (in the history, and in `*.status_changed` events). */
const REASON = `why the status changed; when a run ends its reply and task failed or cancelled, one of: ${FAILURE_REASONS.join(', ')} (budget_exceeded: its cost or iterations passed the task's limit, named in the error)`;
export const History = z.object({
  history: z.array(
    answers<StatusChange>()(
      z.object({
        status: observedStatus,
        from: observedStatus.nullable(),
        at: z.string(),
        reason: z.string().nullable().openapi({ description: REASON }),
        seq: z.number().nullable(),
      }),
    ),
  ),
});

// ---- tasks
export const Task = answers<TaskRecord>()(
  z
    .object({
      id: z.string(),
      name: z.string(),
      module: z.string().nullable(),
      kind: z.enum(['ask', 'workflow_step', 'manual']),
      messageId: z.string().nullable(),
      workflowRunId: z.string().nullable().openapi({ description: 'the workflow run of a workflow step' }),
      parentId: z.string().nullable(),
      dependsOn: z.array(z.string()).openapi({ description: 'the tasks that must finish before this one' }),
      status,
      progress: z.number(),
      iteration: z.number(),
      maxIterations: z.number().nullable(),
      criteria: z.array(z.object({ text: z.string(), verified: z.boolean(), verifiedAt: z.string().nullable() })),
      costUsd: z.number(),
      maxCostUsd: z.number().nullable(),
      tokensIn: z.number(),
      tokensOut: z.number(),
      filesCreated: z.array(z.string()),
      filesModified: z.array(z.string()),
      sessionId: z.string().nullable().openapi({ description: 'the agent session of its latest run' }),
      error: z.string().nullable(),
      createdAt: z.string(),
      startedAt: z.string().nullable(),
      completedAt: z.string().nullable(),
      updatedAt: z.string(),
      retryOf: z.string().nullable().openapi({ description: 'for a retry: the task of the reply it answers again' }),
    })
    .openapi('Task'),
);
const logLineFields = {
  at: z.string(),
  level: z.enum(['info', 'warn', 'error']),
  text: z.string(),
  action: z.string().optional(),
  target: z.string().optional(),
  success: z.boolean().optional(),
};
const LogLineSchema = answers<LogLine>()(z.object(logLineFields).openapi('LogLine'));
/** An entry of a task's action log as the API shows it: a log line and its cursor, to read on after it. */
export type TaskLogEntry = LogLine & { cursor: string };
const LogEntry = answers<TaskLogEntry>()(
  z
    .object({
      ...logLineFields,
      cursor: z.string().openapi({ description: 'pass as `after` to read the entries after this one' }),
    })
    .openapi('TaskLogEntry'),
);
export const TaskWithLog = answers<TaskRecord & { log: TaskLogEntry[] }>()(Task.extend({ log: z.array(LogEntry) }));
export const TaskList = z.object({
  tasks: z.array(Task),
  next: z.string().nullable().openapi({ description: 'pass as `before` for the next page' }),
});
export const TaskLogPage = z.object({
  log: z.array(LogEntry),
  next: z.string().openapi({ description: 'pass as `after` for the next page, or later for the entries added since' }),
  hasMore: z.boolean().openapi({ description: 'whether more entries follow already' }),
});
export const TaskStats = answers<TaskStatsRecord>()(
  z
    .object({
      total: z.number(),
      byStatus: z.object(Object.fromEntries(STATUSES.map((s) => [s, z.number()])) as Record<Status, z.ZodNumber>),
      costUsd: z.number(),
      tokensIn: z.number(),
      tokensOut: z.number(),
      since: z.string(),
      createdSince: z.number(),
      costSinceUsd: z.number(),
    })
    .openapi('TaskStats'),
);
export const AgentControl = answers<AgentControlRecord>()(
  z
    .object({
      taskId: z.string(),
      name: z.string(),
      agentId: z.string().nullable(),
      sessionId: z.string().nullable(),
      status,
      progress: z.number(),
      iteration: z.number(),
      maxIterations: z.number().nullable(),
      costUsd: z.number(),
      maxCostUsd: z.number().nullable(),
      tokensIn: z.number(),
      tokensOut: z.number(),
      criteria: z.array(
        z.object({ text: z.string(), status: z.enum(['pass', 'pending']), verifiedAt: z.string().nullable() }),
      ),
      criteriaPassed: z.number(),
      criteriaTotal: z.number(),
      filesCreated: z.array(z.string()),
      filesModified: z.array(z.string()),
      logs: z.array(LogLineSchema),
      errors: z.array(z.string()),
      messageId: z.string().nullable(),
      retryOf: z.string().nullable().openapi({ description: 'for a retry: the task of the reply it answers again' }),
      startedAt: z.string().nullable(),
      completedAt: z.string().nullable(),
      updatedAt: z.string(),
    })
    .openapi('AgentControl'),
);
export const AgentControlList = z.object({ tasks: z.array(AgentControl) });

// ---- search
export const SearchHit = answers<SearchHitRecord>()(
  z
    .object({
      kind: z.enum(SEARCH_KINDS),
      id: z.string().openapi({ description: 'the thread’s, message’s or task’s id' }),
      threadId: z.string().nullable(),
      messageId: z.string().nullable().openapi({ description: 'the message, or the reply behind a task' }),
      taskId: z.string().nullable().openapi({ description: 'the task, or the task behind a reply' }),
      module: z
        .string()
        .nullable()
        .openapi({ description: 'who opened the thread, wrote the message, works on the task' }),
      status: status.nullable().openapi({ description: 'null for a thread' }),
      createdAt: z.string(),
      field: z
        .enum(['title', 'question', 'answer', 'name', 'log'])
        .openapi({ description: 'where the words were found' }),
      snippet: z.array(z.object({ text: z.string(), match: z.boolean() })).openapi({
        description: 'about 160 characters around the first match, as written; `match` marks matched words',
      }),
    })
    .openapi('SearchHit'),
);
export const SearchPage = z.object({
  hits: z.array(SearchHit).openapi({ description: 'newest first' }),
  next: z.string().nullable().openapi({ description: 'pass as `before` for the next page' }),
});

// ---- modules and instances
const instanceState = z.enum(['idle', 'busy', 'paused', 'terminated']);
export const Instance = answers<InstanceRecord>()(
  z
    .object({
      id: z.string(),
      module: z.string(),
      state: instanceState,
      paused: z.boolean(),
      workerId: z.string().nullable(),
      messageId: z.string().nullable(),
      sessionId: z.string().nullable(),
      runs: z.number(),
      reason: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
      lastActiveAt: z.string(),
      terminatedAt: z.string().nullable(),
    })
    .openapi('Instance'),
);
export const InstanceList = z.object({ instances: z.array(Instance) });
export const ModuleView = answers<ModuleViewRecord>()(
  z
    .object({
      name: z.string(),
      description: z.string(),
      paused: z.boolean(),
      health: z.enum(['healthy', 'unhealthy']),
      healthError: z.string().nullable(),
      removedAt: z.string().nullable().openapi({
        description: 'when it was removed from config.yaml: asking it is refused until it is added back (null: served)',
      }),
      backend: z.string().nullable(),
      concurrency: z.number(),
      capabilities: z.array(z.string()),
      instances: z.object({ busy: z.number(), idle: z.number(), paused: z.number() }),
    })
    .openapi('Module'),
);
export const ModuleList = z.object({ modules: z.array(ModuleView) });
export const InboxItem = answers<InboxItemRecord>()(
  z
    .object({
      replyId: z.string().openapi({ description: 'the reply to give with POST /messages/{id}/answer' }),
      threadId: z.string(),
      taskId: z.string().nullable(),
      from: z.string().openapi({ description: 'who asked' }),
      question: z.string(),
      status: z.enum(['pending', 'processing']),
      content: z.string().openapi({ description: 'what has been answered so far' }),
      schema: z
        .record(z.string(), z.unknown())
        .nullable()
        .openapi({ description: 'the schema the answer must satisfy' }),
      askedAt: z.string(),
      expiresAt: z.string().nullable().openapi({ description: 'when it fails with `timeout` unless answered' }),
    })
    .openapi('InboxItem'),
);
export const Inbox = z.object({ module: z.string(), inbox: z.array(InboxItem) }).openapi('Inbox');

// ---- events
/** An event as the document describes it: `data` is an object whose fields depend on `type` (event-data.ts). */
type EventRecord = Omit<HubEvent, 'data'> & { data: Record<string, unknown> };
export const Event = answers<EventRecord>()(
  z
    .object({
      seq: z.number(),
      cursor: z.string(),
      at: z.string(),
      type: z.enum(EVENT_TYPES),
      threadId: z.string().nullable(),
      messageId: z.string().nullable(),
      taskId: z.string().nullable(),
      runId: z.string().nullable(),
      module: z.string().nullable(),
      data: json.openapi({
        description: `fields by type; \`message.status_changed\` and \`task.status_changed\`: from, to, reason (${REASON}), error`,
      }),
    })
    .openapi('Event'),
);
export const EventPage = answers<Omit<EventPageRecord, 'events'> & { events: EventRecord[] }>()(
  z.object({ events: z.array(Event), cursor: z.string(), hasMore: z.boolean() }),
);

// ---- watches
export const Watch = answers<WatchRecord>()(
  z
    .object({
      id: z.string(),
      messageId: z.string().nullable(),
      threadId: z.string().nullable(),
      module: z.string().nullable(),
      on: z.array(z.enum(WATCH_EVENTS)),
      command: z.string().nullable(),
      webhook: z.string().nullable(),
      secret: z.string().optional().openapi({ description: 'the webhook’s HMAC key: only in the answer to creation' }),
      createdBy: z
        .string()
        .nullable()
        .openapi({ description: 'the module of the token that created it (null: created without a module scope)' }),
      cursor: z.string(),
      delivered: z.number(),
      failures: z.number(),
      lastError: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
      removedAt: z.string().nullable(),
    })
    .openapi('Watch'),
);
export const WatchList = z.object({ watches: z.array(Watch) });
