/** The retry routes of the API: a failed or cancelled reply, or the task behind one, answered again. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import { assertVisible } from '../scope.js';
import { type Env, routeParts } from './parts.js';

const DESCRIPTION =
  'A new pending reply to the same question (not asked again), by the same module, with its own task; the reply and the task carry `retryOf`. A reply that has not failed or been cancelled is 409 `invalid_transition`. A module token retries only what it may see, as the asking module.';

/** Adds the retry routes to the API app. */
export function registerRetryRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors } = routeParts;
  const responses = {
    202: ok(R.AskResult, 'retried: the new reply and its task to watch'),
    ...errors,
    409: ok(R.Problem, 'the reply has not failed or been cancelled, or its module is paused'),
  };
  for (const kind of ['message', 'task'] as const) {
    app.openapi(
      route({
        method: 'post',
        path: kind === 'message' ? '/messages/{id}/retry' : '/tasks/{id}/retry',
        tags: [kind === 'message' ? 'messages' : 'tasks'],
        summary:
          kind === 'message' ? 'Retry a failed or cancelled reply' : 'Retry the failed or cancelled reply of a task',
        description: DESCRIPTION,
        request: { params: S.IdParam },
        responses,
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        await assertVisible(hub, c, kind, id);
        const scope = c.get('principal').module;
        return c.json(await hub.retry(id, kind, scope === null ? {} : { asker: scope }), 202);
      },
    );
  }
}
