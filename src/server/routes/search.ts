/** The search route of the API: threads, messages and tasks found by words, newest first, a page at a time. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { visible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the search route to the API app. */
export function registerSearchRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors } = routeParts;
  app.openapi(
    route({
      method: 'get',
      path: '/search',
      tags: ['search'],
      summary: 'Threads, messages and tasks whose text holds every word of `q`; page on with `before` = `next`',
      description:
        'Thread titles, questions, answers (once finished), task names and task log entries. Each word of `q` matches the words of the text that begin with it, any case, accents ignored; a word is a run of letters and digits, so punctuation, paths and operators only separate words. A module token finds only what its module may see.',
      request: { query: S.SearchQuery },
      responses: { 200: ok(R.SearchPage, 'hits, newest first'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const hits = await hub.search({ ...S.searchFilter(q), ...visible(c) });
      const limit = q.limit ?? 20;
      return c.json({ hits, next: hits.length === limit ? (hits.at(-1)?.id ?? null) : null }, 200);
    },
  );
}
