/**
 * The workflow routes of the API: definitions saved by name, runs started, listed, read and controlled. A module
 * token starts runs as its module (its `command` steps may run only commands declared in config.yaml) and sees
 * and controls only the runs it started; it decides on a waiting approval of a run it started, or of any run whose
 * approve step names it among its approvers.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HubError } from '../../domain/errors.js';
import type { WorkflowRun } from '../../domain/workflow-types.js';
import type { Hub } from '../../hub.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';
import * as W from '../workflow-schemas.js';
import { type Env, routeParts } from './parts.js';

/** Adds the workflow routes to the API app. */
export function registerWorkflowRoutes(app: OpenAPIHono<Env>, hub: Hub): void {
  const { route, ok, errors, json } = routeParts;
  const caller = (module: string | null) => (module === null ? {} : { module });
  /** The run, if the caller may see it (a module token: only the runs it started). */
  const own = async (module: string | null, id: string): Promise<WorkflowRun> => {
    const run = await hub.workflows.get(id);
    if (module !== null && run.createdBy !== module) throw new HubError('not_found', `no workflow run with id ${id}`);
    return run;
  };
  const conflicts = { 409: ok(R.Problem, 'the run is not in a state that allows it') };

  app.openapi(
    route({
      method: 'get',
      path: '/workflows',
      tags: ['workflows'],
      summary: 'The saved workflow definitions',
      responses: { 200: ok(W.WorkflowList, 'the definitions') },
    }),
    async (c) => c.json({ workflows: await hub.workflows.definitions() }, 200),
  );
  app.openapi(
    route({
      method: 'post',
      path: '/workflows',
      tags: ['workflows'],
      summary: 'Save a workflow definition under its name (runs keep the one they started with)',
      request: json(W.DefineBody),
      responses: {
        201: ok(W.StoredWorkflow, 'saved'),
        ...errors,
        403: ok(R.Problem, 'a program of its own, from a module token'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const given = body.yaml ?? body.definition;
      if (given === undefined || (body.yaml !== undefined && body.definition !== undefined))
        throw new HubError('validation', 'give the definition as definition (an object) or yaml (text), one of them');
      const file = body.file ? { file: body.file } : {};
      return c.json(await hub.workflows.define(given as never, caller(c.get('principal').module), file), 201);
    },
  );
  app.openapi(
    route({
      method: 'post',
      path: '/runs',
      tags: ['workflows'],
      summary: 'Start a run of a saved workflow (by name) or of a definition given here',
      request: json(W.StartBody),
      responses: {
        201: ok(W.WorkflowRun, 'started'),
        ...errors,
        403: ok(R.Problem, 'a program of its own, from a module token'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const given = [body.workflow, body.definition, body.yaml].filter((x) => x !== undefined);
      if (given.length !== 1)
        throw new HubError('validation', 'give one of workflow (a saved name), definition or yaml');
      return c.json(
        await hub.workflows.start(
          given[0] as never,
          body.inputs ?? {},
          caller(c.get('principal').module),
          body.file ? { file: body.file } : {},
        ),
        201,
      );
    },
  );
  app.openapi(
    route({
      method: 'get',
      path: '/runs',
      tags: ['workflows'],
      summary: 'Runs, newest first',
      request: { query: W.RunsQuery },
      responses: { 200: ok(W.RunList, 'the runs'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const module = c.get('principal').module;
      return c.json(
        { runs: await hub.workflows.list({ ...q, ...(module === null ? {} : { createdBy: module }) }) },
        200,
      );
    },
  );
  app.openapi(
    route({
      method: 'get',
      path: '/runs/{id}',
      tags: ['workflows'],
      summary: 'A run with its steps',
      request: { params: S.IdParam },
      responses: { 200: ok(W.WorkflowRun, 'the run'), ...errors },
    }),
    async (c) => c.json(await own(c.get('principal').module, c.req.valid('param').id), 200),
  );
  const actions = {
    pause: (id: string) => hub.workflows.pause(id),
    resume: (id: string) => hub.workflows.resume(id),
    cancel: (id: string) => hub.workflows.cancel(id),
  };
  for (const [action, act] of Object.entries(actions)) {
    app.openapi(
      route({
        method: 'post',
        path: `/runs/{id}/${action}`,
        tags: ['workflows'],
        summary: `${action[0]?.toUpperCase()}${action.slice(1)} a run`,
        request: { params: S.IdParam },
        responses: { 200: ok(W.WorkflowRun, 'the run'), ...errors, ...conflicts },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        await own(c.get('principal').module, id);
        return c.json(await act(id), 200);
      },
    );
  }
  app.openapi(
    route({
      method: 'post',
      path: '/runs/{id}/steps/{step}/retry',
      tags: ['workflows'],
      summary: 'Retry a failed step and what depends on it, keeping what completed',
      request: { params: W.StepParams },
      responses: { 200: ok(W.WorkflowRun, 'the run'), ...errors, ...conflicts },
    }),
    async (c) => {
      const { id, step } = c.req.valid('param');
      await own(c.get('principal').module, id);
      return c.json(await hub.workflows.retry(id, step), 200);
    },
  );
  for (const decision of ['approve', 'reject'] as const)
    app.openapi(
      route({
        method: 'post',
        path: `/runs/{id}/steps/{step}/${decision}`,
        tags: ['workflows'],
        summary:
          decision === 'approve'
            ? 'Approve a step waiting for an approval: it completes and the run goes on'
            : 'Reject a step waiting for an approval: it fails (reason rejected)',
        request: { params: W.StepParams, ...json(W.DecisionBody) },
        responses: {
          200: ok(W.WorkflowRun, 'the run'),
          ...errors,
          ...conflicts,
          403: ok(R.Problem, 'a module token that is not among the approvers'),
        },
      }),
      async (c) => {
        const { id, step } = c.req.valid('param');
        const body = c.req.valid('json');
        const by = caller(c.get('principal').module);
        return c.json(await hub.workflows[decision](id, step, body, by), 200);
      },
    );
  app.openapi(
    route({
      method: 'post',
      path: '/runs/{id}/steps/{step}/start-from',
      tags: ['workflows'],
      summary: 'A new run from this step, the outputs of the steps not downstream of it reused',
      request: { params: W.StepParams },
      responses: { 201: ok(W.WorkflowRun, 'the new run'), ...errors },
    }),
    async (c) => {
      const { id, step } = c.req.valid('param');
      const module = c.get('principal').module;
      await own(module, id);
      return c.json(await hub.workflows.startFrom(id, step, caller(module)), 201);
    },
  );
}
