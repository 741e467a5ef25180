/** The watch routes of the API (hooks): list, create and remove. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the watch routes to the API app. */
export function registerWatchRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
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
      responses: { 200: ok(R.WatchList, 'watches'), ...errors },
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
      responses: { 201: ok(R.Watch, 'created'), ...errors },
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
      responses: { 200: ok(R.WatchList, 'the watches removed (none when it had none)'), ...errors },
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
      responses: { 200: ok(R.Watch, 'removed'), ...errors },
    }),
    async (c) => c.json(await hub.watches.remove(c.req.valid('param').id, owner(c)), 200),
  );
}
