// The HTTP API of a real service (HTTP server on a free port, SQLite or PostgreSQL, a command module): the
// main resources, a table of bad requests each with its status and code (never a 500, never a half-written
// change), the OpenAPI document, and tokens on a non-loopback bind.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Service, startService } from '../../src/service/service.js';
import { BACKENDS, memoryLogger } from '../support/backends.js';

const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q));`;

/** A config.yaml with one command module, `arangodb`, and one that only asks, `marker`. */
function config(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cc-api-'));
  writeFileSync(join(dir, 'agent.mjs'), ECHO);
  writeFileSync(
    join(dir, 'config.yaml'),
    `modules:\n  arangodb:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [agent.mjs]\n`,
  );
  return join(dir, 'config.yaml');
}

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(database: string, host = '127.0.0.1'): Promise<Service> {
  const service = await startService({
    host,
    port: 0,
    database,
    config: config(),
    stateFile: false,
    logger: memoryLogger().logger,
  });
  services.push(service);
  return service;
}

interface Call {
  method?: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  token?: string;
}

async function call(
  service: Service,
  c: Call,
): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.body !== undefined || c.raw !== undefined) headers['content-type'] ??= 'application/json';
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  const res = await fetch(`${service.url}/api/v1${c.path}`, {
    method: c.method ?? (c.body !== undefined || c.raw !== undefined ? 'POST' : 'GET'),
    headers,
    ...(c.raw !== undefined ? { body: c.raw } : c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {} };
}

describe.each(BACKENDS)('HTTP API on $name', (backend) => {
  it.skipIf(!backend.available)('asks, answers and shows threads, messages, tasks, instances and events', async () => {
    const service = await start(await backend.freshDatabase());
    const asked = await call(service, {
      path: '/ask',
      body: { from: 'marker', to: 'arangodb', prompt: 'Which structure?' },
    });
    expect(asked.status).toBe(202);
    const { messageId, threadId, taskId } = asked.body as Record<string, string>;
    await service.hub.waitForCompletion(messageId as string, { timeoutMs: 20_000 });

    const message = await call(service, { path: `/messages/${messageId}` });
    expect(message.body).toMatchObject({ status: 'complete', content: 're: Which structure?', taskId });
    const history = await call(service, { path: `/messages/${messageId}/history` });
    expect((history.body.history as { status: string }[]).map((h) => h.status)).toEqual([
      'pending',
      'processing',
      'complete',
    ]);
    const thread = await call(service, { path: `/threads/${threadId}` });
    expect((thread.body.messages as unknown[]).length).toBe(2);
    const task = await call(service, { path: `/tasks/${taskId}` });
    expect(task.body).toMatchObject({ status: 'complete', kind: 'ask', module: 'arangodb' });

    const modules = await call(service, { path: '/modules' });
    expect(modules.body.modules).toEqual([
      expect.objectContaining({
        name: 'arangodb',
        backend: 'command',
        health: 'healthy',
        instances: { busy: 0, idle: 1, paused: 0 },
      }),
    ]);
    const events = await call(service, { path: `/events?messageId=${messageId}&types=message.status_changed` });
    expect((events.body.events as unknown[]).length).toBe(2);
    const newest = await call(service, { path: `/events?messageId=${messageId}&last=1` });
    expect(newest.body).toMatchObject({
      events: [{ type: 'message.status_changed', data: { to: 'complete' } }],
      cursor: (await call(service, { path: '/events?limit=1000' })).body.cursor,
      hasMore: true,
    });
    const threads = await call(service, { path: '/threads?module=arangodb&status=complete' });
    expect(threads.body.threads).toEqual([
      expect.objectContaining({
        id: threadId,
        asked: ['arangodb'],
        replies: { pending: 0, processing: 0, complete: 1, failed: 0, cancelled: 0 },
        latestReply: expect.objectContaining({ module: 'arangodb', status: 'complete' }),
      }),
    ]);
    expect((await call(service, { path: '/threads?status=failed,cancelled' })).body.threads).toEqual([]);

    // Tasks by hand: create, progress, criterion, log, complete; list, search, stats, CSV.
    const created = await call(service, {
      path: '/tasks',
      body: { name: 'Index the PDFs', module: 'marker', criteria: ['all pages', 'tables kept'] },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(
      (
        await call(service, {
          method: 'PATCH',
          path: `/tasks/${id}`,
          body: { progress: 40, iteration: 2, status: 'processing' },
        })
      ).body,
    ).toMatchObject({ progress: 40, iteration: 2, status: 'processing' });
    expect(
      (await call(service, { path: `/tasks/${id}/criteria/verify`, body: { criterion: 'tables kept' } })).body,
    ).toMatchObject({ criteria: [{ verified: false }, { verified: true }] });
    expect(
      (
        await call(service, {
          path: `/tasks/${id}/log`,
          body: { text: 'page 12 done', action: 'Write', target: 'out/12.json' },
        })
      ).status,
    ).toBe(201);
    expect((await call(service, { path: `/tasks/${id}/complete`, body: {} })).body).toMatchObject({
      status: 'complete',
    });
    expect((await call(service, { path: `/tasks/${id}` })).body.log).toEqual([
      expect.objectContaining({ text: 'page 12 done', action: 'Write' }),
    ]);
    expect(((await call(service, { path: '/tasks?q=pdfs' })).body.tasks as { id: string }[]).map((t) => t.id)).toEqual([
      id,
    ]);
    expect((await call(service, { path: '/tasks?status=complete,failed&limit=1' })).body.next).toEqual(
      expect.any(String),
    );
    expect((await call(service, { path: '/tasks/stats' })).body).toMatchObject({ total: 2, byStatus: { complete: 2 } });
    const csv = await fetch(`${service.url}/api/v1/tasks/export?format=csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id,name,module,/);

    // Instances.
    const [instance] = (await call(service, { path: '/instances' })).body.instances as { id: string }[];
    for (const [action, state] of [
      ['pause', 'paused'],
      ['resume', 'idle'],
      ['terminate', 'terminated'],
    ]) {
      const res = await call(service, { method: 'POST', path: `/instances/${instance?.id}/${action}` });
      expect(res.body).toMatchObject({ state });
    }
  });

  it.skipIf(!backend.available)('answers every bad request with the right 4xx and code, changing nothing', async () => {
    const service = await start(await backend.freshDatabase());
    const ok = await call(service, { path: '/ask', body: { from: 'marker', to: 'arangodb', prompt: 'first' } });
    const done = ok.body.messageId as string;
    await service.hub.waitForCompletion(done, { timeoutMs: 20_000 });
    const task = (await call(service, { path: '/tasks', body: { name: 'two criteria', criteria: ['a', 'b'] } })).body
      .id;
    const before = await counts(service);
    const unknown = '0190a6a4-0000-7000-8000-000000000000';

    const table: [string, Call, number, string, RegExp][] = [
      ['malformed JSON', { path: '/ask', raw: '{"from": "marker",' }, 400, 'validation', /malformed JSON/],
      [
        'wrong type',
        { path: '/ask', body: { from: 'marker', to: 'arangodb', prompt: 5 } },
        400,
        'validation',
        /json\.prompt: .*string/,
      ],
      [
        'unknown field',
        { path: '/ask', body: { from: 'marker', to: 'arangodb', prompt: 'x', priority: 1 } },
        400,
        'validation',
        /unknown field priority/,
      ],
      ['missing field', { path: '/ask', body: { from: 'marker', prompt: 'x' } }, 400, 'validation', /json\.to/],
      [
        'both to and capability',
        { path: '/ask', body: { from: 'marker', to: 'arangodb', capability: 'graph', prompt: 'x' } },
        400,
        'validation',
        /json\.capability: give `to` or `capability`, not both/,
      ],
      [
        'not JSON',
        { path: '/ask', raw: 'to=arangodb', headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported_media_type',
        /must be JSON/,
      ],
      [
        'body over the limit',
        { path: '/ask', raw: JSON.stringify({ from: 'm', to: 'arangodb', prompt: 'x'.repeat(1_100_000) }) },
        413,
        'too_large',
        /larger than the limit/,
      ],
      [
        'prompt over the limit',
        { path: '/ask', body: { from: 'm', to: 'arangodb', prompt: 'x'.repeat(1_000_001) } },
        413,
        'too_large',
        /prompt is 1000001 characters/,
      ],
      [
        'NUL in prompt',
        { path: '/ask', body: { from: 'm', to: 'arangodb', prompt: 'a\u0000b' } },
        400,
        'validation',
        /NUL/,
      ],
      [
        'unknown module',
        { path: '/ask', body: { from: 'marker', to: 'nobody', prompt: 'x' } },
        404,
        'not_found',
        /no module named nobody/,
      ],
      [
        'unknown thread',
        { path: '/ask', body: { from: 'marker', to: 'arangodb', prompt: 'x', threadId: unknown } },
        404,
        'not_found',
        /thread/,
      ],
      ['unknown message', { path: `/messages/${unknown}` }, 404, 'not_found', /no message with id/],
      ['malformed id', { path: '/messages/not-an-id' }, 400, 'validation', /message id/],
      [
        'cancel a finished reply',
        { method: 'POST', path: `/messages/${done}/cancel` },
        409,
        'invalid_transition',
        /complete/,
      ],
      ['unknown task', { path: `/tasks/${unknown}` }, 404, 'not_found', /task/],
      [
        'illegal task transition, with counters that must not change either',
        { method: 'PATCH', path: `/tasks/${task}`, body: { progress: 50, iteration: 2, status: 'paused' } },
        409,
        'invalid_transition',
        /pending/,
      ],
      [
        'progress out of range',
        { method: 'PATCH', path: `/tasks/${task}`, body: { progress: 140 } },
        400,
        'validation',
        /json\.progress/,
      ],
      [
        'unknown criterion',
        { path: `/tasks/${task}/criteria/verify`, body: { criterion: 7 } },
        404,
        'not_found',
        /no criterion #7/,
      ],
      ['bad status filter', { path: '/tasks?status=done' }, 400, 'validation', /query\.status/],
      ['bad limit', { path: '/tasks?limit=0' }, 400, 'validation', /query\.limit/],
      ['unknown query parameter', { path: '/tasks?colour=red' }, 400, 'validation', /unknown field colour/],
      ['cursor past the head', { path: '/events?after=c1.zzzzz' }, 400, 'invalid_cursor', /cursor/],
      ['garbage cursor', { path: '/events?after=hello' }, 400, 'invalid_cursor', /cursor/],
      ['unknown event type', { path: '/events?types=message.exploded' }, 400, 'validation', /unknown event type/],
      ['bad thread status filter', { path: '/threads?status=complete,done' }, 400, 'validation', /query\.status/],
      [
        'bad thread module filter',
        { path: '/threads?module=a%20b' },
        400,
        'validation',
        /module must be a module name/,
      ],
      ['unknown thread filter', { path: '/threads?state=failed' }, 400, 'validation', /unknown field state/],
      ['newest events: bad count', { path: '/events?last=0' }, 400, 'validation', /query\.last/],
      ['newest events: not a number', { path: '/events?last=many' }, 400, 'validation', /query\.last/],
      ['newest events after a cursor', { path: '/events?last=5&after=c0' }, 400, 'validation', /query\.last.+after/],
      ['newest events with a limit', { path: '/events?last=5&limit=5' }, 400, 'validation', /query\.last.+limit/],
      ['stream with a bad cursor', { path: '/events/stream?after=hello' }, 400, 'invalid_cursor', /cursor/],
      ['unknown instance', { path: `/instances/${unknown}/pause`, method: 'POST' }, 404, 'not_found', /instance/],
      [
        'instance beyond concurrency',
        { path: '/instances', body: { module: 'arangodb' } },
        409,
        'conflict',
        /concurrency/,
      ],
      ['unknown endpoint', { path: '/nothing-here' }, 404, 'not_found', /no such endpoint/],
      ...(
        [
          ['negative cost limit', '/ask', { maxCostUsd: -1 }, /json\.maxCostUsd/],
          ['huge cost limit', '/ask', { maxCostUsd: 1e7 }, /json\.maxCostUsd/],
          ['cost limit as text', '/ask', { maxCostUsd: '0.5' }, /json\.maxCostUsd/],
          ['fractional iteration limit', '/ask', { maxIterations: 2.5 }, /json\.maxIterations/],
          ['zero iteration limit', '/ask', { maxIterations: 0 }, /json\.maxIterations/],
          ['huge iteration limit', '/tasks', { maxIterations: 1e9 }, /json\.maxIterations/],
          ['negative task cost limit', '/tasks', { maxCostUsd: -0.5 }, /json\.maxCostUsd/],
        ] as const
      ).map(([what, path, limits, detail]): [string, Call, number, string, RegExp] => [
        what,
        {
          path,
          body: { ...(path === '/ask' ? { from: 'm', to: 'arangodb', prompt: 'x' } : { name: 't' }), ...limits },
        },
        400,
        'validation',
        detail,
      ]),
      // JSON has no NaN or infinity; 1e999 reads as Infinity.
      [
        'infinite cost limit',
        { path: '/ask', raw: '{"from": "m", "to": "arangodb", "prompt": "x", "maxCostUsd": 1e999}' },
        400,
        'validation',
        /json\.maxCostUsd/,
      ],
    ];
    for (const [what, request, status, code, detail] of table) {
      const res = await call(service, request);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
      expect(res.type, what).toContain('application/problem+json');
      expect(String(res.body.detail), what).toMatch(detail);
    }
    // fetch cannot set Host; a page on another site reaching 127.0.0.1 through DNS rebinding would send its own.
    const rebinding = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${service.url}/api/v1/health`, { headers: { host: 'evil.example:7420' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebinding.status).toBe(403);
    expect(JSON.parse(rebinding.body)).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('host evil.example'),
    });
    expect(await counts(service)).toEqual(before);
  });

  it.skipIf(!backend.available)(
    'keeps a task small with the end of its log, and pages the whole log with a cursor',
    async () => {
      const service = await start(await backend.freshDatabase());
      const task = await service.hub.tasks.create({ name: 'Index the PDFs', module: 'marker' });
      for (let i = 0; i < 30; i++) await service.hub.tasks.log(task.id, { text: `line ${i}` });
      const texts = (body: Record<string, unknown>) => (body.log as { text: string }[]).map((e) => e.text);
      const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

      // The task: its newest 20 entries by default, as many as asked for with logLimit.
      expect(texts((await call(service, { path: `/tasks/${task.id}` })).body)).toEqual(lines(10, 30));
      expect(texts((await call(service, { path: `/tasks/${task.id}?logLimit=3` })).body)).toEqual(lines(27, 30));
      expect(texts((await call(service, { path: `/tasks/${task.id}?logLimit=0` })).body)).toEqual([]);

      // The log, oldest first, page by page; `next` also picks up what is logged later.
      const pages: Record<string, unknown>[] = [];
      let after = '';
      do {
        const page = await call(service, { path: `/tasks/${task.id}/log?limit=12${after && `&after=${after}`}` });
        expect(page.status).toBe(200);
        pages.push(page.body);
        after = page.body.next as string;
      } while (pages.at(-1)?.hasMore);
      expect(pages.map(texts)).toEqual([lines(0, 12), lines(12, 24), lines(24, 30)]);
      await service.hub.tasks.log(task.id, { text: 'line 30' });
      const later = await call(service, { path: `/tasks/${task.id}/log?after=${after}` });
      expect(later.body).toMatchObject({ log: [{ text: 'line 30', level: 'info' }], hasMore: false });

      const unknown = '01900000-0000-7000-8000-000000000000';
      for (const [path, status, code, detail] of [
        [`/tasks/${unknown}/log`, 404, 'not_found', /task/],
        [`/tasks/${task.id}?logLimit=1001`, 400, 'validation', /query\.logLimit/],
        [`/tasks/${task.id}/log?limit=0`, 400, 'validation', /query\.limit/],
        [`/tasks/${task.id}/log?after=hello`, 400, 'invalid_cursor', /cursor/],
        [`/tasks/${task.id}/log?before=x`, 400, 'validation', /unknown field before/],
      ] as const) {
        const res = await call(service, { path });
        expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status, code });
        expect(String(res.body.detail), path).toMatch(detail);
      }
    },
  );

  it.skipIf(!backend.available)('exports tasks page by page, in full, while answering other requests', async () => {
    const service = await start(await backend.freshDatabase());
    const created: string[] = [];
    for (let i = 0; i < 2_345; i += 100) {
      const batch = Array.from({ length: Math.min(100, 2_345 - i) }, (_, j) => i + j);
      const tasks = await Promise.all(
        batch.map((n) => service.hub.tasks.create({ name: n % 7 ? `task ${n}` : `=cmd ${n}, "quoted"` })),
      );
      created.push(...tasks.map((t) => t.id));
    }
    const json = await call(service, { path: '/tasks/export' });
    expect(json.status).toBe(200);
    // Newest first: ids grow with time.
    expect((json.body.tasks as { id: string }[]).map((t) => t.id)).toEqual(created.sort().reverse());
    expect(json.body.next).toBeNull();
    const csv = await (await fetch(`${service.url}/api/v1/tasks/export?format=csv`)).text();
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(2_345 + 2);
    expect(lines.filter((l) => l.includes(`"'=cmd`))).toHaveLength(Math.ceil(2_345 / 7));
    // A client that has not read its export yet: the API answers others meanwhile, and a client that leaves
    // ends the export.
    const slow = await fetch(`${service.url}/api/v1/tasks/export`);
    expect((await call(service, { path: '/health' })).status).toBe(200);
    await slow.body?.cancel();
    expect((await call(service, { path: '/tasks?limit=1' })).status).toBe(200);
    // An empty export is still a whole document.
    expect((await call(service, { path: '/tasks/export?module=nobody' })).body).toEqual({ tasks: [], next: null });
  });

  it.skipIf(!backend.available)('stores an ask’s cost and iteration limits on its task', async () => {
    const service = await start(await backend.freshDatabase());
    const task = async (body: Record<string, unknown>) => {
      const asked = await call(service, {
        path: '/ask',
        body: { from: 'marker', to: 'arangodb', prompt: 'q', ...body },
      });
      expect(asked.status).toBe(202);
      return (await call(service, { path: `/tasks/${(asked.body as { taskId: string }).taskId}` })).body;
    };
    expect(await task({ maxCostUsd: 0.25, maxIterations: 3 })).toMatchObject({ maxCostUsd: 0.25, maxIterations: 3 });
    // None given and no module default: no limit.
    expect(await task({})).toMatchObject({ maxCostUsd: null, maxIterations: null });
    expect(await task({ maxCostUsd: null, maxIterations: 1_000_000 })).toMatchObject({
      maxCostUsd: null,
      maxIterations: 1_000_000,
    });
  });

  it.skipIf(!backend.available)('publishes an OpenAPI document of every route', async () => {
    const service = await start(await backend.freshDatabase());
    const doc = (await call(service, { path: '/openapi.json' })).body as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/ask',
      '/messages/{id}/cancel',
      '/tasks/{id}/criteria/verify',
      '/tasks/{id}/log',
      '/tasks/export',
      '/instances/{id}/terminate',
      '/events/stream',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const components = (doc as unknown as { components: { schemas: Record<string, { properties: object }> } })
      .components;
    expect(Object.keys(components.schemas.AskBody?.properties ?? {})).toEqual([
      'from',
      'to',
      'capability',
      'via',
      'prompt',
      'threadId',
      'schema',
      'template',
      'params',
      'maxRepairs',
      'maxCostUsd',
      'maxIterations',
    ]);
  });
});

