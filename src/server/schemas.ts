/**
 * The API's request schemas: they validate (unknown fields are refused) and, with the response schemas
 * (responses.ts), make the OpenAPI document. Deeper checks (lengths, ids, transitions) stay in the stores, which
 * name the field.
 */
import { readFileSync } from 'node:fs';
import { z } from '@hono/zod-openapi';
import { MAX_COST_LIMIT_USD, MAX_ITERATIONS_LIMIT } from '../domain/budget.js';
import { MAX_CAPABILITY_LENGTH } from '../domain/capability.js';
import type { EventData } from '../domain/event-data.js';
import type { SearchOptions } from '../domain/inputs.js';
import { MAX_QUERY } from '../domain/search-text.js';
import type { Status } from '../domain/status.js';
import { STATUSES } from '../domain/status.js';
import {
  type EventFilter,
  type HubEvent,
  REPLY_STATUSES,
  type ReplyStatus,
  SEARCH_KINDS,
  type Task as TaskRecord,
} from '../domain/types.js';
import { REQUEST_ID } from '../domain/validate.js';
import { WATCH_EVENTS } from '../domain/watch-events.js';
import type { ListTasksOptions } from '../store/tasks.js';
import type { ListThreadsOptions } from '../store/threads.js';
import type { TaskLogEntry } from './responses.js';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const id = z.string().min(1).max(64);
const moduleName = z.string().min(1).max(64);
const status = z.enum(STATUSES);
const json = z.record(z.string(), z.unknown());

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
const statuses = z.string().regex(new RegExp(`^(${STATUSES.join('|')})(,(${STATUSES.join('|')}))*$`), {
  message: `a status or comma-separated statuses among ${STATUSES.join(', ')}`,
});
const words = z.string().min(1).max(MAX_QUERY);
const taskFilters = {
  status: statuses.optional(),
  module: moduleName.optional(),
  kind: z.enum(['ask', 'workflow_step', 'manual']).optional(),
  q: words.optional().openapi({ description: 'words of the name or log, as `GET /search` matches them' }),
};
export const TasksQuery = z.object({ ...taskFilters, before: id.optional(), limit }).strict();
export const SearchQuery = z
  .object({
    q: words.openapi({
      description:
        'words, each the beginning of a word of the text found (any case, accents ignored); all must be there',
    }),
    kind: z.enum(SEARCH_KINDS).optional().openapi({ description: 'only threads, messages or tasks' }),
    module: moduleName
      .optional()
      .openapi({ description: 'only threads it opened, messages it wrote and tasks it works on' }),
    status: statuses
      .optional()
      .openapi({ description: 'only messages and tasks in one of these statuses (threads have none)' }),
    before: id.optional().openapi({ description: 'the last id of the previous page' }),
    limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: 'hits per page (default 20)' }),
  })
  .strict();

/** The search a query asks for. */
export function searchFilter(q: z.infer<typeof SearchQuery>): SearchOptions {
  const { q: words, status, ...rest } = q;
  const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { q: words, ...options, ...(status ? { status: status.split(',') as Status[] } : {}) };
}
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
export const ModulesQuery = z
  .object({
    capability: z
      .string()
      .min(1)
      .max(MAX_CAPABILITY_LENGTH)
      .optional()
      .openapi({ description: 'only modules that declare this capability (exact, surrounding spaces ignored)' }),
  })
  .strict();
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
export function taskLogEntry(e: HubEvent): TaskLogEntry {
  return { at: e.at, cursor: e.cursor, ...(e.data as EventData['task.logged']) };
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
/** A run's limits, as asks and tasks take them (domain/budget.ts); null is no limit. */
const maxCostUsd = z.number().min(0).max(MAX_COST_LIMIT_USD).nullable();
const maxIterations = z.number().int().min(1).max(MAX_ITERATIONS_LIMIT).nullable();
export const AskBody = z
  .object({
    from: moduleName.optional().openapi({ description: 'the asking module (default: the token’s module)' }),
    to: moduleName.optional().openapi({ description: 'the answering module; give it or `capability`' }),
    capability: z.string().min(1).max(200).optional().openapi({
      description:
        'instead of `to`: a capability; the ask goes to the least loaded module declaring it that is served now',
    }),
    via: id.optional().openapi({
      description:
        'the reply whose answer makes this ask (an agent asking from inside its answer); an ask that would wait on one of its own askers, or nest deeper than 4, is 409 `conflict`',
    }),
    prompt: z
      .string()
      .optional()
      .openapi({ description: 'the question; optional with a template (added after its question)' }),
    threadId: id.optional(),
    schema: z.union([z.string(), json]).optional().openapi({
      description:
        'the JSON Schema the answer must satisfy: a published one (`name@version`, or `name` for its latest) or one given here; the answer is then parsed, validated and repaired in further rounds',
    }),
    template: z
      .string()
      .optional()
      .openapi({ description: 'a query template (`name@version` or `name`): its question and answer schema' }),
    params: z.record(z.string(), z.unknown()).optional().openapi({ description: "the template's parameters" }),
    maxRepairs: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .openapi({ description: 'repair rounds after the first answer (default 2)' }),
    maxCostUsd: maxCostUsd.optional().openapi({
      description:
        'the most the answer’s run may cost, in dollars; default: the module’s `maxCostUsd`; null: no limit. A run past it is stopped and fails with reason `budget_exceeded`',
    }),
    maxIterations: maxIterations.optional().openapi({
      description: 'the most iterations (agent turns) the answer’s run may take; default and null as for maxCostUsd',
    }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.to === undefined && body.capability === undefined)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'required: the answering module (or `capability`)' });
    if (body.to !== undefined && body.capability !== undefined)
      ctx.addIssue({ code: 'custom', path: ['capability'], message: 'give `to` or `capability`, not both' });
  })
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
export const InboxQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional().openapi({ description: 'at most this many (default 50)' }),
});
export const AnswerBody = z
  .object({
    content: z.string().max(1_000_000).openapi({ description: 'the answer, or its next part' }),
    final: z.boolean().optional().openapi({
      description:
        'false: a part, appended (the reply stays processing for more); true (default): the answer is complete — with a schema it is checked first, and refused with its errors (400 `validation`) when it does not satisfy it',
    }),
  })
  .strict()
  .openapi('AnswerBody');
export const ReasonBody = z.object({ reason: z.string().max(2000).optional() }).strict();
export const CreateTaskBody = z
  .object({
    name: z.string(),
    module: moduleName.optional(),
    criteria: z.array(z.string()).max(100).optional(),
    maxIterations: maxIterations.optional(),
    maxCostUsd: maxCostUsd.optional(),
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
    maxIterations: maxIterations.optional(),
    maxCostUsd: maxCostUsd.optional(),
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
  return `${TASKS_CSV_HEADER}${tasksCsvRows(tasks)}`;
}

/** The header line of a task export in CSV. */
export const TASKS_CSV_HEADER = `${[...CSV_COLUMNS, 'criteria'].join(',')}\r\n`;

/** Tasks as CSV lines, each ended by CRLF (cells that a spreadsheet would run as formulas are quoted). */
export function tasksCsvRows(tasks: readonly TaskRecord[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return tasks
    .map(
      (t) => `${[...CSV_COLUMNS.map((k) => cell(t[k])), cell(t.criteria.map((c) => c.text).join('; '))].join(',')}\r\n`,
    )
    .join('');
}
