/**
 * The API's schemas: request schemas validate (unknown fields are refused) and, with the response schemas,
 * make the OpenAPI document. Deeper checks (lengths, ids, transitions) stay in the stores, which name the field.
 */
import { readFileSync } from 'node:fs';
import { z } from '@hono/zod-openapi';
import type { Status } from '../domain/status.js';
import { STATUSES } from '../domain/status.js';
import {
  type EventFilter,
  type HubEvent,
  REPLY_STATUSES,
  type ReplyStatus,
  type Task as TaskRecord,
} from '../domain/types.js';
import { REQUEST_ID } from '../domain/validate.js';
import { WATCH_EVENTS } from '../domain/watch-events.js';
import type { ListTasksOptions } from '../store/tasks.js';
import type { ListThreadsOptions } from '../store/threads.js';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const id = z.string().min(1).max(64);
const moduleName = z.string().min(1).max(64);
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

export const StorageState = z
  .object({
    status: z.enum(['ok', 'faulted']),
    code: z.enum(['storage_full', 'storage_unavailable']).optional(),
    detail: z.string().optional(),
    since: z.string().optional(),
  })
  .openapi('StorageState');
export const Health = z
  .object({
    ok: z.boolean(),
    database: z.string(),
    /** Absent when the database cannot be read. */
    schemaVersion: z.number().int().optional(),
    storage: StorageState,
  })
  .loose()
  .openapi('Health');

// ---- params and queries
export const IdParam = z.object({ id: id.openapi({ param: { name: 'id', in: 'path' } }) });
export const NameParam = z.object({ name: moduleName.openapi({ param: { name: 'name', in: 'path' } }) });
const limit = z.coerce.number().int().min(1).max(1000).optional();
export const ThreadsQuery = z
  .object({
    limit,
    module: moduleName.optional().openapi({ description: 'only threads in which this module was asked' }),
    status: z
      .string()
      .regex(new RegExp(`^(${REPLY_STATUSES.join('|')})(,(${REPLY_STATUSES.join('|')}))*$`), {
        message: `a status or comma-separated statuses among ${REPLY_STATUSES.join(', ')}`,
      })
      .optional()
      .openapi({ description: 'only threads with a reply in one of these statuses (of `module`, when given)' }),
  })
  .strict();
export const MessagesQuery = z.object({ threadId: id.optional(), status: status.optional(), limit }).strict();
const taskFilters = {
  status: z
    .string()
    .regex(new RegExp(`^(${STATUSES.join('|')})(,(${STATUSES.join('|')}))*$`), {
      message: `a status or comma-separated statuses among ${STATUSES.join(', ')}`,
    })
    .optional(),
  module: moduleName.optional(),
  kind: z.enum(['ask', 'workflow_step', 'manual']).optional(),
  q: z.string().min(1).max(200).optional(),
};
export const TasksQuery = z.object({ ...taskFilters, before: id.optional(), limit }).strict();
export const TaskQuery = z
  .object({
    logLimit: z.coerce
      .number()
      .int()
      .min(0)
      .max(1000)
      .optional()
      .openapi({ description: 'how many of the newest log entries to include (default 20, 0 for none)' }),
  })
  .strict();
export const TaskLogQuery = z
  .object({
    after: z.string().max(64).optional().openapi({ description: 'a `next` (or an entry’s `cursor`) to read on from' }),
    limit: limit.openapi({ description: 'entries per page (default 100)' }),
  })
  .strict();
export const ExportQuery = z.object({ ...taskFilters, format: z.enum(['json', 'csv']).default('json') }).strict();
export const StatsQuery = z.object({ since: z.iso.datetime().optional(), module: moduleName.optional() }).strict();
export const InstancesQuery = z
  .object({
    module: moduleName.optional(),
    state: z.enum(['idle', 'busy', 'paused', 'terminated']).optional(),
    all: z.enum(['true', 'false']).optional(),
  })
  .strict();
export const EventsQuery = z
  .object({
    after: z.string().max(64).optional(),
    types: z.string().max(1000).optional().openapi({ description: 'comma-separated types or families (message.*)' }),
    threadId: id.optional(),
    messageId: id.optional(),
    taskId: id.optional(),
    module: moduleName.optional(),
    limit,
    last: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .openapi({ description: 'the newest N events instead of a page after `after`; its cursor continues after them' }),
    token: z.string().optional(),
  })
  .strict();

/** The event filter a query gives. */
export function eventFilter(q: z.infer<typeof EventsQuery>): EventFilter & { after?: string; limit?: number } {
  const { types, token: _token, last: _last, ...rest } = q;
  return { ...rest, ...(types ? { types: types.split(',').map((t) => t.trim()) } : {}) };
}

