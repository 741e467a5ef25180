/** The health route of the API: whether the service is up and its database stores, with facts about the service. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { isStorageFault } from '../../domain/errors.js';
import type { Hub } from '../../hub.js';
import { RETRY_AFTER_S } from '../problem.js';
import * as R from '../responses.js';
import { type Env, routeParts } from './parts.js';

/** Adds the health route to the API app; `info` gives the facts about the service. */
export function registerHealthRoutes(app: OpenAPIHono<Env>, hub: Hub, info: () => R.ServiceInfo): void {
  const { route, ok } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/health',
      tags: ['service'],
      responses: {
        200: ok(R.Health, 'the service is up and its database stores'),
        503: ok(R.Health, 'the service is up but its database cannot store (`storage` says why)'),
      },
    }),
    async (c) => {
      // A schema version that cannot be read is one more sign of the fault the answer reports, not an error.
      const schemaVersion = await hub.schemaVersion().catch((err: unknown) => {
        if (isStorageFault(err)) return undefined;
        throw err;
      });
      const storage = hub.storage();
      const body = { database: hub.database, schemaVersion, storage, ...info() };
      if (storage.status === 'ok') return c.json({ ok: true, ...body }, 200);
      // Load balancers and monitors read the status; people read `storage.detail`.
      c.header('retry-after', String(RETRY_AFTER_S[storage.code ?? 'storage_unavailable']));
      return c.json({ ok: false, ...body }, 503);
    },
  );
}
