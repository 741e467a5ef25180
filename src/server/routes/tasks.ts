/** The task routes of the API: create, list, export, stats, read with the log, the log paged, update, finish. */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Hub } from '../../hub.js';
import { actAs } from '../auth.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible, visible } from '../scope.js';
import { type Env, optionalJson, routeParts } from './parts.js';

/** Adds the task routes to the API app. */
export function registerTaskRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
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
      responses: { 201: ok(R.Task, 'created'), ...errors },
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
      responses: { 200: ok(R.TaskList, 'tasks'), ...errors },
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
      responses: { 200: ok(R.TaskStats, 'totals'), ...errors },
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
          content: { 'application/json': { schema: R.TaskList }, 'text/csv': { schema: z.string() } },
          description: 'the tasks',
        },
        ...errors,
      },
    }),
    async (c) => {
      const { format, ...q } = c.req.valid('query');
      const filter = { ...S.taskFilter(q), ...visible(c) };
      // Streamed a page at a time, each read when the client has taken the last: an export of a million tasks
      // neither holds them all in memory nor keeps the API from answering while it runs.
      const PAGE = 1000;
      let page = await hub.tasks.list({ ...filter, limit: PAGE });
      const csv = format === 'csv';
      let started = false;
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const rows = csv ? S.tasksCsvRows(page) : page.map((t) => JSON.stringify(t)).join(',');
          const head = started ? '' : csv ? S.TASKS_CSV_HEADER : '{"tasks":[';
          const joint = started && !csv && page.length ? ',' : '';
          started = true;
          const last = page.at(-1);
          if (page.length < PAGE || !last) {
            controller.enqueue(encoder.encode(`${head}${joint}${rows}${csv ? '' : '],"next":null}'}`));
            controller.close();
            return;
          }
          controller.enqueue(encoder.encode(`${head}${joint}${rows}`));
          // The next page after a turn of the event loop, so requests waiting meanwhile are answered.
          await new Promise((resolve) => setImmediate(resolve));
          page = await hub.tasks.list({ ...filter, before: last.id, limit: PAGE });
        },
      });
      if (csv) {
        c.header('content-disposition', 'attachment; filename="tasks.csv"');
        return c.body(body, 200, { 'content-type': 'text/csv; charset=utf-8' });
      }
      return c.body(body, 200, { 'content-type': 'application/json' });
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
      responses: { 200: ok(R.TaskWithLog, 'the task with the end of its action log, oldest first'), ...errors },
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
      responses: { 200: ok(R.TaskLogPage, 'log entries'), ...errors },
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
      responses: { 200: ok(R.AgentControl, 'the view'), ...errors },
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
      responses: { 200: ok(R.AgentControlList, 'unfinished tasks, newest first') },
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
      responses: { 200: ok(R.Task, 'updated'), ...errors, 409: ok(R.Problem, 'illegal transition') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await asTaskModule(c, id);
      return c.json(await hub.tasks.change(id, c.req.valid('json')), 200);
    },
  );

  app.openapi(
    route({
      method: 'post',
      path: '/tasks/{id}/criteria/verify',
      tags: ['tasks'],
      summary: 'Mark a criterion (by index or text) verified',
      request: { params: S.IdParam, ...json(S.VerifyBody) },
      responses: { 200: ok(R.Task, 'updated'), ...errors },
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
      responses: { 201: ok(R.Ok, 'logged'), ...errors },
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
      responses: { 200: ok(R.Task, 'finished'), ...errors, 409: ok(R.Problem, 'already finished') },
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
}
