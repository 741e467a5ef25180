/**
 * The HTTP API as the dashboard calls it: JSON under `api/v1`, the session's token as `Authorization: Bearer`,
 * failures as `ApiError` carrying the problem document's `code`. Records, events and the views the API builds are
 * the hub's own types.
 */
import type { Status, StepStatus } from '../../src/domain/status.js';
import type {
  AgentControl,
  HubEvent,
  ModuleView as HubModuleView,
  Instance,
  LogLine,
  Message,
  ReplyStatus,
  ReplyValidation,
  SearchHit,
  Task,
  TaskStats,
  Thread,
  ThreadSummary,
  ValidationIssue,
  ValidationRound,
} from '../../src/domain/types.js';
import type { Approval, StepDetail, StepRun, WorkflowRun } from '../../src/domain/workflow-types.js';
import { getToken } from './token';

export type {
  AgentControl,
  Approval,
  HubEvent,
  Instance,
  LogLine,
  Message,
  ReplyStatus,
  ReplyValidation,
  SearchHit,
  Status,
  StepDetail,
  StepRun,
  StepStatus,
  Task,
  TaskStats,
  Thread,
  ThreadSummary,
  ValidationIssue,
  ValidationRound,
  WorkflowRun,
};

/** A module as `GET /modules` shows it; `removedAt` is set once it has left the configuration (older services omit it). */
export type ModuleView = HubModuleView & { removedAt?: string | null };

/** A schema name as `GET /schemas` lists it: its newest version, and every version (oldest first). */
export interface SchemaSummary {
  name: string;
  latest: string;
  versions: string[];
  description: string;
  owner: string | null;
  /** The compatibility mode its versions keep: BACKWARD, FORWARD, FULL, NONE… */
  compatibility: string;
  updatedAt: string;
}

/** One published version of a schema (`GET /schemas/{name}` lists them oldest first); `body` is its JSON Schema. */
export interface SchemaVersion {
  name: string;
  version: string;
  body: Record<string, unknown> | boolean;
  description: string;
  owner: string | null;
  compatibility: string;
  hash: string;
  createdAt: string;
}

/** A query template's latest version as `GET /templates` lists it; `params` is a JSON Schema of an object. */
export interface QueryTemplate {
  name: string;
  version: string;
  versions: string[];
  description: string;
  params: { type: 'object'; properties: Record<string, Record<string, unknown>>; required?: string[] };
  prompt: string;
  /** `name@version` of the schema its answers must satisfy. */
  answerSchema: string;
  owner: string | null;
  createdAt: string;
}

/** What a retry answers (`POST /messages/{id}/retry`, `POST /tasks/{id}/retry`): the new reply and its task. */
export interface Retried {
  threadId: string;
  questionId: string;
  messageId: string;
  taskId: string;
}

/** A page of the event log (`GET /events`). */
export interface EventPage {
  events: HubEvent[];
  cursor: string;
  hasMore: boolean;
}

export interface ThreadWithMessages extends Thread {
  messages: Message[];
}

/** A failed call: `status` 0 when the service could not be reached. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

/** Registers what happens when the service answers 401 (the store asks for a token). */
export function whenUnauthorized(listener: () => void): void {
  onUnauthorized = listener;
}

/** Calls `path` (under `api/v1`) and answers its JSON body. */
export async function api<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`api/v1${path}`, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'the service cannot be reached');
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // A proxy's HTML error page, say: reported by status below.
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    const code = typeof body.code === 'string' ? body.code : 'http_error';
    const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`;
    throw new ApiError(res.status, code, detail);
  }
  return body as T;
}

/** `POST` without a body worth naming: pause, resume, terminate, cancel. */
export function post<T>(path: string, body: unknown = {}): Promise<T> {
  return api<T>(path, { method: 'POST', body });
}

/** A user-facing sentence for any failure. */
export function failure(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
