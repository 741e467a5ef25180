/**
 * The HTTP API under `/api/v1`: JSON in and out, every request validated by the zod schemas that also generate
 * the OpenAPI document (`/api/v1/openapi.json`), every error a problem document with a stable `code`.
 */
import type { IncomingMessage } from 'node:http';
import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { HubError, isStorageFault } from '../domain/errors.js';
import { moduleView } from '../domain/types.js';
import type { Hub } from '../hub.js';
import { type AuthOptions, actAs, authenticate, type Principal } from './auth.js';
import { originGuard } from './origin.js';
import { describeZodError, onError, problem, RETRY_AFTER_S } from './problem.js';
import * as S from './schemas.js';
import { assertOwnInstance, assertVisible, visible } from './scope.js';
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

export type Env = { Variables: { principal: Principal } };

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

  const route = <R extends RouteConfig>(config: R) => createRoute({ ...config, security: [{ Bearer: [] }, {}] }) as R;
  const ok = (schema: z.ZodType, description: string) => ({
    content: { 'application/json': { schema } },
    description,
  });
  const errors = {
    400: ok(S.Problem, 'invalid input'),
    404: ok(S.Problem, 'unknown id'),
  };
  const json = <T extends z.ZodType>(schema: T) => ({
    body: { content: { 'application/json': { schema } }, required: true },
  });

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
      request: { query: S.LimitQuery },
      responses: { 200: ok(S.ThreadList, 'threads, newest first'), ...errors },
    }),
    async (c) => {
      const { limit } = c.req.valid('query');
      return c.json(
        { threads: await hub.threads.list({ ...(limit === undefined ? {} : { limit }), ...visible(c) }) },
        200,
      );
    },
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

  // ---- tasks
  /**
   * The task, once it is checked that the request may see it (`not_found` otherwise) and act as the task's
   * module (`forbidden` otherwise).
   */
  const asTaskModule = async (c: Context<Env>, id: string) => {
    await assertVisible(hub, c, 'task', id);
    const task = await hub.tasks.get(id);
    actAs(c, task.module ?? '');
    return task;
  };

  app.openapi(
    route({
      method: 'post',
      path: '/tasks',
      tags: ['tasks'],
      request: json(S.CreateTaskBody),
      responses: { 201: ok(S.Task, 'created'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const module = body.module ?? c.get('principal').module ?? null;
      actAs(c, module ?? '');
      for (const taskId of [...(body.parentId ? [body.parentId] : []), ...(body.dependsOn ?? [])]) {
        await assertVisible(hub, c, 'task', taskId);
      }
      return c.json(await hub.tasks.create({ ...body, module, kind: 'manual' }), 201);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks',
      tags: ['tasks'],
      summary: 'Tasks, newest first; page on with `before` = the last id',
      request: { query: S.TasksQuery },
      responses: { 200: ok(S.TaskList, 'tasks'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const tasks = await hub.tasks.list({ ...S.taskFilter(q), ...visible(c) });
      const limit = q.limit ?? 100;
      return c.json({ tasks, next: tasks.length === limit ? (tasks.at(-1)?.id ?? null) : null }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks/stats',
      tags: ['tasks'],
      request: { query: S.StatsQuery },
      responses: { 200: ok(S.TaskStats, 'totals'), ...errors },
    }),
    async (c) => c.json(await hub.tasks.stats({ ...c.req.valid('query'), ...visible(c) }), 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks/export',
      tags: ['tasks'],
      summary: 'Every matching task as JSON or CSV',
      request: { query: S.ExportQuery },
      responses: {
        200: {
          content: { 'application/json': { schema: S.TaskList }, 'text/csv': { schema: z.string() } },
          description: 'the tasks',
        },
        ...errors,
      },
    }),
    async (c) => {
      const { format, ...q } = c.req.valid('query');
      const tasks = [];
      let before: string | undefined;
      for (;;) {
        const page = await hub.tasks.list({ ...S.taskFilter({ ...q, before }), limit: 1000, ...visible(c) });
        tasks.push(...page);
        if (page.length < 1000) break;
        before = page.at(-1)?.id;
      }
      if (format === 'csv') {
        c.header('content-disposition', 'attachment; filename="tasks.csv"');
        return c.body(S.tasksCsv(tasks), 200, { 'content-type': 'text/csv; charset=utf-8' });
      }
      return c.json({ tasks, next: null }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks/{id}',
      tags: ['tasks'],
      summary:
        'The task with the newest `logLimit` entries of its action log (default 20); the whole log, page by page: GET /tasks/{id}/log',
      request: { params: S.IdParam, query: S.TaskQuery },
      responses: { 200: ok(S.TaskWithLog, 'the task with the end of its action log, oldest first'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const logLimit = c.req.valid('query').logLimit ?? 20;
      await assertVisible(hub, c, 'task', id);
      const task = await hub.tasks.get(id);
      const log = logLimit ? await hub.events.latest({ taskId: id, types: ['task.logged'], limit: logLimit }) : [];
      return c.json({ ...task, log: log.map(S.taskLogEntry) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks/{id}/log',
      tags: ['tasks'],
      summary: 'A page of the task’s action log, oldest first; read on with `after` = `next` while `hasMore`',
      request: { params: S.IdParam, query: S.TaskLogQuery },
      responses: { 200: ok(S.TaskLogPage, 'log entries'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { after, limit } = c.req.valid('query');
      await assertVisible(hub, c, 'task', id);
      await hub.tasks.get(id);
      const page = await hub.events.list({ taskId: id, types: ['task.logged'], after, limit: limit ?? 100 });
      return c.json({ log: page.events.map(S.taskLogEntry), next: page.cursor, hasMore: page.hasMore }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/tasks/{id}/control',
      tags: ['tasks'],
      summary: 'The agent control panel’s view of a task (progress, iteration, cost, criteria, files, last logs)',
      request: { params: S.IdParam },
      responses: { 200: ok(S.AgentControl, 'the view'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'task', id);
      return c.json(await hub.progress.get(id), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/progress',
      tags: ['tasks'],
      summary: 'The agent control view of every unfinished task',
      responses: { 200: ok(S.AgentControlList, 'unfinished tasks, newest first') },
    }),
    async (c) => c.json({ tasks: await hub.progress.active(visible(c)) }, 200),
  );

  app.openapi(
    route({
      method: 'patch',
      path: '/tasks/{id}',
      tags: ['tasks'],
      summary: 'Update progress, iteration, counters or status',
      request: { params: S.IdParam, ...json(S.UpdateTaskBody) },
      responses: { 200: ok(S.Task, 'updated'), ...errors, 409: ok(S.Problem, 'illegal transition') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { status, error, reason, ...change } = c.req.valid('json');
      const task = await asTaskModule(c, id);
      let result = task;
      if (Object.keys(change).length) result = await hub.tasks.update(id, change);
      if (status) {
        result = await hub.tasks.transition(id, status, {
          ...(error ? { error } : {}),
          ...(reason ? { reason } : {}),
        });
      }
      return c.json(result, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/tasks/{id}/criteria/verify',
      tags: ['tasks'],
      summary: 'Mark a criterion (by index or text) verified',
      request: { params: S.IdParam, ...json(S.VerifyBody) },
      responses: { 200: ok(S.Task, 'updated'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { criterion } = c.req.valid('json');
      await asTaskModule(c, id);
      return c.json(await hub.tasks.verifyCriterion(id, criterion), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/tasks/{id}/log',
      tags: ['tasks'],
      request: { params: S.IdParam, ...json(S.LogBody) },
      responses: { 201: ok(S.Ok, 'logged'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await asTaskModule(c, id);
      await hub.tasks.log(id, c.req.valid('json'));
      return c.json({ ok: true }, 201);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/tasks/{id}/complete',
      tags: ['tasks'],
      summary: 'Finish a task: complete, or failed with an error',
      request: { params: S.IdParam, ...optionalJson(S.CompleteBody) },
      responses: { 200: ok(S.Task, 'finished'), ...errors, 409: ok(S.Problem, 'already finished') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = (c.req.valid('json') ?? {}) as { success?: boolean; error?: string };
      const task = await asTaskModule(c, id);
      const success = body.success ?? true;
      if (task.status === 'pending') await hub.tasks.transition(id, 'processing');
      return c.json(
        await hub.tasks.transition(
          id,
          success ? 'complete' : 'failed',
          success ? {} : { error: body.error ?? 'failed' },
        ),
        200,
      );
    },
  );

  // ---- instances
  app.openapi(
    route({
      method: 'get',
      path: '/instances',
      tags: ['instances'],
      request: { query: S.InstancesQuery },
      responses: { 200: ok(S.InstanceList, 'instances'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      // A module token lists its own module's instances (another module asked for lists none).
      const scope = c.get('principal').module;
      if (scope !== null && q.module !== undefined && q.module !== scope) return c.json({ instances: [] }, 200);
      const module = scope ?? q.module;
      return c.json(
        { instances: await hub.instances.list({ ...q, ...(module ? { module } : {}), all: q.all === 'true' }) },
        200,
      );
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/instances',
      tags: ['instances'],
      request: json(S.CreateInstanceBody),
      responses: { 201: ok(S.Instance, 'created'), ...errors, 409: ok(S.Problem, 'the module is full') },
    }),
    async (c) => {
      const { module } = c.req.valid('json');
      actAs(c, module);
      return c.json(await hub.instances.create(module), 201);
    },
  );

  for (const action of ['pause', 'resume', 'terminate'] as const) {
    app.openapi(
      route({
        method: 'post',
        path: `/instances/{id}/${action}`,
        tags: ['instances'],
        request: { params: S.IdParam },
        responses: { 200: ok(S.Instance, 'done'), ...errors, 409: ok(S.Problem, 'terminated') },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        assertOwnInstance(c, await hub.instances.get(id));
        return c.json(await hub.instances[action](id), 200);
      },
    );
  }

  // ---- watches (hooks)
  // A watch created with a module token belongs to that module, which alone sees and removes it; such a watch
  // never runs a command (one runs as the service's user), so no command ever reaches a module token. Only an
  // unscoped token (every request on loopback) sees the others. See hooks/watches.ts.
  const owner = (c: Context<Env>) => c.get('principal').module ?? undefined;

  app.openapi(
    route({
      method: 'get',
      path: '/watches',
      tags: ['watches'],
      summary: 'Live watches (with all=true, removed and finished ones too), oldest first; never their secrets',
      request: { query: S.WatchesQuery },
      responses: { 200: ok(S.WatchList, 'watches'), ...errors },
    }),
    async (c) => {
      const all = c.req.valid('query').all === 'true';
      const createdBy = owner(c);
      return c.json({ watches: await hub.watches.list(createdBy === undefined ? { all } : { all, createdBy }) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/watches',
      tags: ['watches'],
      summary: 'Run a command or call a webhook when a reply changes status; the answer carries the webhook secret',
      request: json(S.CreateWatchBody),
      responses: { 201: ok(S.Watch, 'created'), ...errors },
    }),
    async (c) => c.json(await hub.watches.create(c.req.valid('json'), owner(c) ?? null), 201),
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/watches',
      tags: ['watches'],
      summary: 'Remove every live watch of a message',
      request: { query: S.RemoveWatchesQuery },
      responses: { 200: ok(S.WatchList, 'the watches removed (none when it had none)'), ...errors },
    }),
    async (c) => {
      const { messageId } = c.req.valid('query');
      await assertVisible(hub, c, 'message', messageId);
      return c.json({ watches: await hub.watches.removeForMessage(messageId, owner(c)) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'delete',
      path: '/watches/{id}',
      tags: ['watches'],
      summary: 'Remove a watch: it fires no more, and a delivery in progress is stopped',
      request: { params: S.IdParam },
      responses: { 200: ok(S.Watch, 'removed'), ...errors },
    }),
    async (c) => c.json(await hub.watches.remove(c.req.valid('param').id, owner(c)), 200),
  );

  // ---- events
  app.openapi(
    route({
      method: 'get',
      path: '/events',
      tags: ['events'],
      summary: 'A page of the event log after a cursor',
      request: { query: S.EventsQuery },
      responses: { 200: ok(S.EventPage, 'events'), ...errors, 410: ok(S.Problem, 'the cursor has expired') },
    }),
    async (c) => c.json(await hub.events.list({ ...S.eventFilter(c.req.valid('query')), ...visible(c) }), 200),
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

/** A JSON body that may be left out. */
function optionalJson<T extends z.ZodType>(schema: T) {
  return { body: { content: { 'application/json': { schema } }, required: false } };
}
