/**
 * The HTTP API under `/api/v1`: JSON in and out, every request validated by the zod schemas that also generate
 * the OpenAPI document (`/api/v1/openapi.json`), every error a problem document with a stable `code`. Here the
 * checks every request passes (origin, body size, token, well-formed text) and the mounting of the routes, one
 * file per resource under routes/ (the live streams: streams.ts).
 */
import type { IncomingMessage } from 'node:http';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { Hub } from '../hub.js';
import { type AuthOptions, authenticate } from './auth.js';
import { MAX_BODY_BYTES } from './guarded.js';
import { originGuard } from './origin.js';
import { describeZodError, onError, problem } from './problem.js';
import type { ServiceInfo } from './responses.js';
import { registerAskRoutes } from './routes/ask.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInstanceRoutes } from './routes/instances.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerModuleRoutes } from './routes/modules.js';
import type { Env } from './routes/parts.js';
import { registerRetryRoutes } from './routes/retry.js';
import { registerSchemaRoutes } from './routes/schemas.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerThreadRoutes } from './routes/threads.js';
import { registerWatchRoutes } from './routes/watches.js';
import { registerWorkflowRoutes } from './routes/workflows.js';
import { VERSION } from './schemas.js';
import { wellFormedInput } from './well-formed.js';

/** What the API needs besides the hub. */
export interface ApiOptions extends AuthOptions {
  logger: Logger;
  /** Facts for `/health`. */
  info: () => ServiceInfo;
  /** Origins (normalized, see origin.ts) whose web pages may use the API besides the service's own. */
  allowedOrigins: readonly string[];
}

/** The largest over-limit body still read (and dropped) before answering 413. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/** Builds the API app (mount it at `/api/v1`). */
export function createApi(hub: Hub, options: ApiOptions): OpenAPIHono<Env> {
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (!result.success) return problem(c, 'validation', describeZodError(result.error, result.target));
    },
  });
  app.onError(onError(options.logger));
  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', { type: 'http', scheme: 'bearer' });
  const tooLarge = (c: Context) =>
    problem(c, 'too_large', `the request body is larger than the limit of ${MAX_BODY_BYTES} bytes`);
  const countBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  // First, so that a page of another origin is refused before its body is read.
  app.use('*', originGuard(options.allowedOrigins));
  app.use('*', async (c, next) => {
    const contentLength = c.req.header('content-length');
    const length = Number(contentLength ?? 0);
    // A declared length over the limit is refused before the body is parsed. A modest excess is read and dropped
    // first, so a client still sending gets the 413 rather than a reset connection; a huge one is cut off.
    if (length > MAX_BODY_BYTES) {
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      if (incoming && length <= DRAIN_LIMIT) {
        for await (const _ of incoming) {
          // dropped
        }
      } else {
        c.header('connection', 'close');
      }
      return tooLarge(c);
    }
    // Only a body of unknown length (chunked) is counted as it arrives: one with a declared length cannot run past
    // it (Node's parser stops there), and a GET has none. bodyLimit reads `c.req.raw.body`, which makes
    // @hono/node-server build a full web Request, AbortController and stream for the request; skipping it where it
    // has nothing to count took a third off the service's CPU per `POST /ask` (0.57 → 0.39 ms; bench/http-ask.ts).
    const declared = contentLength !== undefined && c.req.header('transfer-encoding') === undefined;
    return declared || c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : countBody(c, next);
  });
  app.use('*', authenticate(hub, options));
  app.use('*', wellFormedInput());

  // The order of the document's paths.
  registerHealthRoutes(app, hub, options.info);
  registerModuleRoutes(app, hub);
  registerAskRoutes(app, hub);
  registerRetryRoutes(app, hub);
  registerThreadRoutes(app, hub);
  registerMessageRoutes(app, hub);
  registerTaskRoutes(app, hub);
  registerSearchRoutes(app, hub);
  registerSchemaRoutes(app, hub);
  registerWorkflowRoutes(app, hub);
  registerInstanceRoutes(app, hub);
  registerWatchRoutes(app, hub);
  registerEventRoutes(app, hub);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'claude-comms',
      version: VERSION,
      description:
        'Ask across modules, track the work, watch every change. Errors are application/problem+json with a stable code.',
    },
    servers: [{ url: '/api/v1' }],
  });
  return app;
}
