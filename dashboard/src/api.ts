/**
 * The HTTP API as the dashboard calls it: JSON under `api/v1`, the session's token as `Authorization: Bearer`,
 * failures as `ApiError` carrying the problem document's `code`. Records and events are the hub's own types;
 * the views the API builds (modules with instance counts, task totals, the agent control view) are declared here.
 */
import type { Status } from '../../src/domain/status.js';
import type { HubEvent, Instance, Message, Task, Thread } from '../../src/domain/types.js';
import { getToken } from './token';

export type { HubEvent, Instance, Message, Status, Task, Thread };

/** A module as `GET /modules` shows it. */
export interface ModuleView {
  name: string;
  description: string;
  paused: boolean;
  health: 'healthy' | 'unhealthy';
  healthError: string | null;
  backend: string | null;
  concurrency: number;
  capabilities: string[];
  instances: { busy: number; idle: number; paused: number };
}

/** `GET /tasks/stats`: totals, and cost and tasks since the start of the day (UTC). */
export interface TaskStats {
  total: number;
  byStatus: Record<string, number>;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  since: string;
  createdSince: number;
  costSinceUsd: number;
}

/** One line of a task's action log. */
export interface LogLine {
  at: string;
  level: 'info' | 'warn' | 'error';
  text: string;
  action?: string;
  target?: string;
  success?: boolean;
}

/** `GET /tasks/{id}/control`: the agent control panel's view of a task. */
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
  logs: LogLine[];
  errors: string[];
  messageId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
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
