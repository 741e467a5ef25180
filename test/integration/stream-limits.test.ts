import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Service, ServiceOptions } from '../../src/service/service.js';
import { BACKENDS } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { asks, expectExactly, openSse, SseClient, type StreamClient, WsClient } from '../support/stream-clients.js';
import { until } from '../support/wait.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(database: string, options: Partial<ServiceOptions> = {}): Promise<Service> {
  const service = await startBareService(database, options);
  services.push(service);
  return service;
}

interface Health {
  streams: { clients: number; heldBytes: number };
}

const health = async (service: Service) => (await (await fetch(`${service.url}/api/v1/health`)).json()) as Health;

describe.each(BACKENDS)('stream limits on $name', (backend) => {
  it.skipIf(!backend.available)(
    'clients that never read are closed once all together hold too much, and resume from their cursor without loss',
    async () => {
      const totalBytes = 384 * 1024;
      const service = await start(await backend.freshDatabase(), {
        streamLimits: { totalBytes, clientBytes: 192 * 1024 },
      });
      const from = await service.hub.events.head();
      // 24 MB of log: more than the socket buffers of a client that does not read take.
      await asks(service.hub, 3_000, 'y'.repeat(4_000));
      const clients: StreamClient[] = [];
      for (let i = 0; i < 6; i++) {
        for (const client of [
          new SseClient(() => service, `?after=${from}`),
          new WsClient(() => service, { after: from }),
        ]) {
          await client.connect();
          client.pause();
          clients.push(client);
        }
      }
      // Those holding the most are closed until all together hold no more than the bound.
      await until(
        async () => (await health(service)).streams.clients < clients.length,
        20_000,
        'a client closed for holding too much',
      );
      const held = (await health(service)).streams.heldBytes;
      expect(held).toBeLessThanOrEqual(totalBytes);
      const head = await service.hub.events.head();
      for (const client of clients) {
        let ended = false;
        void client.ended().then(() => (ended = true));
        client.resume();
        await until(() => ended || client.cursor === head, 20_000, 'the client to read what it was sent');
        client.drop();
      }
      // Every client, closed or not, resumes from the cursor it reached and ends with exactly the log.
      for (const client of clients) {
        await client.connect();
        await expectExactly(service.hub, client, from);
        client.drop();
      }
      // A WebSocket closed is told the cursor it reached, the one it then resumed from.
      for (const ws of clients.filter((c) => c instanceof WsClient && c.overflows.length)) {
        expect(ws.readies[1]).toBe(ws.overflows[0]);
      }
    },
  );

  it.skipIf(!backend.available)('one stream more than the limit is refused with 503 and Retry-After', async () => {
    const service = await start(await backend.freshDatabase(), { streamLimits: { clients: 3 } });
    const open = [
      await openSse(`${service.url}/api/v1/events/stream`, () => undefined),
      await openSse(`${service.url}/api/v1/events/stream`, () => undefined),
    ];
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws`);
    await new Promise((resolve) => ws.once('message', resolve));
    const refused = await openSse(`${service.url}/api/v1/events/stream`, () => undefined);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'unavailable' });
    const wsRefused = await new Promise<number>((resolve) => {
      const extra = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws`);
      extra.on('error', () => undefined);
      extra.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
    });
    expect(wsRefused).toBe(503);
    // A client that leaves makes room for another.
    open[0]?.drop();
    await until(async () => (await health(service)).streams.clients === 2, 5_000, 'the dropped client to be gone');
    const again = await openSse(`${service.url}/api/v1/events/stream`, () => undefined);
    expect(again.status).toBe(200);
    again.drop();
    open[1]?.drop();
    ws.terminate();
  });

  it.skipIf(!backend.available)('a WebSocket client may send only small messages', async () => {
    const service = await start(await backend.freshDatabase());
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws`);
    await new Promise((resolve) => ws.once('message', resolve));
    // A small message is ignored: the stream goes on.
    ws.send('hello');
    await service.hub.threads.create({ title: 'after hello' });
    await new Promise((resolve) => ws.once('message', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(Buffer.alloc(1024 * 1024, 'x'));
    expect(await closed).toBe(1009);
    expect((await health(service)).streams.clients).toBe(0);
  });

  it.skipIf(!backend.available)('revoking a token ends the streams opened with it within a second', async () => {
    const service = await start(await backend.freshDatabase());
    const revoked = await service.hub.tokens.create({ label: 'to revoke' });
    const kept = await service.hub.tokens.create({ label: 'kept' });
    const frames: { token: string; event?: string; data?: string }[] = [];
    const sse = async (token: string) =>
      openSse(`${service.url}/api/v1/events/stream`, (f) => frames.push({ token, ...f }), {
        authorization: `Bearer ${token}`,
      });
    const sseRevoked = await sse(revoked.token);
    const sseKept = await sse(kept.token);
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws?token=${revoked.token}`);
    const wsMessages: string[] = [];
    ws.on('message', (m) => wsMessages.push(String(m)));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', resolve));
    await until(() => wsMessages.length > 0 && frames.length >= 2, 5_000, 'both streams ready');
    // The way `claude-comms token revoke` does it: in the database, maybe from another process.
    await service.hub.tokens.revoke(revoked.id);
    const at = Date.now();
    await sseRevoked.ended;
    expect(await wsClosed).toBe(4001);
    expect(Date.now() - at).toBeLessThan(5_000);
    expect(frames.find((f) => f.token === revoked.token && f.event === 'error')?.data).toContain('unauthorized');
    expect(JSON.parse(wsMessages.at(-1) as string)).toMatchObject({ type: 'error', code: 'unauthorized' });
    // The other token's stream goes on, and the revoked one is refused from now on.
    await service.hub.threads.create({ title: 'still live' });
    await until(() => frames.some((f) => f.token === kept.token && f.event === 'thread.created'), 5_000, 'an event');
    const again = await sse(revoked.token);
    expect(again.status).toBe(401);
    sseKept.drop();
  });
});