/** A `task.logged` event as the API shows a log entry: its time, its cursor (to read on after it) and its fields. */
export function taskLogEntry(e: HubEvent): Record<string, unknown> {
  return { at: e.at, cursor: e.cursor, ...e.data };
}

/** The thread listing a query asks for. */
export function threadFilter(q: z.infer<typeof ThreadsQuery>): ListThreadsOptions {
  return {
    ...(q.limit === undefined ? {} : { limit: q.limit }),
    ...(q.module === undefined ? {} : { module: q.module }),
    ...(q.status === undefined ? {} : { status: q.status.split(',') as ReplyStatus[] }),
  };
}

/** The task listing a query asks for. */
export function taskFilter(q: {
  status?: string | undefined;
  module?: string | undefined;
  kind?: ListTasksOptions['kind'];
  q?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
}): ListTasksOptions {
  const { status: statuses, ...rest } = q;
  const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as ListTasksOptions;
  return statuses ? { ...options, status: statuses.split(',') as Status[] } : options;
}

// ---- bodies
export const AskBody = z
  .object({
    from: moduleName.optional().openapi({ description: 'the asking module (default: the token’s module)' }),
    to: moduleName,
    prompt: z.string(),
    threadId: id.optional(),
    schema: json.optional().openapi({ description: 'a JSON Schema the answer must satisfy' }),
  })
  .strict()
  .openapi('AskBody');
export const AskHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(REQUEST_ID, { message: '1 to 255 printable ASCII characters, not starting or ending with a space' })
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'makes a retry safe: the same key and question within 24 hours answer the original ask',
    }),
});
export const ReasonBody = z.object({ reason: z.string().max(2000).optional() }).strict();
export const CreateTaskBody = z
  .object({
    name: z.string(),
    module: moduleName.optional(),
    criteria: z.array(z.string()).max(100).optional(),
    maxIterations: z.number().int().min(1).nullable().optional(),
    maxCostUsd: z.number().min(0).nullable().optional(),
    parentId: id.optional(),
    dependsOn: z.array(id).max(100).optional(),
  })
  .strict()
  .openapi('CreateTask');
export const UpdateTaskBody = z
  .object({
    progress: z.number().min(0).max(100).optional(),
    iteration: z.number().int().min(0).optional(),
    costUsd: z.number().min(0).optional(),
    tokensIn: z.number().int().min(0).optional(),
    tokensOut: z.number().int().min(0).optional(),
    filesCreated: z.array(z.string()).max(1000).optional(),
    filesModified: z.array(z.string()).max(1000).optional(),
    maxIterations: z.number().int().min(1).nullable().optional(),
    maxCostUsd: z.number().min(0).nullable().optional(),
    status: status.optional(),
    error: z.string().max(20000).optional(),
    reason: z.string().max(2000).optional(),
  })
  .strict()
  .openapi('UpdateTask');
export const VerifyBody = z.object({ criterion: z.union([z.number().int().min(0), z.string()]) }).strict();
export const LogBody = z
  .object({
    text: z.string(),
    level: z.enum(['info', 'warn', 'error']).optional(),
    action: z.string().optional(),
    target: z.string().optional(),
    success: z.boolean().optional(),
  })
  .strict();
export const CompleteBody = z.object({ success: z.boolean().optional(), error: z.string().optional() }).strict();
export const CreateInstanceBody = z.object({ module: moduleName }).strict();

// ---- responses
export const Message = z
  .object({
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
  })
  .loose()
  .openapi('Message');
export const MessageList = z.object({ messages: z.array(Message) });
export const AskResult = z
  .object({ threadId: z.string(), questionId: z.string(), messageId: z.string(), taskId: z.string() })
  .openapi('AskResult');
export const Thread = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Thread');
const replyStatus = z.enum(REPLY_STATUSES);
export const ThreadSummary = Thread.extend({
  asked: z.array(z.string()).openapi({ description: 'the modules asked in the thread, in the order first asked' }),
  replies: z
    .object(Object.fromEntries(REPLY_STATUSES.map((s) => [s, z.number().int()])) as Record<ReplyStatus, z.ZodNumber>)
    .openapi({ description: 'its replies counted by status' }),
  latestReply: z
    .object({ module: z.string(), status: replyStatus, createdAt: z.string() })
    .nullable()
    .openapi({ description: 'its newest reply; null before the first question' }),
}).openapi('ThreadSummary');
export const ThreadList = z.object({ threads: z.array(ThreadSummary) });
export const ThreadWithMessages = Thread.extend({ messages: z.array(Message) });
export const History = z.object({
  history: z.array(
    z.object({
      status: z.string(),
      from: z.string().nullable(),
      at: z.string(),
      reason: z.string().nullable(),
      seq: z.number().nullable(),
    }),
  ),
});
export const Task = z
  .object({
    id: z.string(),
    name: z.string(),
    module: z.string().nullable(),
    kind: z.string(),
    messageId: z.string().nullable(),
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
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
  })
  .loose()
  .openapi('Task');