describe.each(BACKENDS)('tokens on $name', (backend) => {
  it.skipIf(!backend.available)(
    'a non-loopback bind requires tokens; a module token acts only as its module',
    async () => {
      const database = await backend.freshDatabase();
      await expect(start(database, '0.0.0.0')).rejects.toMatchObject({
        code: 'unauthorized',
        message: expect.stringContaining('token create'),
      });
      const setup = await start(database);
      const full = await setup.hub.tokens.create({ label: 'ops' });
      const marker = await setup.hub.tokens.create({ module: 'marker' });
      await setup.close();
      services.length = 0;

      const service = await start(database, '0.0.0.0');
      const local = { ...service, url: service.url.replace('0.0.0.0', '127.0.0.1') } as Service;
      expect((await call(local, { path: '/health' })).status).toBe(401);
      expect((await call(local, { path: '/health', token: 'cc_not-a-real-token' })).body.code).toBe('unauthorized');
      expect((await call(local, { path: '/health', token: full.token })).status).toBe(200);
      const sse = await fetch(`${local.url}/api/v1/events/stream?token=${marker.token}&heartbeat=1`);
      expect(sse.status).toBe(200);
      await sse.body?.cancel();

      const asMarker = await call(local, {
        path: '/ask',
        token: marker.token,
        body: { to: 'arangodb', prompt: 'as marker' },
      });
      expect(asMarker.status).toBe(202);
      const asOther = await call(local, {
        path: '/ask',
        token: marker.token,
        body: { from: 'arangodb', to: 'arangodb', prompt: 'x' },
      });
      expect(asOther).toMatchObject({
        status: 403,
        body: { code: 'forbidden', detail: expect.stringContaining('only as module marker') },
      });
      const [instance] = (await call(local, { path: '/instances', token: full.token })).body.instances as {
        id: string;
      }[];
      if (instance) {
        expect(
          (await call(local, { path: `/instances/${instance.id}/pause`, method: 'POST', token: marker.token })).status,
        ).toBe(404);
      }
      expect((await call(local, { path: '/modules/arangodb/pause', method: 'POST', token: marker.token })).status).toBe(
        403,
      );
      await setup.hub.tokens.revoke(full.id).catch(() => undefined);
      await service.hub.tokens.revoke(full.id);
      expect((await call(local, { path: '/health', token: full.token })).status).toBe(401);
    },
  );
});

async function counts(service: Service): Promise<Record<string, number>> {
  const page = await service.hub.events.list({ limit: 1000 });
  return {
    threads: (await service.hub.threads.list({ limit: 1000 })).length,
    tasks: (await service.hub.tasks.list({ limit: 1000 })).length,
    events: page.events.length,
  };
}
