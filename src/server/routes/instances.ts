/** The instance routes of the API: a module's agents, listed, started, paused, resumed and terminated. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import { actAs } from '../auth.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertOwnInstance } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the instance routes to the API app. */
export function registerInstanceRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/instances',
      tags: ['instances'],
      request: { query: S.InstancesQuery },
      responses: { 200: ok(R.InstanceList, 'instances'), ...errors },
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
      responses: { 201: ok(R.Instance, 'created'), ...errors, 409: ok(R.Problem, 'the module is full') },
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
        responses: { 200: ok(R.Instance, 'done'), ...errors, 409: ok(R.Problem, 'terminated') },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        assertOwnInstance(c, await hub.instances.get(id));
        return c.json(await hub.instances[action](id), 200);
      },
    );
  }
}
