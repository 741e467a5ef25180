// The OpenAPI document against what a real service answers: every JSON operation is called, and every field of
// every answer must be described by the document's schema for that operation and status (an undescribed field,
// a missing required one or a wrong type fails), so the document cannot drift from the domain types. Also: the
// document lists the operations it always has.

import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { BACKENDS } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q));`;

/** Every operation of the API, as `METHOD path`. */
const OPERATIONS = [
  'DELETE /watches',
  'DELETE /watches/{id}',
  'GET /events',
  'GET /events/stream',
  'GET /health',
  'GET /instances',
  'GET /messages',
  'GET /messages/{id}',
  'GET /messages/{id}/history',
  'GET /modules',
  'GET /modules/{name}',
  'GET /modules/{name}/inbox',
  'GET /progress',
  'GET /runs',
  'GET /runs/{id}',
  'GET /schemas',
  'GET /schemas/{name}',
  'GET /schemas/{name}/{version}',
  'GET /schemas/{name}/{version}/types',
  'GET /search',
  'GET /tasks',
  'GET /tasks/export',
  'GET /tasks/stats',
  'GET /tasks/{id}',
  'GET /tasks/{id}/control',
  'GET /tasks/{id}/log',
  'GET /templates',
  'GET /templates/{name}/{version}',
  'GET /threads',
  'GET /threads/{id}',
  'GET /watches',
  'GET /workflows',
  'PATCH /tasks/{id}',
  'POST /ask',
  'POST /instances',
  'POST /instances/{id}/pause',
  'POST /instances/{id}/resume',
  'POST /instances/{id}/terminate',
  'POST /messages/{id}/answer',
  'POST /messages/{id}/cancel',
  'POST /messages/{id}/retry',
  'POST /modules/{name}/pause',
  'POST /modules/{name}/resume',
  'POST /runs',
  'POST /runs/{id}/cancel',
  'POST /runs/{id}/pause',
  'POST /runs/{id}/resume',
  'POST /runs/{id}/steps/{step}/approve',
  'POST /runs/{id}/steps/{step}/reject',
  'POST /runs/{id}/steps/{step}/retry',
  'POST /runs/{id}/steps/{step}/start-from',
  'POST /schemas',
  'POST /schemas/check',
  'POST /schemas/{name}/{version}/validate',
  'POST /tasks',
  'POST /tasks/{id}/complete',
  'POST /tasks/{id}/criteria/verify',
  'POST /tasks/{id}/log',
  'POST /tasks/{id}/retry',
  'POST /templates',
  'POST /templates/{name}/{version}/render',
  'POST /watches',
  'POST /workflows',
];

/** The part of JSON Schema the document uses. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** What in `value` (at `at`) the document's `schema` does not describe: one line per field. */
function undescribed(doc: Document, schema: Schema, value: unknown, at: string): string[] {
  // `{}` (with at most a description): any value, as the document says of free JSON such as a JSON Schema's body.
  if (Object.keys(schema).every((k) => k === 'description')) return [];
  if (schema.$ref) {
    const target = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
    return target ? undescribed(doc, target, value, at) : [`${at}: ${schema.$ref} is not in the document`];
  }
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    // The branch that describes the value best (nullable fields are `anyOf [X, null]`).
    const found = branches.map((b) => undescribed(doc, b, value, at)).sort((a, b) => a.length - b.length);
    return found[0] ?? [];
  }
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => resolve(doc, s));
    const merged: Schema = {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties), schema.properties),
      required: [...parts.flatMap((p) => p.required ?? []), ...(schema.required ?? [])],
    };
    return undescribed(doc, merged, value, at);
  }
  const types = schema.type === undefined ? undefined : [schema.type].flat();
  const actual =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'array'
        : Number.isInteger(value) && types?.includes('integer')
          ? 'integer'
          : typeof value;
  if (types && !types.includes(actual)) return [`${at}: ${JSON.stringify(value)} is not ${types.join(' or ')}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not in its enum`];
  if (Array.isArray(value)) {
    return schema.items ? value.flatMap((v, i) => undescribed(doc, schema.items as Schema, v, `${at}[${i}]`)) : [];
  }
  if (actual !== 'object') return [];
  const record = value as Record<string, unknown>;
  const problems = (schema.required ?? [])
    .filter((key) => !(key in record))
    .map((key) => `${at}.${key}: required by the document but not returned`);
  for (const [key, field] of Object.entries(record)) {
    const described = schema.properties?.[key];
    if (described) problems.push(...undescribed(doc, described, field, `${at}.${key}`));
    // A map (no named fields), or named fields with a schema for the others, describes those values; an object
    // with named fields that merely lets others through describes nothing about them.
    else if (typeof schema.additionalProperties === 'object') {
      problems.push(...undescribed(doc, schema.additionalProperties, field, `${at}.${key}`));
    } else problems.push(`${at}.${key}: returned but not in the document`);
  }
  return problems;
}

function resolve(doc: Document, schema: Schema): Schema {
  return schema.$ref
    ? resolve(doc, doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] ?? {})
    : schema;
}

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

describe.each(BACKENDS)('the OpenAPI document on $name', (backend) => {
  it.skipIf(!backend.available)('lists every operation of the API', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    const doc = (await (await fetch(`${service.url}/api/v1/openapi.json`)).json()) as Document;
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(OPERATIONS);
  });

  it.skipIf(!backend.available)('describes every field of every JSON answer', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    const { hub } = service;
    await commandModule(hub, 'arangodb', ECHO, 2);
    await hub.modules.register({ name: 'marker', description: 'only asks' });
    const doc = (await (await fetch(`${service.url}/api/v1/openapi.json`)).json()) as Document;

    const called = new Set<string>();
    const problems: string[] = [];
    /** Calls `path` (an instance of `template`), checks its answer against the document, returns the answer. */
    const call = async (method: string, template: string, path: string, body?: unknown) => {
      const res = await fetch(`${service.url}/api/v1${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const answer = (await res.json()) as Record<string, unknown>;
      expect(res.status, `${method} ${path}: ${JSON.stringify(answer)}`).toBeLessThan(300);
      const operation = `${method} ${template}`;
      called.add(operation);
      const schema =
        doc.paths[template]?.[method.toLowerCase()]?.responses[res.status]?.content?.['application/json']?.schema;
      if (!schema) problems.push(`${operation}: no schema for status ${res.status}`);
      else problems.push(...undescribed(doc, schema, answer, operation));
      return answer;
    };

    await call('GET', '/health', '/health');
    const asked = await call('POST', '/ask', '/ask', { from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    const { messageId, threadId, taskId } = asked as Record<string, string>;
    await hub.waitForCompletion(messageId as string, { timeoutMs: 20_000 });
    await call('GET', '/messages/{id}', `/messages/${messageId}`);
    await call('GET', '/messages', `/messages?threadId=${threadId}`);
    await call('GET', '/messages/{id}/history', `/messages/${messageId}/history`);
    await call('GET', '/threads', '/threads');
    await call('GET', '/threads/{id}', `/threads/${threadId}`);
    await call('GET', '/tasks/{id}', `/tasks/${taskId}`);
    await call('GET', '/tasks/{id}/control', `/tasks/${taskId}/control`);

    const pending = await call('POST', '/ask', '/ask', { from: 'arangodb', to: 'marker', prompt: 'never answered' });
    await call('POST', '/messages/{id}/cancel', `/messages/${pending.messageId}/cancel`, { reason: 'not needed' });
    const retried = await call('POST', '/messages/{id}/retry', `/messages/${pending.messageId}/retry`);
    await call('POST', '/messages/{id}/cancel', `/messages/${retried.messageId}/cancel`);
    await call('POST', '/tasks/{id}/retry', `/tasks/${retried.taskId}/retry`);

    await hub.modules.register({ name: 'reviewer', config: { backend: 'session', cwd: '/tmp' } });
    const waiting = await call('POST', '/ask', '/ask', { from: 'marker', to: 'reviewer', prompt: 'Looks right?' });
    await call('GET', '/modules/{name}/inbox', '/modules/reviewer/inbox');
    await call('POST', '/messages/{id}/answer', `/messages/${waiting.messageId}/answer`, {
      content: 'Ye',
      final: false,
    });
    await call('POST', '/messages/{id}/answer', `/messages/${waiting.messageId}/answer`, { content: 's.' });

    const parent = await call('POST', '/tasks', '/tasks', { name: 'Index the PDFs', module: 'marker' });
    const task = await call('POST', '/tasks', '/tasks', {
      name: 'Index page 12',
      module: 'marker',
      criteria: ['all pages', 'tables kept'],
      maxIterations: 5,
      maxCostUsd: 2,
      parentId: parent.id,
      dependsOn: [parent.id],
    });
    await call('PATCH', '/tasks/{id}', `/tasks/${task.id}`, {
      progress: 40,
      iteration: 2,
      costUsd: 0.5,
      tokensIn: 10,
      tokensOut: 20,
      filesCreated: ['out/12.json'],
      status: 'processing',
    });
    await call('POST', '/tasks/{id}/criteria/verify', `/tasks/${task.id}/criteria/verify`, { criterion: 1 });
    await call('POST', '/tasks/{id}/log', `/tasks/${task.id}/log`, {
      text: 'page 12 done',
      level: 'warn',
      action: 'Write',
      target: 'out/12.json',
      success: true,
    });
    await call('GET', '/progress', '/progress');
    await call('GET', '/tasks/{id}/control', `/tasks/${task.id}/control`);
    await call('GET', '/tasks/{id}', `/tasks/${task.id}`);
    await call('GET', '/tasks/{id}/log', `/tasks/${task.id}/log`);
    await call('POST', '/tasks/{id}/complete', `/tasks/${task.id}/complete`, { success: false, error: 'disk full' });
    await call('GET', '/tasks', '/tasks');
    await call('GET', '/tasks/export', '/tasks/export');
    await call('GET', '/tasks/stats', '/tasks/stats');
    await call('GET', '/search', '/search?q=page%20done&limit=1');
    await call('GET', '/search', '/search?q=structure&kind=message');

    await call('GET', '/modules', '/modules');
    await call('GET', '/modules/{name}', '/modules/arangodb');
    await call('POST', '/modules/{name}/pause', '/modules/arangodb/pause');
    await call('POST', '/modules/{name}/resume', '/modules/arangodb/resume');

    const instance = await call('POST', '/instances', '/instances', { module: 'arangodb' });
    for (const action of ['pause', 'resume', 'terminate']) {
      await call('POST', `/instances/{id}/${action}`, `/instances/${instance.id}/${action}`);
    }
    await call('GET', '/instances', '/instances?all=true');

    const watch = await call('POST', '/watches', '/watches', { messageId, webhook: 'http://127.0.0.1:9/hook' });
    await call('POST', '/watches', '/watches', { messageId, command: 'true', on: ['status'] });
    await call('GET', '/watches', '/watches');
    await call('DELETE', '/watches/{id}', `/watches/${watch.id}`);
    await call('DELETE', '/watches', `/watches?messageId=${messageId}`);

    await call('GET', '/events', '/events?limit=1000');
    await call('GET', '/events', '/events?last=5');

    const paper = { type: 'object', properties: { title: { type: 'string' } }, additionalProperties: false };
    await call('POST', '/schemas', '/schemas', {
      name: 'paper',
      version: '1.0.0',
      schema: paper,
      description: 'a paper',
    });
    await call('POST', '/schemas', '/schemas', {
      name: 'paper',
      version: '1.0.0',
      schema: paper,
      description: 'a paper',
    });
    await call('POST', '/schemas/check', '/schemas/check', {
      name: 'paper',
      version: '2.0.0',
      schema: { type: 'object' },
    });
    await call('GET', '/schemas', '/schemas');
    await call('GET', '/schemas/{name}', '/schemas/paper');
    await call('GET', '/schemas/{name}/{version}', '/schemas/paper/latest');
    await call('POST', '/schemas/{name}/{version}/validate', '/schemas/paper/1.0.0/validate', { value: { titel: 1 } });
    const types = await fetch(`${service.url}/api/v1/schemas/paper/1.0.0/types`);
    expect(await types.text()).toMatch(/export interface Paper/);
    const template = {
      name: 'titles',
      version: '1.0.0',
      params: { type: 'object', properties: { n: { type: 'integer' } } },
      prompt: 'Give {{ n }} titles',
      answerSchema: 'examples@1.0.0',
    };
    await call('POST', '/templates', '/templates', template);
    await call('GET', '/templates', '/templates');
    await call('GET', '/templates/{name}/{version}', '/templates/titles/1.0.0');
    await call('POST', '/templates/{name}/{version}/render', '/templates/titles/latest/render', { params: { n: 3 } });
    // Workflows: a definition saved, runs started, read and controlled.
    const flow = {
      name: 'flow',
      steps: [
        { id: 'wait', command: { run: ['/bin/sleep', '5'] } },
        { id: 'after', after: ['wait'], convert: { function: 'collect', args: { x: 1 } } },
      ],
    };
    await call('POST', '/workflows', '/workflows', { definition: flow });
    await call('GET', '/workflows', '/workflows');
    const running = await call('POST', '/runs', '/runs', { workflow: 'flow' });
    await until(
      async () =>
        ((await (await fetch(`${service.url}/api/v1/runs/${running.id}`)).json()) as { status: string }).status ===
        'processing',
    );
    await call('POST', '/runs/{id}/pause', `/runs/${running.id}/pause`);
    await call('POST', '/runs/{id}/resume', `/runs/${running.id}/resume`);
    await call('POST', '/runs/{id}/cancel', `/runs/${running.id}/cancel`);
    const failing = await call('POST', '/runs', '/runs', {
      yaml: 'name: failing\nsteps:\n  - { id: no, command: { run: [/bin/false] } }\n',
    });
    await until(
      async () =>
        ((await (await fetch(`${service.url}/api/v1/runs/${failing.id}`)).json()) as { status: string }).status ===
        'failed',
    );
    await call('POST', '/runs/{id}/steps/{step}/retry', `/runs/${failing.id}/steps/no/retry`);
    await call('POST', '/runs/{id}/steps/{step}/start-from', `/runs/${failing.id}/steps/no/start-from`);
    await call('GET', '/runs', '/runs?limit=10');
    await call('GET', '/runs/{id}', `/runs/${running.id}`);
    // Approvals: a step waiting is approved, another rejected; a run whose steps were skipped, read.
    const gated = {
      name: 'gated',
      steps: [
        { id: 'ok', approve: { message: 'Go?' } },
        { id: 'later', after: ['ok'], when: 'steps.ok.approved == false', convert: { function: 'collect' } },
      ],
    };
    for (const decision of ['approve', 'reject']) {
      const waiting = await call('POST', '/runs', '/runs', { definition: gated });
      await until(
        async () =>
          ((await (await fetch(`${service.url}/api/v1/runs/${waiting.id}`)).json()) as { steps: { status: string }[] })
            .steps[0]?.status === 'waiting',
      );
      await call('POST', `/runs/{id}/steps/{step}/${decision}`, `/runs/${waiting.id}/steps/ok/${decision}`, {
        note: 'checked',
      });
      await until(async () =>
        ['complete', 'failed'].includes(
          ((await (await fetch(`${service.url}/api/v1/runs/${waiting.id}`)).json()) as { status: string }).status,
        ),
      );
      await call('GET', '/runs/{id}', `/runs/${waiting.id}`);
    }
    // A structured reply's checking, as the message answers show it.
    const checked = await call('POST', '/ask', '/ask', {
      from: 'marker',
      to: 'arangodb',
      prompt: 'A paper?',
      schema: 'paper@1.0.0',
      maxRepairs: 0,
    });
    await hub.waitForCompletion(checked.messageId as string, { timeoutMs: 20_000 });
    const reply = await call('GET', '/messages/{id}', `/messages/${checked.messageId}`);
    expect(reply.validation).toMatchObject({ schema: 'paper@1.0.0', valid: false });

    // Once per field, not once per list entry.
    expect([...new Set(problems.map((p) => p.replace(/\[\d+\]/g, '[]')))]).toEqual([]);
    // Every JSON operation was checked (the event stream is not JSON).
    const notJson = ['GET /events/stream', 'GET /schemas/{name}/{version}/types'];
    expect([...called].sort()).toEqual(OPERATIONS.filter((o) => !notJson.includes(o)));
  });
});
