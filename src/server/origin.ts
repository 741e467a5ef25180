/**
 * Which web pages may use the API. A browser sends cookies-free requests to any address a page names, and it
 * applies no CORS check to WebSockets or to requests whose answer the page does not read (a `POST` that pauses a
 * module needs no answer to do harm). So the service itself refuses every request a browser sends on behalf of
 * a page of another origin:
 *
 * - a request with an `Origin` header is accepted only from the service's own origin (`http://` and the Host
 *   the request was sent to: scheme, host and port, so a page on another local port is another origin) or from
 *   an origin on the allow-list (`--allow-origin`, `CLAUDE_COMMS_ALLOWED_ORIGINS`), which also get CORS
 *   headers; `Origin: null` (sandboxed frames, `file:` pages) is never accepted;
 * - a request without `Origin` but with `Sec-Fetch-Site: cross-site` or `same-site` (a browser's `<img>`,
 *   `<script>` or form without an origin) is refused too;
 * - a request with neither (the CLI, scripts, other services) is judged by its token alone.
 */
import type { MiddlewareHandler } from 'hono';
import { ALLOWED_ORIGINS_ENV } from '../config/origins.js';
import { problem } from './problem.js';

/** Request headers an allowed page may send (answered to its CORS preflight). */
const CORS_HEADERS = [
  'authorization, content-type, last-event-id, idempotency-key',
  // What an MCP client sends to /mcp: the protocol's own headers, and who the tools act as.
  'accept, mcp-protocol-version, mcp-session-id, x-claude-comms-module, x-claude-comms-task, x-claude-comms-reply',
  // And what an A2A client sends to /a2a.
  'a2a-version, a2a-extensions',
].join(', ');
const CORS_METHODS = 'GET, POST, PATCH, DELETE';

/** The origin of a page served by this service at `host` (a Host header), or undefined when it is not one. */
function ownOrigin(host: string | undefined): string | undefined {
  if (!host) return undefined;
  try {
    return new URL(`http://${host}`).origin;
  } catch {
    return undefined;
  }
}

/** The origin a request names, normalized, or undefined for `null` and anything that is not one. */
function requestOrigin(header: string): string | undefined {
  try {
    return header === 'null' ? undefined : new URL(header).origin;
  } catch {
    return undefined;
  }
}

/** Refuses requests from pages of other origins; answers CORS for allowed ones. Mount it before anything else. */
export function originGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  return async (c, next) => {
    const header = c.req.header('origin');
    if (header === undefined) {
      const site = c.req.header('sec-fetch-site');
      if (site === 'cross-site' || site === 'same-site') {
        return problem(c, 'forbidden', `a ${site} request from a web page may not use this service`);
      }
      return next();
    }
    const origin = requestOrigin(header);
    const own = ownOrigin(c.req.header('host'));
    if (origin !== undefined && origin === own) return next();
    if (origin === undefined || !allowed.has(origin)) {
      return problem(
        c,
        'forbidden',
        `web pages of origin ${header} may not use this service: only its own pages${own ? ` (${own})` : ''} and origins allowed with --allow-origin or ${ALLOWED_ORIGINS_ENV}`,
      );
    }
    c.header('access-control-allow-origin', origin);
    c.header('vary', 'Origin');
    if (c.req.method === 'OPTIONS') {
      return c.body(null, 204, {
        'access-control-allow-methods': CORS_METHODS,
        'access-control-allow-headers': CORS_HEADERS,
        'access-control-max-age': '600',
      });
    }
    return next();
  };
}
