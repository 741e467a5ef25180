// Web pages of other origins against a real service: a browser sends their requests to any address, with no
// CORS check for WebSockets and none for requests whose answer is not read. Every route of the API, the streams
// among them, refuses them (several foreign origins, `null`, another local port, another scheme), while the
// service's own origin, an allowed one, and clients that send no Origin (CLI, scripts) go on working. A token in
// the URL is taken only by the streams.
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Service, ServiceOptions } from '../../src/service/service.js';
import { startBareService } from '../support/service.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(options: Partial<ServiceOptions> = {}): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-origin-'));
  const service = await startBareService(`sqlite:${join(dir, 'comms.db')}`, options);
  services.push(service);
  return service;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request as a browser would send it, with exactly the given headers (fetch would add its own). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method, headers: { ...headers, ...length }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a WebSocket to the event stream; answers 101 with the first message, or the refused upgrade's status. */
function openWs(
  service: Service,
  headers: Record<string, string>,
  query = '',
): Promise<{ status: number; first?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${service.url.replace('http', 'ws')}/api/v1/ws${query}`, { headers });
    ws.on('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('message', (data) => {
      resolve({ status: 101, first: String(data) });
      ws.terminate();
    });
  });
}

/** A module, a pending reply with its task, an instance and a watch: something for every route to act on. */
async function world(service: Service) {
  const hub = service.hub;
  await hub.modules.register({ name: 'beta', config: {} });
  const asked = await hub.ask({ from: 'alpha', to: 'beta', prompt: 'what structure do you need?' });
  const instance = await hub.instances.create('beta');
  const watch = await hub.watches.create({ messageId: asked.messageId, command: 'true' });
  return { asked, taskId: asked.taskId, instanceId: instance.id, watchId: watch.id };
}

/** Every state-changing route of the OpenAPI document, its path parameters filled from `ids`. */
async function changingRoutes(service: Service, ids: Record<string, string>): Promise<[string, string][]> {
  const doc = (await (await fetch(`${service.url}/api/v1/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const routes: [string, string][] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) {
      if (method === 'get') continue;
      const resource = path.split('/')[1] ?? '';
      const filled = path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === 'name' ? 'beta' : (ids[resource] ?? 'unknown'),
      );
      routes.push([method.toUpperCase(), filled]);
    }
  }
  return routes;
}

