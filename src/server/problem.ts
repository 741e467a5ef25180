/**
 * Errors as RFC 9457 problem details (`application/problem+json`) with the hub's stable `code`. Every failure a
 * request can cause maps to a 4xx naming what was wrong; only a bug gives a 500, and its details stay in the log.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { ZodError } from 'zod';
import { type HubErrorCode, isHubError, isStorageFault } from '../domain/errors.js';

/** The HTTP status of each error code. */
export const STATUS_OF: Record<HubErrorCode | 'unsupported_media_type', number> = {
  validation: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_transition: 409,
  conflict: 409,
  cursor_expired: 410,
  too_large: 413,
  unsupported_media_type: 415,
  schema_too_new: 500,
  internal: 500,
  unavailable: 503,
  storage_full: 503,
  storage_unavailable: 503,
  closed: 503,
  timeout: 504,
};

export type ProblemCode = keyof typeof STATUS_OF;

/**
 * `Retry-After` of each 503, in seconds. A busy database or a closing service is worth trying again soon; a
 * storage fault usually needs someone to act (free space, make the database writable), and the hub notices
 * within a second that it cleared, so 5 s keeps a crowd of waiting clients from adding load meanwhile.
 */
export const RETRY_AFTER_S: Partial<Record<ProblemCode, number>> = {
  unavailable: 1,
  closed: 1,
  storage_full: 5,
  storage_unavailable: 5,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A problem response (with `Retry-After` where trying again later may work). */
export function problem(c: Context, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}): Response {
  const status = STATUS_OF[code];
  const retryAfter = RETRY_AFTER_S[code];
  return c.body(
    JSON.stringify({ type: 'about:blank', title: TITLES[status] ?? 'Error', status, code, detail, ...extra }),
    status as ContentfulStatusCode,
    {
      'content-type': 'application/problem+json',
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    },
  );
}

/** `body.prompt: expected string, got number`, for every issue (at most five). */
export function describeZodError(error: ZodError, where: string): string {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length ? `${where}.${issue.path.join('.')}` : where;
    if (issue.code === 'unrecognized_keys')
      return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return issues.join('; ') + more;
}

/** The app's error handler: HubErrors by code, Hono's own (malformed JSON, 415…) by status, the rest 500. */
export function onError(logger: Logger) {
  return (err: Error, c: Context): Response => {
    if (isHubError(err)) {
      // A storage fault is logged once by the hub when it begins and ends, not once per request it fails.
      if (STATUS_OF[err.code] >= 500 && !isStorageFault(err)) logger.error({ err, path: c.req.path }, 'request failed');
      return problem(c, err.code, err.message, err.details ? { details: err.details } : {});
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status === 415)
        return problem(c, 'unsupported_media_type', 'the body must be JSON (content-type: application/json)');
      if (status === 413) return problem(c, 'too_large', err.message || 'the request body is too large');
      if (status === 401) return problem(c, 'unauthorized', err.message || 'a valid token is required');
      if (status < 500) {
        const detail = /malformed json/i.test(err.message) ? `malformed JSON body: ${causeText(err)}` : err.message;
        return problem(c, 'validation', detail || 'bad request');
      }
    }
    logger.error({ err, path: c.req.path, method: c.req.method }, 'unexpected error serving a request');
    return problem(c, 'internal', 'an unexpected error occurred; see the service log');
  };
}

function causeText(err: HTTPException): string {
  const cause = err.cause;
  return cause instanceof Error ? cause.message : 'it does not parse';
}
