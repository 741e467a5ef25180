/**
 * The HTTP API under `/api/v1`: JSON in and out, every request validated by the zod schemas that also generate
 * the OpenAPI document (`/api/v1/openapi.json`), every error a problem document with a stable `code`. Here the
 * checks every request passes (origin, body size, token, well-formed text) and the health, module, ask, thread,
 * message and event routes; tasks, instances and watches have files of their own under routes/.
 */
import type { IncomingMessage } from 'node:http';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { HubError, isStorageFault } from '../domain/errors.js';
import { moduleView } from '../domain/types.js';
import type { Hub } from '../hub.js';
import { type AuthOptions, actAs, authenticate } from './auth.js';
import { originGuard } from './origin.js';
import { describeZodError, onError, problem, RETRY_AFTER_S } from './problem.js';
import { registerInstanceAndWatchRoutes } from './routes/instances-and-watches.js';
import { type Env, optionalJson, routeParts } from './routes/parts.js';

import { registerTaskRoutes } from './routes/tasks.js';
import * as S from './schemas.js';
import { assertVisible, visible } from './scope.js';
import { wellFormedInput } from './well-formed.js';

/** What the API needs besides the hub. */
export interface ApiOptions extends AuthOptions {
  logger: Logger;
  /** Facts for `/health`. */
  info: () => Record<string, unknown>;
  /** Origins (normalized, see origin.ts) whose web pages may use the API besides the service's own. */
  allowedOrigins: readonly string[];
}

