/** The module routes of the API: list, read, pause and resume. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { moduleView } from '../../domain/types.js';
import type { Hub } from '../../hub.js';
import { actAs } from '../auth.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { type Env, routeParts } from './parts.js';

/** Adds the module routes to the API app. */
export function registerModuleRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/modules',
      tags: ['modules'],
      summary: 'The modules by name, or those declaring a capability',
      request: { query: S.ModulesQuery },
      responses: { 200: ok(R.ModuleList, 'modules'), ...errors },
    }),
    async (c) => {
      const { capability } = c.req.valid('query');
      const [modules, instances] = await Promise.all([
        hub.modules.list(capability === undefined ? {} : { capability }),
        hub.instances.list(),
      ]);
      return c.json({ modules: modules.map((m) => moduleView(m, instances)) }, 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/modules/{name}',
      tags: ['modules'],
      request: { params: S.NameParam },
      responses: { 200: ok(R.ModuleView, 'the module'), ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const [module, instances] = await Promise.all([hub.modules.get(name), hub.instances.list({ module: name })]);
      return c.json(moduleView(module, instances), 200);
    },
  );

  app.openapi(
    route({
      method: 'get',
      path: '/modules/{name}/inbox',
      tags: ['modules'],
      summary: 'The questions waiting for an interactive module (backend: session), oldest first',
      description:
        'Pending questions and those its session has begun answering. A token scoped to a module reads only its own inbox.',
      request: { params: S.NameParam, query: S.InboxQuery },
      responses: { 200: ok(R.Inbox, 'the inbox'), ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      actAs(c, name);
      return c.json({ module: name, inbox: await hub.inbox(name, c.req.valid('query')) }, 200);
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
        responses: { 200: ok(R.ModuleView, 'the module'), ...errors },
      }),
      async (c) => {
        const { name } = c.req.valid('param');
        actAs(c, name);
        const module = await hub.modules.setPaused(name, paused);
        return c.json(moduleView(module, await hub.instances.list({ module: name })), 200);
      },
    );
  }
}
