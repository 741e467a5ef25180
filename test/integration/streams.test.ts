import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type EventFilter, type Hub, openHub } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { BACKENDS, memoryLogger } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { asks, expectExactly, logSeqs, openSse, PROTOCOLS, SseClient, WsClient } from '../support/stream-clients.js';
import { until } from '../support/wait.js';

/** Events a stream client may fall behind by before it is cut off (MAX_QUEUED in src/server/streams.ts). */
const MAX_QUEUED = 10_000;

const services: Service[] = [];
const hubs: Hub[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await Promise.all(services.splice(0).map((s) => s.close()));
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

/** A service without modules: these tests write to the log themselves. */
async function start(database: string): Promise<Service> {
  const service = await startBareService(database);
  services.push(service);
  return service;
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes a steady series of changes until stopped: each round creates a reply, starts it, appends to it and
 * completes it (four events). `rounds` counts the rounds done.
 */
function churn(hub: Hub): { rounds: () => number; stop: () => Promise<void> } {
  let running = true;
  let rounds = 0;
  const loop = (async () => {
    const thread = await hub.threads.create({ title: 'churn', createdBy: 'streams-test' });
    while (running) {
      const reply = await hub.messages.create({ threadId: thread.id, author: 'writer' });
      await hub.messages.transition(reply.id, 'processing');
      await hub.messages.appendContent(reply.id, `part of ${reply.id}`);
      await hub.messages.transition(reply.id, 'complete');
      rounds++;
      await sleep(1);
    }
  })();
  const stop = async () => {
    running = false;
    await loop;
  };
  stops.push(stop);
  return { rounds: () => rounds, stop };
}

const DISCONNECTS = 5;

describe.each(BACKENDS)('live events over HTTP on $name', (backend) => {
  describe.each(PROTOCOLS)('$name', (protocol) => {
    it.skipIf(!backend.available)(
      'dropped 5 times at random points, resumes with its last cursor with nothing missing or doubled',
      async () => {
        const service = await start(await backend.freshDatabase());
        const client = protocol.client(() => service);
        await client.connect();
        const from = client.cursor;
        const writer = churn(service.hub);
        for (let i = 0; i < DISCONNECTS; i++) {
          const at = random(1, 150);
          await new Promise<void>((resolve) => {
            client.onEvent = (n) => {
              if (n < at) return;
              client.onEvent = () => undefined;
              client.drop();
              resolve();
            };
          });
          // Away for a moment while the writer goes on, then back with the last cursor.
          await sleep(random(0, 50));
          const cursor = client.cursor;
          await client.connect();
          expect(client.readies.at(-1)).toBe(cursor);
        }
        await writer.stop();
        expect(writer.rounds()).toBeGreaterThan(DISCONNECTS);
        await expectExactly(service.hub, client, from);
        client.drop();
      },
    );

    it.skipIf(!backend.available)(
      'across a service restart on the same database, misses nothing committed while it was down',
      async () => {
        const database = await backend.freshDatabase();
        let service = await start(database);
        // Another process's hub stands in for the writers that go on while the service is down.
        const writerHub = await openHub({ database, config: false, logger: memoryLogger().logger });
        hubs.push(writerHub);
        const client = protocol.client(() => service);
        await client.connect();
        const from = client.cursor;
        const writer = churn(writerHub);
        const before = random(20, 100);
        await until(() => client.seqs.length >= before, 10_000, 'events before the restart');
        await service.close();
        await client.ended();
        const roundsAtStop = writer.rounds();
        await until(() => writer.rounds() >= roundsAtStop + 20, 10_000, 'writes while the service is down');
        service = await start(database);
        const cursor = client.cursor;
        await client.connect();
        expect(client.readies.at(-1)).toBe(cursor);
        await until(() => writer.rounds() >= roundsAtStop + 40, 10_000, 'writes after the restart');
        await writer.stop();
        await expectExactly(service.hub, client, from);
        client.drop();
      },
    );

    it.skipIf(!backend.available)(
      'stops reading: is cut off rather than buffered for without bound, then catches up on the 10,000+ it missed',
      async () => {
        const service = await start(await backend.freshDatabase());
        const client = protocol.client(() => service);
        await client.connect();
        const from = client.cursor;
        client.pause();
        // 16 MB: a few fill the socket buffers, then more than 10,000 events wait for the client.
        await asks(service.hub, 3_500, 'x'.repeat(4_000));
        const all = await logSeqs(service.hub, from);
        client.resume();
        await client.ended();
        expect(client.seqs.length).toBeLessThan(all.length - MAX_QUEUED);
        expect(client.seqs).toEqual(all.slice(0, client.seqs.length));
        // A WebSocket is told after what it was sent; an SSE stream stuck in a write can only be dropped.
        if (protocol.name === 'WebSocket') expect(client.overflows).toEqual([client.cursor]);
        // History is read at the client's pace: so far behind, it is not cut off again.
        await client.connect();
        await expectExactly(service.hub, client, from);
        expect(client.overflows.length).toBeLessThanOrEqual(1);
        client.drop();
      },
    );
  });

  it.skipIf(!backend.available)(
    'SSE: filters (types=message.*, messageId) apply to the replay and the resume',
    async () => {
      const service = await start(await backend.freshDatabase());
      const hub = service.hub;
      const from = await hub.events.head();
      const thread = await hub.threads.create({ title: 'filters' });
      const a = await hub.messages.create({ threadId: thread.id, author: 'writer' });
      const b = await hub.messages.create({ threadId: thread.id, author: 'writer' });
      /** Changes to both replies and to something else: a task, whose events pass neither filter. */
      const changes = async (text: string) => {
        for (const m of [a, b]) await hub.messages.appendContent(m.id, text);
        await hub.tasks.create({ name: text });
      };
      for (const m of [a, b]) await hub.messages.transition(m.id, 'processing');
      await changes('before');
      const filters: [string, EventFilter][] = [
        ['types=message.*', { types: ['message.*'] }],
        [`messageId=${a.id}`, { messageId: a.id }],
      ];
      for (const [query, filter] of filters) {
        // From `from`, the history so far is a replay; then live; then dropped, missing some, and resumed.
        const client = new SseClient(() => service, `?${query}&after=${from}`);
        await client.connect();
        await changes('live');
        await expectExactly(hub, client, from, filter);
        client.drop();
        await changes('while away');
        // Last-Event-ID wins over the query's `after`, as for an EventSource reconnecting to the same URL.
        await client.connect();
        await changes('after the resume');
        await expectExactly(hub, client, from, filter);
        expect(client.seqs.length).toBeLessThan((await logSeqs(hub, from)).length);
        client.drop();
      }
    },
  );

  it.skipIf(!backend.available)('heartbeats: `: heartbeat` comments on SSE, pings on WebSocket', async () => {
    const service = await start(await backend.freshDatabase());
    const comments: string[] = [];
    const response = await openSse(`${service.url}/api/v1/events/stream?heartbeat=1`, (frame) => {
      if (frame.comment !== undefined) comments.push(frame.comment);
    });
    expect(response.headers['content-type']).toContain('text/event-stream');
    let pings = 0;
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws?heartbeat=1`);
    ws.on('ping', () => pings++);
    await until(() => comments.length >= 2 && pings >= 2, 5_000, 'two heartbeats on each');
    expect(comments.slice(0, 2)).toEqual(['heartbeat', 'heartbeat']);
    response.drop();
    ws.terminate();
  });

  it.skipIf(!backend.available)(
    'an expired cursor gets 410 cursor_expired and a bad one 400, before any stream starts',
    async () => {
      const service = await start(await backend.freshDatabase());
      const hub = service.hub;
      const old = await hub.events.head();
      await asks(hub, 2, 'soon pruned');
      await sleep(5);
      expect(await hub.events.prune(new Date())).toBeGreaterThan(0);
      const refused = async (query: string, headers: Record<string, string> = {}) => {
        const response = await openSse(`${service.url}/api/v1/events/stream${query}`, () => undefined, headers);
        return { status: response.status, type: response.headers['content-type'], body: JSON.parse(response.body) };
      };
      const expired = { status: 410, type: 'application/problem+json', body: { status: 410, code: 'cursor_expired' } };
      expect(await refused(`?after=${old}`)).toMatchObject(expired);
      expect(await refused('', { 'last-event-id': old })).toMatchObject(expired);
      const bad = { status: 400, type: 'application/problem+json', body: { code: 'invalid_cursor' } };
      expect(await refused('?after=hello')).toMatchObject(bad);
      expect(await refused('?after=c1.zzzzz')).toMatchObject(bad);
      expect(await refused('', { 'last-event-id': 'hello' })).toMatchObject(bad);
      expect(await refused('?heartbeat=0')).toMatchObject({ status: 400, body: { code: 'validation' } });
      expect(await refused('?types=message.exploded')).toMatchObject({ status: 400, body: { code: 'validation' } });
      // A refused WebSocket upgrade carries the status only.
      expect(await new WsClient(() => service, { after: old }).open()).toBe(410);
      expect(await new WsClient(() => service, { after: 'hello' }).open()).toBe(400);
    },
  );
});
