/** The ask route of the API: ask a module a question, safely retried with an `Idempotency-Key`. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HubError } from '../../domain/errors.js';
import type { Hub } from '../../hub.js';
import { actAs } from '../auth.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

/** Adds the ask route to the API app. */
export function registerAskRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
  app.openapi(
    route({
      method: 'post',
      path: '/ask',
      tags: ['messages'],
      summary: 'Ask a module a question; returns at once with the reply to watch',
      description:
        'With an `Idempotency-Key`, a retry (the same key and question within 24 hours) answers the original ask — the same ids, status 202, header `Idempotent-Replayed: true` — and asks nothing. A key belongs to the token that sent it, or without a token (loopback) to the asking module; the same key with another question is 409 `conflict`.',
      request: { headers: S.AskHeaders, ...json(S.AskBody) },
      responses: {
        202: {
          ...ok(R.AskResult, 'asked'),
          headers: {
            'Idempotent-Replayed': {
              description: '`true` when the Idempotency-Key matched an earlier ask: these are its ids',
              schema: { type: 'string', enum: ['true'] },
            },
          },
        },
        ...errors,
        409: ok(R.Problem, 'the module is paused, or the Idempotency-Key was used for another question'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { 'idempotency-key': requestId } = c.req.valid('header');
      const { module, tokenId } = c.get('principal');
      const from = body.from ?? module;
      if (!from) throw new HubError('validation', 'body.from: the asking module is required');
      actAs(c, from);
      if (body.threadId !== undefined) await assertVisible(hub, c, 'thread', body.threadId);
      // A reply the token may not see is unknown, word for word, whatever it is.
      if (body.via !== undefined) await assertVisible(hub, c, 'message', body.via);
      const { replayed, ...asked } = await hub.ask({
        ...body,
        from,
        ...(requestId === undefined ? {} : { requestId, ...(tokenId ? { requestScope: `token:${tokenId}` } : {}) }),
      });
      if (replayed) c.header('idempotent-replayed', 'true');
      return c.json(asked, 202);
    },
  );
}
