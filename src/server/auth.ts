/**
 * Who may call the API. Bound to loopback, requests need no token (the machine's user is trusted) but a Host
 * header naming another site is refused, so a web page cannot reach the API through DNS rebinding. Bound
 * anywhere else, every request needs a token (`Authorization: Bearer …`, or `?token=` on the live streams, where
 * a browser cannot set headers: EventSource, WebSocket). A token scoped to a module may act only as that module.
 * Which web pages may call at all is decided before this, by the Origin check (origin.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HubError } from '../domain/errors.js';
import type { Hub } from '../hub.js';
import type { Principal } from '../store/tokens.js';
import { problem } from './problem.js';

export type { Principal };

/** How requests are checked. */
export interface AuthOptions {
  /** Every request must carry a valid token (any bind other than loopback). */
  requireToken: boolean;
}

/** Host names (without port) accepted when tokens are not required. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return (colon >= 0 ? host.slice(0, colon) : host).toLowerCase();
}

/**
 * Paths where a token may come as `?token=`: the live streams, which a browser opens without a way to set
 * headers (EventSource, WebSocket). Anywhere else a token in the URL would only end up in logs and history.
 */
const TOKEN_IN_QUERY = /^\/api\/v1\/(?:events\/stream|ws)$/;

/** The token a request presents, if any; `validation` for `?token=` where a header can be sent. */
function presentedToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? '';
  }
  const query = c.req.query('token');
  if (query !== undefined && !TOKEN_IN_QUERY.test(c.req.path)) {
    throw new HubError(
      'validation',
      '?token= is accepted only by the live streams (/events/stream, /ws); send the header Authorization: Bearer <token>',
    );
  }
  return query;
}

/** Checks the token (and on loopback the Host header); sets `principal`. */
export function authenticate(
  hub: Hub,
  options: AuthOptions,
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  return async (c, next) => {
    if (!options.requireToken) {
      const host = hostName(c.req.header('host') ?? '');
      if (host && !LOOPBACK_HOSTS.has(host)) {
        return problem(c, 'forbidden', `host ${host} is not allowed; use http://127.0.0.1 or http://localhost`);
      }
    }
    const token = presentedToken(c);
    if (token === undefined) {
      if (options.requireToken) {
        c.header('www-authenticate', 'Bearer');
        return problem(
          c,
          'unauthorized',
          'a token is required: send Authorization: Bearer <token> (create one with claude-comms token create)',
        );
      }
      c.set('principal', { tokenId: null, module: null });
      return next();
    }
    const principal = await hub.tokens.verify(token);
    if (!principal) {
      c.header('www-authenticate', 'Bearer error="invalid_token"');
      return problem(c, 'unauthorized', 'the token is unknown or revoked');
    }
    c.set('principal', principal);
    return next();
  };
}

/** Throws `forbidden` unless the request may act as `module` (anything, for an unscoped token). */
export function actAs(c: Context<{ Variables: { principal: Principal } }>, module: string): void {
  const scope = c.get('principal').module;
  if (scope !== null && scope !== module) {
    throw new HubError('forbidden', `this token may act only as module ${scope}${module ? `, not as ${module}` : ''}`);
  }
}