export const AgentControl = z
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
    criteria: z.array(
      z.object({ text: z.string(), status: z.enum(['pass', 'pending']), verifiedAt: z.string().nullable() }),
    ),
    criteriaPassed: z.number(),
    criteriaTotal: z.number(),
    filesCreated: z.array(z.string()),
    filesModified: z.array(z.string()),
    logs: z.array(json),
    errors: z.array(z.string()),
    messageId: z.string().nullable(),
  })
  .loose()
  .openapi('AgentControl');
export const AgentControlList = z.object({ tasks: z.array(AgentControl) });
export const TaskList = z.object({
  tasks: z.array(Task),
  next: z.string().nullable().openapi({ description: 'pass as `before` for the next page' }),
});
const LogEntry = z
  .object({ at: z.string(), cursor: z.string(), level: z.string(), text: z.string() })
  .loose()
  .openapi('TaskLogEntry');
export const TaskWithLog = Task.extend({ log: z.array(LogEntry) });
export const TaskLogPage = z.object({
  log: z.array(LogEntry),
  next: z.string().openapi({ description: 'pass as `after` for the next page, or later for the entries added since' }),
  hasMore: z.boolean().openapi({ description: 'whether more entries follow already' }),
});
export const TaskStats = z
  .object({
    total: z.number(),
    byStatus: z.record(z.string(), z.number()),
    costUsd: z.number(),
    tokensIn: z.number(),
    tokensOut: z.number(),
    since: z.string(),
    createdSince: z.number(),
    costSinceUsd: z.number(),
  })
  .openapi('TaskStats');
export const Instance = z
  .object({
    id: z.string(),
    module: z.string(),
    state: z.enum(['idle', 'busy', 'paused', 'terminated']),
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
  .openapi('Instance');
export const InstanceList = z.object({ instances: z.array(Instance) });
export const ModuleView = z
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
  .openapi('Module');
export const ModuleList = z.object({ modules: z.array(ModuleView) });
export const Event = z
  .object({
    seq: z.number(),
    cursor: z.string(),
    at: z.string(),
    type: z.string(),
    threadId: z.string().nullable(),
    messageId: z.string().nullable(),
    taskId: z.string().nullable(),
    runId: z.string().nullable(),
    module: z.string().nullable(),
    data: json,
  })
  .openapi('Event');
export const EventPage = z.object({ events: z.array(Event), cursor: z.string(), hasMore: z.boolean() });

// ---- watches
export const WatchesQuery = z.object({ all: z.enum(['true', 'false']).optional() }).strict();
export const RemoveWatchesQuery = z.object({ messageId: id }).strict();
export const CreateWatchBody = z
  .object({
    messageId: id.optional(),
    threadId: id.optional(),
    module: moduleName.optional().openapi({ description: 'the replies this module writes' }),
    on: z
      .array(z.enum(WATCH_EVENTS))
      .max(WATCH_EVENTS.length)
      .optional()
      .openapi({ description: 'default: complete, failed, cancelled; `status` fires on every status change' }),
    command: z.string().optional().openapi({ description: 'run with /bin/sh -c, the notification on stdin' }),
    webhook: z.string().optional().openapi({ description: 'an http(s) URL POSTed the notification, signed' }),
  })
  .strict()
  .openapi('CreateWatch');
export const Watch = z
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
  .openapi('Watch');
export const WatchList = z.object({ watches: z.array(Watch) });

const CSV_COLUMNS: (keyof TaskRecord)[] = [
  'id',
  'name',
  'module',
  'kind',
  'status',
  'progress',
  'iteration',
  'maxIterations',
  'costUsd',
  'tokensIn',
  'tokensOut',
  'error',
  'createdAt',
  'startedAt',
  'completedAt',
];

/** Tasks as CSV (RFC 4180); cells that a spreadsheet would run as a formula are prefixed with `'`. */
export function tasksCsv(tasks: readonly TaskRecord[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [[...CSV_COLUMNS, 'criteria'].join(',')];
  for (const t of tasks) {
    lines.push([...CSV_COLUMNS.map((k) => cell(t[k])), cell(t.criteria.map((c) => c.text).join('; '))].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