/** Largest request body in bytes. */
const MAX_BODY_BYTES = 1024 * 1024;
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

  const { route, ok, errors, json } = routeParts;

  // ---- health and modules
  app.openapi(
    route({
      method: 'get',
      path: '/health',
      tags: ['service'],
      responses: {
        200: ok(S.Health, 'the service is up and its database stores'),
        503: ok(S.Health, 'the service is up but its database cannot store (`storage` says why)'),
      },
    }),
    async (c) => {
      // A schema version that cannot be read is one more sign of the fault the answer reports, not an error.
      const schemaVersion = await hub.schemaVersion().catch((err: unknown) => {
        if (isStorageFault(err)) return undefined;
        throw err;
      });
      const storage = hub.storage();
      const body = { database: hub.database, schemaVersion, storage, ...options.info() };
      if (storage.status === 'ok') return c.json({ ok: true, ...body }, 200);
      // Load balancers and monitors read the status; people read `storage.detail`.
      c.header('retry-after', String(RETRY_AFTER_S[storage.code ?? 'storage_unavailable']));
      return c.json({ ok: false, ...body }, 503);
    },
  );

  app.openapi(
    route({ method: 'get', path: '/modules', tags: ['modules'], responses: { 200: ok(S.ModuleList, 'modules') } }),
    async (c) => {
      const [modules, instances] = await Promise.all([hub.modules.list(), hub.instances.list()]);
      return c.json({ modules: modules.map((m) => moduleView(m, instances)) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/modules/{name}',
      tags: ['modules'],
      request: { params: S.NameParam },
      responses: { 200: ok(S.ModuleView, 'the module'), ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const [module, instances] = await Promise.all([hub.modules.get(name), hub.instances.list({ module: name })]);
      return c.json(moduleView(module, instances), 200);
    },
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.openapi(
      route({
        method: 'post',
        path: `/modules/{name}/${action}`,
        tags: ['modules'],
        summary: paused ? 'Stop taking questions (queued work waits)' : 'Take questions again',
        request: { params: S.NameParam },
        responses: { 200: ok(S.ModuleView, 'the module'), ...errors },
      }),
      async (c) => {
        const { name } = c.req.valid('param');
        actAs(c, name);
        const module = await hub.modules.setPaused(name, paused);
        return c.json(moduleView(module, await hub.instances.list({ module: name })), 200);
      },
    );
  }

  // ---- ask, threads, messages
  app.openapi(
    route({
      method: 'post',
      path: '/ask',
      tags: ['messages'],
      summary: 'Ask a module a question; returns at once with the reply to watch',
      description:
        'With an `Idempotency-Key`, a retry (the same key and question within 24 hours) answers the original ask — the same ids, status 202, header `Idempotent-Replayed: true` — and asks nothing. A key belongs to the token that sent it, or without a token (loopback) to the asking module; the same key with another question is 409 `conflict`.',
      request: { headers: S.AskHeaders, ...json(S.AskBody) },
      responses: {
        202: {
          ...ok(S.AskResult, 'asked'),
          headers: {
            'Idempotent-Replayed': {
              description: '`true` when the Idempotency-Key matched an earlier ask: these are its ids',
              schema: { type: 'string', enum: ['true'] },
            },
          },
        },
        ...errors,
        409: ok(S.Problem, 'the module is paused, or the Idempotency-Key was used for another question'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { 'idempotency-key': requestId } = c.req.valid('header');
      const { module, tokenId } = c.get('principal');
      const from = body.from ?? module;
      if (!from) throw new HubError('validation', 'body.from: the asking module is required');
      actAs(c, from);
      if (body.threadId !== undefined) await assertVisible(hub, c, 'thread', body.threadId);
      const { replayed, ...asked } = await hub.ask({
        ...body,
        from,
        ...(requestId === undefined ? {} : { requestId, ...(tokenId ? { requestScope: `token:${tokenId}` } : {}) }),
      });
      if (replayed) c.header('idempotent-replayed', 'true');
      return c.json(asked, 202);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/threads',
      tags: ['threads'],
      summary: 'Threads, newest first, with who was asked and how the replies stand; by module and reply status',
      request: { query: S.ThreadsQuery },
      responses: { 200: ok(S.ThreadList, 'threads, newest first'), ...errors },
    }),
    async (c) =>
      c.json({ threads: await hub.threads.list({ ...S.threadFilter(c.req.valid('query')), ...visible(c) }) }, 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/threads/{id}',
      tags: ['threads'],
      request: { params: S.IdParam },
      responses: { 200: ok(S.ThreadWithMessages, 'the thread with its messages'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'thread', id);
      const thread = await hub.threads.get(id);
      return c.json({ ...thread, messages: await hub.messages.list({ threadId: id, limit: 1000 }) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/messages',
      tags: ['messages'],
      summary: 'Messages, by thread or status',
      request: { query: S.MessagesQuery },
      responses: { 200: ok(S.MessageList, 'messages'), ...errors },
    }),
    async (c) => c.json({ messages: await hub.messages.list({ ...c.req.valid('query'), ...visible(c) }) }, 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/messages/{id}',
      tags: ['messages'],
      request: { params: S.IdParam },
      responses: { 200: ok(S.Message, 'the message'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'message', id);
      const message = await hub.messages.require(id);
      const task = await hub.tasks.forMessage(id);
      return c.json({ ...message, taskId: task?.id ?? null }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/messages/{id}/history',
      tags: ['messages'],
      request: { params: S.IdParam },
      responses: { 200: ok(S.History, 'every status with its time and reason'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'message', id);
      await hub.messages.require(id);
      return c.json({ history: await hub.statusHistory(id) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/messages/{id}/cancel',
      tags: ['messages'],
      summary: 'Cancel a pending or running reply (its agent is stopped)',
      request: { params: S.IdParam, ...optionalJson(S.ReasonBody) },
      responses: { 200: ok(S.Message, 'cancelled'), ...errors, 409: ok(S.Problem, 'already finished') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'message', id);
      const message = await hub.messages.require(id);
      // A scoped token may cancel its own module's reply, or one in a thread its module started.
      const scope = c.get('principal').module;
      if (scope && message.author !== scope) actAs(c, (await hub.threads.get(message.threadId)).createdBy ?? '');
      const { reason } = (c.req.valid('json') ?? {}) as { reason?: string };
      return c.json(await hub.messages.cancel(id, reason), 200);
    },
  );

  registerTaskRoutes(app, hub);
  registerInstanceAndWatchRoutes(app, hub);

  // ---- events
  app.openapi(
    route({
      method: 'get',
      path: '/events',
      tags: ['events'],
      summary: 'A page of the event log after a cursor, or its newest events',
      request: { query: S.EventsQuery },
      responses: { 200: ok(S.EventPage, 'events'), ...errors, 410: ok(S.Problem, 'the cursor has expired') },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const { after, limit, ...filter } = { ...S.eventFilter(query), ...visible(c) };
      if (query.last === undefined) return c.json(await hub.events.list({ ...filter, after, limit }), 200);
      if (after !== undefined || limit !== undefined) {
        throw new HubError(
          'validation',
          `query.last: reads the newest events; it cannot be combined with ${after !== undefined ? 'after' : 'limit'}`,
        );
      }
      return c.json(await hub.events.recent({ ...filter, last: query.last }), 200);
    },
  );

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'claude-comms',
      version: S.VERSION,
      description:
        'Ask across modules, track the work, watch every change. Errors are application/problem+json with a stable code.',
    },
    servers: [{ url: '/api/v1' }],
  });
  return app;
}
