/** The thread routes of the API: the list with how each thread's replies stand, and a thread with its messages. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible, visible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the thread routes to the API app. */
export function registerThreadRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/threads',
      tags: ['threads'],
      summary: 'Threads, newest first, with who was asked and how the replies stand; by module and reply status',
      request: { query: S.ThreadsQuery },
      responses: { 200: ok(R.ThreadList, 'threads, newest first'), ...errors },
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
      responses: { 200: ok(R.ThreadWithMessages, 'the thread with its messages'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await assertVisible(hub, c, 'thread', id);
      const thread = await hub.threads.get(id);
      return c.json({ ...thread, messages: await hub.messages.list({ threadId: id, limit: 1000 }) }, 200);
    },
  );
}
