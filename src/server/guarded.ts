/**
 * The checks every request to the service's own endpoints passes, in the API's order: which web pages may call
 * (origin.ts), the body limit, the token and on loopback the Host (auth.ts), and text the database would store
 * differently (well-formed.ts). The API applies them itself (app.ts, which also drains an over-limit body it can);
 * the endpoints beside it — `/mcp`, the A2A card and `/a2a` — are sub-apps made here, so none can miss one.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { Hub } from '../hub.js';
import { type AuthOptions, authenticate, type Principal } from './auth.js';
import { originGuard } from './origin.js';
import { onError, problem } from './problem.js';
import { wellFormedInput } from './well-formed.js';

/** Largest request body in bytes, for the API and every endpoint beside it. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What a guarded endpoint needs besides the hub: the API's own settings. */
export interface GuardOptions extends AuthOptions {
  logger: Logger;
  /** Origins whose web pages may call, as for the API (origin.ts). */
  allowedOrigins: readonly string[];
}

/** A sub-app whose every request has passed the API's checks, with `principal` set. */
export function guardedApp(hub: Hub, options: GuardOptions): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.onError(onError(options.logger));
  app.use('*', originGuard(options.allowedOrigins));
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, 'too_large', `the request body is larger than the limit of ${MAX_BODY_BYTES} bytes`),
    }),
  );
  app.use('*', authenticate(hub, options));
  app.use('*', wellFormedInput());
  return app;
}
