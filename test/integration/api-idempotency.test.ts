// The HTTP API of a real service on SQLite and PostgreSQL: `POST /ask` with an `Idempotency-Key` (a retry after a
// lost answer gets the original ask back, once per token or asking module) and input that would be stored other
// than sent — lone UTF-16 surrogates in a JSON body, invalid UTF-8 in a body, a query or a path — refused with 400.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Service, startService } from '../../src/service/service.js';
import { ageAskRequests } from '../support/ask-requests.js';
import { BACKENDS, memoryLogger } from '../support/backends.js';
import { readLog } from '../support/wait.js';

const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q));`;

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(database: string): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-idem-'));
  writeFileSync(join(dir, 'agent.mjs'), ECHO);
  writeFileSync(
    join(dir, 'config.yaml'),
    `modules:\n  arangodb:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [agent.mjs]\n`,
  );
  const service = await startService({
    host: '127.0.0.1',
    port: 0,
    database,
    config: join(dir, 'config.yaml'),
    stateFile: false,
    logger: memoryLogger().logger,
  });
  services.push(service);
  return service;
}

interface Answer {
  status: number;
  replayed: string | null;
  body: Record<string, unknown>;
}

async function post(
  service: Service,
  path: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${service.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: text ? JSON.parse(text) : {} };
}

async function get(service: Service, path: string): Promise<Answer> {
  const res = await fetch(`${service.url}/api/v1${path}`);
  const text = await res.text();
  return { status: res.status, replayed: null, body: text ? JSON.parse(text) : {} };
}

const ask = { from: 'marker', to: 'arangodb', prompt: 'Which structure?' };

describe.each(BACKENDS)('POST /ask with an Idempotency-Key on $name', (backend) => {
  it.skipIf(!backend.available)('answers a retry with the original ask, marked as replayed', async () => {
    const service = await start(await backend.freshDatabase());
    const key = { 'idempotency-key': 'retry-7f3a' };
    const first = await post(service, '/ask', JSON.stringify(ask), key);
    expect(first).toMatchObject({ status: 202, replayed: null });
    await service.hub.waitForCompletion(first.body.messageId as string, { timeoutMs: 20_000 });
    const again = await post(service, '/ask', JSON.stringify(ask), key);
    expect(again).toEqual({ status: 202, replayed: 'true', body: first.body });
    const thread = await get(service, `/threads/${first.body.threadId}`);
    expect(thread.body.messages).toHaveLength(2);

    const other = await post(service, '/ask', JSON.stringify({ ...ask, prompt: 'Another?' }), key);
    expect(other).toMatchObject({
      status: 409,
      body: { code: 'conflict', detail: expect.stringContaining("request id 'retry-7f3a'") },
    });
    // Without a key, or with another one, an ask is a new ask.
    expect((await post(service, '/ask', JSON.stringify(ask))).body.messageId).not.toBe(first.body.messageId);
    const fresh = await post(service, '/ask', JSON.stringify(ask), { 'idempotency-key': 'retry-7f3b' });
    expect(fresh).toMatchObject({ status: 202, replayed: null });
    expect(fresh.body.messageId).not.toBe(first.body.messageId);
  });

  it.skipIf(!backend.available)('keeps keys apart per token, and forgets them after 24 hours', async () => {
    const service = await start(await backend.freshDatabase());
    const one = await service.hub.tokens.create({ label: 'one' });
    const two = await service.hub.tokens.create({ label: 'two' });
    const send = (token: string) =>
      post(service, '/ask', JSON.stringify(ask), { 'idempotency-key': 'k', authorization: `Bearer ${token}` });
    const a = await send(one.token);
    const b = await send(two.token);
    expect(a.body.messageId).not.toBe(b.body.messageId);
    expect((await send(one.token)).body.messageId).toBe(a.body.messageId);
    // On loopback without a token the key belongs to the asking module.
    const anonymous = await post(service, '/ask', JSON.stringify(ask), { 'idempotency-key': 'k' });
    expect(anonymous.body.messageId).not.toBe(a.body.messageId);
    await ageAskRequests(service.hub.database, 25);
    const later = await send(one.token);
    expect(later).toMatchObject({ status: 202, replayed: null });
    expect(later.body.messageId).not.toBe(a.body.messageId);
  });

  it.skipIf(!backend.available)('stores one ask for concurrent requests with one key', async () => {
    const service = await start(await backend.freshDatabase());
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => post(service, '/ask', JSON.stringify(ask), { 'idempotency-key': 'burst' })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.messageId)).size).toBe(1);
    expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(5);
  });

  it.skipIf(!backend.available)('refuses a malformed Idempotency-Key with 400, asking nothing', async () => {
    const service = await start(await backend.freshDatabase());
    for (const key of ['x'.repeat(256), 'caf\u00e9']) {
      const res = await post(service, '/ask', JSON.stringify(ask), { 'idempotency-key': key });
      expect(res).toMatchObject({
        status: 400,
        body: { code: 'validation', detail: expect.stringContaining('idempotency-key') },
      });
    }
    expect((await service.hub.tasks.list()).length).toBe(0);
  });

  it.skipIf(!backend.available)('documents the header in the OpenAPI document', async () => {
    const service = await start(await backend.freshDatabase());
    const doc = (await get(service, '/openapi.json')).body as {
      paths: Record<
        string,
        { post: { parameters: { name: string; in: string }[]; responses: Record<string, object> } }
      >;
    };
    const route = doc.paths['/ask']?.post;
    expect(route?.parameters).toEqual([expect.objectContaining({ name: 'idempotency-key', in: 'header' })]);
    expect(route?.responses['202']).toMatchObject({ headers: { 'Idempotent-Replayed': expect.any(Object) } });
  });
});

describe.each(BACKENDS)('input the database would store other than sent, on $name', (backend) => {
  it.skipIf(!backend.available)('refuses it with 400 naming where it is, writing nothing', async () => {
    const service = await start(await backend.freshDatabase());
    const task = (await post(service, '/tasks', JSON.stringify({ name: 'logged', module: 'marker' }))).body
      .id as string;
    const before = (await readLog(service.hub)).length;
    // JSON.stringify would escape a lone surrogate as \ud800 anyway; written out to be plain about what is sent.
    const bodies: [string, string, RegExp][] = [
      ['/ask', '{"from":"marker","to":"arangodb","prompt":"a \\ud800 b"}', /^body\.prompt: .*surrogate/],
      [
        '/ask',
        '{"from":"marker","to":"arangodb","prompt":"ok","schema":{"properties":{"x":{"enum":["\\udc00"]}}}}',
        /^body\.schema\.properties\.x\.enum\[0\]: .*surrogate/,
      ],
      ['/ask', '{"from":"marker","to":"arangodb","prompt":"ok","schema":{"\\ud83d":1}}', /^body\.schema: .*surrogate/],
      [`/tasks/${task}/log`, '{"text":"half an emoji \\ud83d"}', /^body\.text: .*surrogate/],
      ['/tasks', '{"name":"t","criteria":["fine","\\udfff"]}', /^body\.criteria\[1\]: .*surrogate/],
    ];
    for (const [path, body, detail] of bodies) {
      const res = await post(service, path, body);
      expect({ path, body, status: res.status, code: res.body.code }).toEqual({
        path,
        body,
        status: 400,
        code: 'validation',
      });
      expect(String(res.body.detail)).toMatch(detail);
    }
    // Bytes that are not UTF-8 at all (0xff; an encoded surrogate) would be read as U+FFFD.
    for (const bytes of [[0xff], [0xed, 0xa0, 0x80]]) {
      const body = Buffer.concat([
        Buffer.from('{"from":"marker","to":"arangodb","prompt":"'),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      const res = await post(service, '/ask', new Uint8Array(body));
      expect(res).toMatchObject({
        status: 400,
        body: { code: 'validation', detail: expect.stringMatching(/^body: .*UTF-8/) },
      });
    }
    for (const [path, detail] of [
      ['/tasks?q=%ED%A0%80', /^query\.q: .*UTF-8/],
      ['/tasks?q=%FF', /^query\.q: .*UTF-8/],
      ['/modules/%ED%A0%80', /^path: .*UTF-8/],
      ['/messages/%C0%AF', /^path: .*UTF-8/],
    ] as const) {
      const res = await get(service, path);
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 400, code: 'validation' });
      expect(String(res.body.detail)).toMatch(detail);
    }
    expect((await readLog(service.hub)).length).toBe(before);
    // Well-formed text of every kind still goes through.
    const fine = await post(
      service,
      '/ask',
      JSON.stringify({ ...ask, prompt: 'smile \ud83d\ude00 \\ud800 literally' }),
    );
    expect(fine.status).toBe(202);
    expect((await get(service, '/tasks?q=%E2%9C%93%20done')).status).toBe(200);
  });
});