describe('web pages of other origins', () => {
  it('are refused by every state-changing route, with or without a body, and nothing changes', async () => {
    const service = await start();
    const { asked, taskId, instanceId, watchId } = await world(service);
    const port = new URL(service.url).port;
    const foreign = [
      'http://evil.example',
      `http://127.0.0.1:${Number(port) + 1}`,
      `http://localhost:${Number(port) + 1}`,
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1.evil.example:${port}`,
      'null',
    ];
    const routes = await changingRoutes(service, {
      modules: 'beta',
      messages: asked.messageId,
      tasks: taskId,
      instances: instanceId,
      watches: watchId,
    });
    // Pause, resume, cancel, complete, ask, terminate… each one that a page could trigger.
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const head = await service.hub.events.head();
    for (const origin of foreign) {
      for (const [method, path] of routes) {
        for (const [type, body] of [
          [undefined, undefined],
          ['text/plain', ''],
          ['text/plain', JSON.stringify({ from: 'alpha', to: 'beta', prompt: 'hi' })],
          ['application/json', '{}'],
        ] as const) {
          const headers: Record<string, string> = { origin };
          if (type) headers['content-type'] = type;
          const answer = await send(`${service.url}/api/v1${path}`, method, headers, body);
          expect({ origin, method, path, type, status: answer.status }).toEqual({
            origin,
            method,
            path,
            type,
            status: 403,
          });
          expect(JSON.parse(answer.body)).toMatchObject({ code: 'forbidden' });
        }
      }
    }
    // Nothing happened: no event was written, the module takes questions, the reply still waits.
    expect(await service.hub.events.head()).toBe(head);
    expect((await service.hub.modules.get('beta')).paused).toBe(false);
    expect((await service.hub.messages.require(asked.messageId)).status).toBe('pending');
  });

  it('cannot read the log through a WebSocket, the SSE stream or a plain GET', async () => {
    const service = await start();
    await world(service);
    const port = new URL(service.url).port;
    for (const origin of ['http://evil.example', `http://localhost:${Number(port) + 7}`, 'null']) {
      expect(await openWs(service, { origin })).toEqual({ status: 403 });
      expect(await openWs(service, { origin }, '?after=c0')).toEqual({ status: 403 });
      const sse = await send(`${service.url}/api/v1/events/stream`, 'GET', { origin, accept: 'text/event-stream' });
      expect(sse.status).toBe(403);
      for (const path of ['/threads', '/events', '/tasks', '/search?q=alpha', '/health']) {
        const answer = await send(`${service.url}/api/v1${path}`, 'GET', { origin });
        expect({ path, status: answer.status }).toEqual({ path, status: 403 });
        expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      }
    }
    // A browser request without Origin (an <img>, a <script>) still says where it came from.
    for (const site of ['cross-site', 'same-site']) {
      const answer = await send(`${service.url}/api/v1/threads`, 'GET', { 'sec-fetch-site': site });
      expect(answer.status).toBe(403);
      expect(await openWs(service, { 'sec-fetch-site': site })).toEqual({ status: 403 });
    }
  });

  it('the service’s own origin, clients without one and allowed origins go on working', async () => {
    const service = await start({ allowedOrigins: ['http://localhost:5173'] });
    const { asked } = await world(service);
    const port = new URL(service.url).port;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const host = new URL(origin).host;
      const ws = await openWs(service, { origin, host });
      expect(ws.status).toBe(101);
      expect(JSON.parse(ws.first as string)).toMatchObject({ type: 'ready' });
      const paused = await send(`${service.url}/api/v1/modules/beta/pause`, 'POST', { origin, host });
      expect(paused.status).toBe(200);
      const resumed = await send(`${service.url}/api/v1/modules/beta/resume`, 'POST', { origin, host });
      expect(resumed.status).toBe(200);
    }
    // The CLI and scripts send no Origin.
    expect((await send(`${service.url}/api/v1/threads`, 'GET', {})).status).toBe(200);
    expect((await send(`${service.url}/api/v1/threads`, 'GET', { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    // An allowed origin gets CORS answers, its preflight included; its WebSocket and stream open.
    const allowed = 'http://localhost:5173';
    const preflight = await send(`${service.url}/api/v1/messages/${asked.messageId}/cancel`, 'OPTIONS', {
      origin: allowed,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
    const threads = await send(`${service.url}/api/v1/threads`, 'GET', { origin: allowed });
    expect(threads.status).toBe(200);
    expect(threads.headers['access-control-allow-origin']).toBe(allowed);
    expect((await openWs(service, { origin: allowed })).status).toBe(101);
    const cancelled = await send(`${service.url}/api/v1/messages/${asked.messageId}/cancel`, 'POST', {
      origin: allowed,
    });
    expect(cancelled.status).toBe(200);
    // Allowed means exactly that origin: another port of the same host is still foreign.
    expect((await send(`${service.url}/api/v1/threads`, 'GET', { origin: 'http://localhost:5174' })).status).toBe(403);
  });

  it('an allow-list entry that is not an origin is refused at start', async () => {
    for (const bad of ['localhost:5173', 'ftp://example.com', 'http://example.com/app', '*']) {
      await expect(start({ allowedOrigins: [bad] })).rejects.toMatchObject({ code: 'validation' });
    }
  });
});

describe('a token in the URL', () => {
  it('is taken by the streams only; elsewhere it is refused with a clear error', async () => {
    const service = await start();
    const { token } = await service.hub.tokens.create({ label: 'url' });
    const threads = await send(`${service.url}/api/v1/threads?token=${token}`, 'GET', {});
    expect(threads.status).toBe(400);
    expect(JSON.parse(threads.body)).toMatchObject({ code: 'validation', detail: expect.stringContaining('Bearer') });
    const pause = await send(`${service.url}/api/v1/modules/x/pause?token=${token}`, 'POST', {});
    expect(pause.status).toBe(400);
    // Only the streams themselves: not a path that merely ends like one.
    for (const path of ['/modules/ws', '/threads/ws', '/modules/events/stream']) {
      const answer = await send(`${service.url}/api/v1${path}?token=${token}`, 'GET', {});
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
    }
    expect((await openWs(service, {}, `?token=${token}`)).status).toBe(101);
    const sse = await new Promise<number>((resolve) => {
      const req = request(`${service.url}/api/v1/events/stream?token=${token}`, (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      });
      req.end();
    });
    expect(sse).toBe(200);
  });
});
