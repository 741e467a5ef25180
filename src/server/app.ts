/**
 * The HTTP API under `/api/v1`: JSON in and out, every request validated by the zod schemas that also generate
 * the OpenAPI document (`/api/v1/openapi.json`), every error a problem document with a stable `code`.
 */
import type { IncomingMessage } from 'node:http';
import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { HubError } from '../domain/errors.js';
import { moduleView } from '../domain/types.js';
import type { Hub } from '../hub.js';
import { type AuthOptions, actAs, authenticate, type Principal } from './auth.js';
import { describeZodError, onError, problem } from './problem.js';
import * as S from './schemas.js';

/** What the API needs besides the hub. */
export interface ApiOptions extends AuthOptions {
  logger: Logger;
  /** Facts for `/health`. */
  info: () => Record<string, unknown>;
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
    route({ method: 'get', path: '/health', tags: ['service'], responses: { 200: ok(S.Health, 'the service is up') } }),
    async (c) =>
      c.json({ ok: true, database: hub.database, schemaVersion: await hub.schemaVersion(), ...options.info() }, 200),
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
      request: json(S.AskBody),
      responses: { 202: ok(S.AskResult, 'asked'), ...errors, 409: ok(S.Problem, 'the module is paused') },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const from = body.from ?? c.get('principal').module;
      if (!from) throw new HubError('validation', 'body.from: the asking module is required');
      actAs(c, from);
      return c.json(await hub.ask({ ...body, from }), 202);
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
      return c.json({ threads: await hub.threads.list(limit === undefined ? {} : { limit }) }, 200);
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
    async (c) => c.json({ messages: await hub.messages.list(c.req.valid('query')) }, 200),
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
      const message = await hub.messages.require(id);
      // A scoped token may cancel its own module's reply, or one in a thread its module started.
      const scope = c.get('principal').module;
      if (scope && message.author !== scope) actAs(c, (await hub.threads.get(message.threadId)).createdBy ?? '');
      const { reason } = (c.req.valid('json') ?? {}) as { reason?: string };
      return c.json(await hub.messages.cancel(id, reason), 200);
    },
  );

  // ---- tasks
  /** The task, once it is checked that the request may act as the task's module (`forbidden` otherwise). */
  const asTaskModule = async (c: Context<Env>, id: string) => {
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
      const tasks = await hub.tasks.list(S.taskFilter(q));
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
    async (c) => c.json(await hub.tasks.stats(c.req.valid('query')), 200),
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
        const page = await hub.tasks.list({ ...S.taskFilter({ ...q, before }), limit: 1000 });
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
    async (c) => c.json(await hub.progress.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/progress',
      tags: ['tasks'],
      summary: 'The agent control view of every unfinished task',
      responses: { 200: ok(S.AgentControlList, 'unfinished tasks, newest first') },
    }),
    async (c) => c.json({ tasks: await hub.progress.active() }, 200),
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
      return c.json({ instances: await hub.instances.list({ ...q, all: q.all === 'true' }) }, 200);
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
        actAs(c, (await hub.instances.get(id)).module);
        return c.json(await hub.instances[action](id), 200);
      },
    );
  }

  // ---- watches (hooks)
  // A command runs as the service's user, so only a token not scoped to a module may add or remove one. The
  // watches concerned are read only for such a token: an unscoped one (every request on loopback) may do anything.
  type Commands = readonly { command?: string | null | undefined }[];
  const mayRunCommands = async (c: Context<Env>, watches: () => Commands | Promise<Commands>) => {
    const scope = c.get('principal').module;
    if (scope !== null && (await watches()).some((w) => typeof w.command === 'string')) {
      throw new HubError(
        'forbidden',
        `a token scoped to module ${scope} cannot add or remove a watch running a command`,
      );
    }
  };

  app.openapi(
    route({
      method: 'get',
      path: '/watches',
      tags: ['watches'],
      summary: 'Live watches (with all=true, removed and finished ones too), oldest first; never their secrets',
      request: { query: S.WatchesQuery },
      responses: { 200: ok(S.WatchList, 'watches'), ...errors },
    }),
    async (c) => c.json({ watches: await hub.watches.list({ all: c.req.valid('query').all === 'true' }) }, 200),
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
    async (c) => {
      const body = c.req.valid('json');
      await mayRunCommands(c, () => [body]);
      return c.json(await hub.watches.create(body), 201);
    },
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
      await mayRunCommands(c, async () => (await hub.watches.list()).filter((w) => w.messageId === messageId));
      return c.json({ watches: await hub.watches.removeForMessage(messageId) }, 200);
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
    async (c) => {
      const { id } = c.req.valid('param');
      await mayRunCommands(c, async () => [await hub.watches.get(id)]);
      return c.json(await hub.watches.remove(id), 200);
    },
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
    async (c) => c.json(await hub.events.list(S.eventFilter(c.req.valid('query'))), 200),
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
