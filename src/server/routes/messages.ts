/** The message routes of the API: list, read, status history, cancel, and an interactive module's answer. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import { actAs } from '../auth.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible, visible } from '../scope.js';
import { type Env, optionalJson, routeParts } from './parts.js';

/** Adds the message routes to the API app. */
export function registerMessageRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/messages',
      tags: ['messages'],
      summary: 'Messages, by thread or status',
      request: { query: S.MessagesQuery },
      responses: { 200: ok(R.MessageList, 'messages'), ...errors },
    }),
    async (c) => c.json({ messages: await hub.messages.list({ ...c.req.valid('query'), ...visible(c) }) }, 200),
  );

  app.openapi(
    route({
      method: 'get',
      path: '/messages/{id}',
      tags: ['messages'],
      request: { params: S.IdParam },
      responses: { 200: ok(R.MessageWithTask, 'the message, with the task behind a reply'), ...errors },
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
      responses: { 200: ok(R.History, 'every status with its time and reason'), ...errors },
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
      responses: { 200: ok(R.Message, 'cancelled'), ...errors, 409: ok(R.Problem, 'already finished') },
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

  app.openapi(
    route({
      method: 'post',
      path: '/messages/{id}/answer',
      tags: ['messages'],
      summary: "An interactive module's answer (or a part of it) to a question in its inbox",
      description:
        'For modules with backend: session, whose own session answers instead of a worker. A token scoped to a module answers only its own replies.',
      request: { params: S.IdParam, ...json(S.AnswerBody) },
      responses: {
        200: ok(R.Message, 'the reply as it now is'),
        ...errors,
        409: ok(R.Problem, 'the reply is finished (answered, cancelled, timed out)'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const scope = c.get('principal').module;
      return c.json(await hub.answer(id, c.req.valid('json'), scope === null ? {} : { as: scope }), 200);
    },
  );
}
