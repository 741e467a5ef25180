/** The event route of the API: a page of the log after a cursor, or its newest events (the live streams: streams.ts). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HubError } from '../../domain/errors.js';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { visible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the event route to the API app. */
export function registerEventRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/events',
      tags: ['events'],
      summary: 'A page of the event log after a cursor, or its newest events',
      request: { query: S.EventsQuery },
      responses: { 200: ok(R.EventPage, 'events'), ...errors, 410: ok(R.Problem, 'the cursor has expired') },
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
}
