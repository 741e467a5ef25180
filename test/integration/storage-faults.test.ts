// A database that cannot store, made so for real — SQLite full (its page limit lowered to the pages it has),
// PostgreSQL read-only (default_transaction_read_only, its sessions restarted) — and cleared again: the API answers
// 503 with the fault's code and Retry-After, /health says what is wrong, and once the fault clears the API works
// and a reply that was being answered through it completes with all its content, without waiting for its lease; a
// hub closed while the fault holds that content closes rather than waiting for the database.
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type BetterSqlite3 from 'better-sqlite3';
import { Hono } from 'hono';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Hub, HubOptions } from '../../src/index.js';
import { createApi } from '../../src/server/app.js';
import { BACKENDS, type Backend, hubFactory, memoryLogger } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { setReadOnly } from '../support/postgres.js';
import { until } from '../support/wait.js';

/** How to make a backend's database unable to store, and able again. */
interface Fault {
  /** What the API answers while it lasts. */
  code: 'storage_full' | 'storage_unavailable';
  /** A sentence of the detail that names this fault. */
  detail: RegExp;
  hubOptions: HubOptions;
  begin(): Promise<void>;
  end(): Promise<void>;
}

async function faultOf(backend: Backend): Promise<Fault> {
  const database = await backend.freshDatabase();
  if (backend.name === 'sqlite') {
    let writer: BetterSqlite3.Database | undefined;
    const limit = (pages: number | bigint) => writer?.pragma(`max_page_count = ${pages}`);
    return {
      code: 'storage_full',
      detail: /is full \(no space left on its disk, or its size limit reached\): free space/,
      hubOptions: { database, logger: memoryLogger().logger, sqliteWriter: (c) => (writer = c) },
      begin: async () => void limit(writer?.pragma('page_count', { simple: true }) as number),
      // A closed connection has no limit left to lift: the next one opens without it.
      end: async () => void (writer?.open && limit(4_294_967_294)),
    };
  }
  return {
    code: 'storage_unavailable',
    detail: /refuses writes \(read-only/,
    hubOptions: { database, logger: memoryLogger().logger },
    begin: () => setReadOnly(inject('postgresUrl'), database, true),
    end: () => setReadOnly(inject('postgresUrl'), database, false),
  };
}

const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

/** The API of `hub` on a free loopback port; answers its base URL. */
async function serveApi(hub: Hub): Promise<string> {
  const root = new Hono();
  root.route(
    '/api/v1',
    createApi(hub, {
      logger: memoryLogger().logger,
      requireToken: false,
      allowedOrigins: [],
      info: () => ({ version: 'test', pid: process.pid, startedAt: '', uptimeMs: 0, config: '', modulesServed: [] }),
    }),
  );
  const server = serve({ fetch: root.fetch, hostname: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  servers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
}

async function call(url: string, body?: unknown) {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Record<string, unknown> & { storage?: Record<string, unknown> },
  };
}

/**
 * An agent that answers in two parts: the first at once, the second (large: it needs fresh space) once a file
 * `go` appears in its directory; it writes `written` when its answer has left it.
 */
const TWO_PARTS = `import { existsSync, writeFileSync } from 'node:fs';
process.stdout.write('part one;');
const go = setInterval(() => {
  if (!existsSync('go')) return;
  clearInterval(go);
  process.stdout.write('${'x'.repeat(200)}'.repeat(1000) + ';part two', () => writeFileSync('written', ''));
}, 10);`;

/** A question large enough to need fresh pages (about 50 of SQLite's 4 KiB). */
const BIG_PROMPT = 'Which structure? '.repeat(12_000);

describe.each(BACKENDS)('storage faults on $name', (backend) => {
  const hubs = hubFactory(backend);
  afterEach(() => hubs.closeAll());

  it.skipIf(!backend.available)(
    'answers 503 with the fault’s code and Retry-After, reports it in /health, and works again once it clears',
    async () => {
      const fault = await faultOf(backend);
      const hub = await hubs.open(fault.hubOptions);
      await commandModule(hub, 'arangodb', "process.stdout.write('ok');");
      const api = await serveApi(hub);
      expect(await call(`${api}/health`)).toMatchObject({ status: 200, body: { ok: true, storage: { status: 'ok' } } });

      await fault.begin();
      const ask = { from: 'marker', to: 'arangodb', prompt: BIG_PROMPT };
      let refused = await call(`${api}/ask`, ask);
      // A pooled connection that the fault's set-up ended may answer first; the next one meets the fault itself.
      for (let i = 0; i < 5 && !fault.detail.test(String(refused.body.detail)); i++)
        refused = await call(`${api}/ask`, ask);
      expect(refused.body.detail).toMatch(fault.detail);
      expect(refused).toMatchObject({ status: 503, retryAfter: '5', body: { status: 503, code: fault.code } });
      const health = await call(`${api}/health`);
      expect(health).toMatchObject({
        status: 503,
        retryAfter: '5',
        body: { ok: false, database: hub.database, storage: { status: 'faulted', code: fault.code } },
      });
      expect(health.body.storage?.detail).toMatch(fault.detail);
      expect(Date.parse(String(health.body.storage?.since))).not.toBeNaN();
      expect(hub.storage()).toMatchObject({ status: 'faulted', code: fault.code });

      await fault.end();
      await until(async () => (await call(`${api}/health`)).status === 200, 10_000, '/health to say ok again');
      expect((await call(`${api}/health`)).body).toMatchObject({ ok: true, storage: { status: 'ok' } });
      expect(await call(`${api}/ask`, ask)).toMatchObject({ status: 202 });
    },
  );

  it.skipIf(!backend.available)(
    'completes a reply answered during the fault, with all its content, as soon as the fault clears',
    async () => {
      const fault = await faultOf(backend);
      const hub = await hubs.open(fault.hubOptions);
      const dir = await commandModule(hub, 'arangodb', TWO_PARTS);
      // A lease far longer than the test may wait: only the fault clearing can finish the reply in time.
      await hub.startWorker({ leaseMs: 120_000 });
      const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
      const content = async () => ((await hub.messages.get(asked.messageId)) as { content?: string }).content;
      await until(async () => (await content()) === 'part one;', 10_000, 'the first part');

      await fault.begin();
      writeFileSync(join(dir, 'go'), '');
      await until(() => existsSync(join(dir, 'written')), 10_000, 'the agent to write its second part');
      await until(() => hub.storage().status === 'faulted', 10_000, 'the second part to meet the fault');
      expect(hub.storage()).toMatchObject({ code: fault.code });
      expect(await hub.messages.get(asked.messageId)).toMatchObject({ status: 'processing', content: 'part one;' });

      await fault.end();
      const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
      expect(done.status).toBe('complete');
      expect(done.message.content).toBe(`part one;${'x'.repeat(200_000)};part two`);
      expect((await hub.tasks.get(asked.taskId)).status).toBe('complete');
      expect(hub.storage().status).toBe('ok');
    },
  );

  it.skipIf(!backend.available)(
    'closes while a fault holds a reply’s content, leaving the reply to recovery',
    async () => {
      const fault = await faultOf(backend);
      const hub = await hubs.open(fault.hubOptions);
      const dir = await commandModule(hub, 'arangodb', TWO_PARTS);
      await hub.startWorker({ leaseMs: 120_000 });
      const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
      await until(async () => (await hub.messages.get(asked.messageId)).status === 'processing', 10_000);
      await fault.begin();
      writeFileSync(join(dir, 'go'), '');
      await until(() => hub.storage().status === 'faulted', 10_000, 'the answer to meet the fault');
      await hub.close();
      await fault.end();
      const reopened = await hubs.open(fault.hubOptions);
      expect(await reopened.messages.get(asked.messageId)).toMatchObject({ status: 'processing' });
    },
  );
});
