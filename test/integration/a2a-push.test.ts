// A2A push notifications through the hub's hooks, on each database: a push config is a webhook watch on the task's
// reply. The official SDK's client sends a message with a push config to a slow command module, and a local
// receiver gets the task's updates (A2A StreamResponse bodies) ending in `completed` with the answer, each with the
// config's token; configs are created, read, listed and deleted (the watch with them); a URL the hooks' target
// rules refuse is invalid params naming why, with nothing asked; a module-scoped token sees only its own tasks'
// configs; a config set over v0.3 gets v0.3 bodies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageRequest, StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { clientFor } from '../support/a2a-client.js';
import { BACKENDS } from '../support/backends.js';
import { startBareService } from '../support/service.js';

/** The modules' agent: answers `answer to <word>` for `Q:word`; SLOW waits 1.5 s first, FOREVER a minute. */
const AGENT = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const word = /Q:(\\w+)/.exec(q)?.[1] ?? '?';
  if (q.includes('SLOW')) await sleep(1500);
  if (q.includes('FOREVER')) await sleep(60000);
  process.stdout.write('answer to ' + word);
});`;

const CONFIG = (dir: string) => `modules:
  beta:
    cwd: ${JSON.stringify(dir)}
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers
    concurrency: 4
  gamma:
    cwd: ${JSON.stringify(dir)}
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers too
    concurrency: 4
`;

/** One notification a receiver got. */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: { close(): void }[] = [];

/** A webhook receiver on 127.0.0.1 answering 200; keeps what it got. */
async function receiver() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/a2a-push`, received };
}

/** The events a receiver got, as the SDK reads them. */
function eventsOf(received: Received[]): StreamResponse[] {
  return received.map((r) => StreamResponse.fromJSON(JSON.parse(r.body)));
}

/** Each event as `kind:STATE`. */
function kinds(events: StreamResponse[]): string[] {
  return events.map((e) => {
    const p = e.payload;
    if (p?.$case === 'statusUpdate') return `statusUpdate:${TaskState[p.value.status?.state ?? 0]}`;
    if (p?.$case === 'task') return `task:${TaskState[p.value.status?.state ?? 0]}`;
    return p?.$case ?? 'none';
  });
}

/** Waits until `check` holds (10 s at most). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** Waits until `read` answers something `check` accepts (10 s at most); answers it. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 200 && !check(value); i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

const ended = (r: { received: Received[] }) => () =>
  r.received.some((x) => {
    const p = StreamResponse.fromJSON(JSON.parse(x.body)).payload;
    return p?.$case === 'task' && p.value.status?.state === TaskState.TASK_STATE_COMPLETED;
  });

/** A SendMessage request asking `skill` `text`, with a push config when given. */
function send(
  text: string,
  skill: string,
  push?: { url: string; token?: string; id?: string },
  returnImmediately = true,
): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], metadata: { skill } },
    configuration: { returnImmediately, ...(push ? { taskPushNotificationConfig: push } : {}) },
  });
}

/** Posts a JSON-RPC request; answers its body. */
async function rpc(url: string, method: string, params: unknown, token?: string) {
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

/** Starts a service for `database`; `allowPrivate` lets module tokens' webhooks reach loopback (the receivers). */
async function serviceOn(database: string, allowPrivate: boolean): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-a2a-push-'));
  writeFileSync(join(dir, 'agent.mjs'), AGENT);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, CONFIG(dir));
  const before = process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE;
  if (allowPrivate) process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE = '1';
  else delete process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE;
  try {
    return await startBareService(database, { config });
  } finally {
    if (before === undefined) delete process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE;
    else process.env.CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE = before;
  }
}

/** The hub reply an A2A task follows. */
function replyOf(task: Task): string {
  return (task.metadata?.claudeComms as { messageId?: string } | undefined)?.messageId ?? '';
}

afterAll(() => {
  for (const server of servers.splice(0)) server.close();
});

describe.each(BACKENDS)('A2A push notifications through the hooks on $name', (backend) => {
  /** Module tokens may call loopback webhooks here (CLAUDE_COMMS_WEBHOOK_ALLOW_PRIVATE=1)… */
  let service: Service;
  /** …and not here: the hooks' target rules as a hub runs by default. */
  let strict: Service;
  let client: Client;

  beforeAll(async () => {
    if (!backend.available) return;
    service = await serviceOn(await backend.freshDatabase(), true);
    strict = await serviceOn(await backend.freshDatabase(), false);
    client = await clientFor(service.url);
  });
  afterAll(async () => {
    await service?.close({ cancelRunning: true });
    await strict?.close({ cancelRunning: true });
  });

  describe.skipIf(!backend.available)('', () => {
    it('says so in the card', async () => {
      expect((await client.getAgentCard()).capabilities?.pushNotifications).toBe(true);
    });

    it('posts the task’s updates to the config’s URL with its token, ending in completed with the answer', async () => {
      const r = await receiver();
      const task = (await client.sendMessage(send('Q:pushed SLOW', 'beta', { url: r.url, token: 'tok-1' }))) as Task;
      expect(task.status?.state).not.toBe(TaskState.TASK_STATE_COMPLETED);
      await until(ended(r), 'the completed task');
      const events = eventsOf(r.received);
      expect(kinds(events)).toEqual(['statusUpdate:TASK_STATE_WORKING', 'task:TASK_STATE_COMPLETED']);
      for (const x of r.received) {
        expect(x.headers['x-a2a-notification-token']).toBe('tok-1');
        expect(x.headers['content-type']).toBe('application/a2a+json');
        // Still signed by the hub, as every watch's webhook is.
        expect(x.headers['x-claude-comms-signature']).toMatch(/^sha256=/);
      }
      const working = events[0]?.payload;
      expect(working?.$case === 'statusUpdate' && [working.value.taskId, working.value.contextId]).toEqual([
        task.id,
        task.contextId,
      ]);
      const done = events[1]?.payload;
      if (done?.$case !== 'task') throw new Error('the last notification is not the task');
      expect(done.value.id).toBe(task.id);
      expect(done.value.contextId).toBe(task.contextId);
      expect(done.value.artifacts.map((a) => [a.name, a.parts.map((p) => p.content?.value)])).toEqual([
        ['answer', ['answer to pushed']],
      ]);
      // The config is a webhook watch on the task's reply, finished once the reply ended; it is still the task's.
      const watch = await eventually(
        async () => (await service.hub.watches.list({ all: true })).find((w) => w.messageId === replyOf(task)),
        (w) => w?.removedAt !== null,
      );
      expect(watch?.webhook).toBe(r.url);
      expect(watch?.removedAt).not.toBeNull();
      expect(watch?.delivered).toBe(2);
      const listed = await client.listTaskPushNotificationConfig({
        tenant: '',
        taskId: task.id,
        pageSize: 0,
        pageToken: '',
      });
      expect(listed.configs.map((c) => [c.taskId, c.url, c.token])).toEqual([[task.id, r.url, 'tok-1']]);
      expect(listed.configs[0]?.id).not.toBe('');
    });

    it('creates, gets, lists and deletes a task’s configs; a deleted one’s watch is removed and fires no more', async () => {
      const kept = await receiver();
      const dropped = await receiver();
      const task = (await client.sendMessage(send('Q:configs SLOW', 'gamma'))) as Task;
      const made = await client.createTaskPushNotificationConfig({
        tenant: '',
        id: '',
        taskId: task.id,
        url: kept.url,
        token: '',
        authentication: { scheme: 'Bearer', credentials: 'secret-1' },
      });
      expect(made.id).not.toBe('');
      await client.createTaskPushNotificationConfig({
        tenant: '',
        id: 'second',
        taskId: task.id,
        url: dropped.url,
        token: 'tok-2',
        authentication: undefined,
      });
      const got = await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'second' });
      expect([got.url, got.token]).toEqual([dropped.url, 'tok-2']);
      const list = () =>
        client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' });
      expect((await list()).configs.map((c) => c.id)).toEqual([made.id, 'second']);
      const watchOf = async (url: string) =>
        (await service.hub.watches.list({ all: true })).find((w) => w.messageId === replyOf(task) && w.webhook === url);
      expect((await watchOf(dropped.url))?.removedAt).toBeNull();
      await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'second' });
      expect((await list()).configs.map((c) => c.id)).toEqual([made.id]);
      expect((await watchOf(dropped.url))?.removedAt).not.toBeNull();
      await expect(client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'second' })).rejects.toThrow(
        /not found/i,
      );
      await until(ended(kept), 'the completed task');
      // `authentication` goes as Authorization, in place of the token header.
      expect(kept.received.every((x) => x.headers.authorization === 'Bearer secret-1')).toBe(true);
      expect(kept.received.every((x) => x.headers['x-a2a-notification-token'] === undefined)).toBe(true);
      expect(ended(dropped)()).toBe(false);
      // Setting a config on a task that has ended reports its end once.
      const late = await receiver();
      await client.createTaskPushNotificationConfig({
        tenant: '',
        id: 'late',
        taskId: task.id,
        url: late.url,
        token: 'tok-3',
        authentication: undefined,
      });
      await until(ended(late), 'the ended task, to a config set after its end');
      expect(kinds(eventsOf(late.received))).toEqual(['task:TASK_STATE_COMPLETED']);
    });

    it('refuses a URL the hooks’ rules refuse as invalid params naming why, asking nothing', async () => {
      const token = (await strict.hub.tokens.create({ module: 'gamma' })).token;
      const r = await receiver();
      const before = (await strict.hub.tasks.stats()).total;
      const refused = await rpc(
        strict.url,
        'SendMessage',
        SendMessageRequest.toJSON(send('Q:never', 'beta', { url: r.url, token: 't' })),
        token,
      );
      expect(refused.error?.code).toBe(-32602);
      expect(refused.error?.message).toContain('resolves to 127.0.0.1, a loopback address');
      expect((await strict.hub.tasks.stats()).total).toBe(before);
      // Not an http(s) URL: refused for anyone.
      const ftp = await rpc(
        strict.url,
        'SendMessage',
        SendMessageRequest.toJSON(send('Q:never', 'beta', { url: 'ftp://x/y' })),
      );
      expect(ftp.error?.code).toBe(-32602);
      expect(ftp.error?.message).toContain('http(s) URL');
      const header = await rpc(
        strict.url,
        'SendMessage',
        SendMessageRequest.toJSON(send('Q:never', 'beta', { url: r.url, token: 'a\r\nx-evil: 1' })),
      );
      expect(header.error?.code).toBe(-32602);
      expect(header.error?.message).toContain('token cannot be sent in a header');
      // On an existing task too; an unscoped token may call loopback.
      const asGamma = await clientFor(strict.url, token);
      const own = (await asGamma.sendMessage(send('Q:own', 'beta', undefined, false))) as Task;
      const create = await rpc(
        strict.url,
        'CreateTaskPushNotificationConfig',
        { taskId: own.id, url: r.url, token: 't' },
        token,
      );
      expect(create.error?.code).toBe(-32602);
      expect(create.error?.message).toContain('loopback');
      const unscoped = await rpc(strict.url, 'CreateTaskPushNotificationConfig', { taskId: own.id, url: r.url });
      expect(unscoped.error).toBeUndefined();
      await until(ended(r), 'the unscoped config’s notification');
    });

    it('lets a module-scoped token see and change only its own tasks’ configs', async () => {
      const gamma = (await service.hub.tokens.create({ module: 'gamma' })).token;
      const beta = (await service.hub.tokens.create({ module: 'beta' })).token;
      const r = await receiver();
      const asGamma = await clientFor(service.url, gamma);
      const own = (await asGamma.sendMessage(send('Q:scoped SLOW', 'beta', { url: r.url, id: 'mine' }))) as Task;
      const watch = (await service.hub.watches.list({ all: true })).find((w) => w.messageId === replyOf(own));
      expect(watch?.createdBy).toBe('gamma');
      for (const [method, params] of [
        ['GetTaskPushNotificationConfig', { taskId: own.id, id: 'mine' }],
        ['ListTaskPushNotificationConfigs', { taskId: own.id }],
        ['DeleteTaskPushNotificationConfig', { taskId: own.id, id: 'mine' }],
        ['CreateTaskPushNotificationConfig', { taskId: own.id, url: r.url }],
      ] as const) {
        expect((await rpc(service.url, method, params, beta)).error?.code, method).toBe(-32001);
      }
      const mine = await rpc(service.url, 'ListTaskPushNotificationConfigs', { taskId: own.id }, gamma);
      expect((mine.result as { configs: { id: string }[] }).configs.map((c) => c.id)).toEqual(['mine']);
      // A token without a module sees every task's.
      const all = await rpc(service.url, 'ListTaskPushNotificationConfigs', { taskId: own.id });
      expect((all.result as { configs: { id: string }[] }).configs.map((c) => c.id)).toEqual(['mine']);
      await until(ended(r), 'the completed task');
      const finished = await eventually(
        () => service.hub.watches.get(watch?.id as string),
        (w) => w.removedAt !== null,
      );
      expect(finished.delivered).toBe(2);
    });

    it('sends a config set over v0.3 the v0.3 event', async () => {
      const r = await receiver();
      const task = (await client.sendMessage(send('Q:legacy SLOW', 'beta'))) as Task;
      const set = await rpc(service.url, 'tasks/pushNotificationConfig/set', {
        taskId: task.id,
        pushNotificationConfig: { id: 'old', url: r.url, token: 'tok-03' },
      });
      expect(set.error).toBeUndefined();
      await until(
        () =>
          r.received.some((x) => (JSON.parse(x.body) as { status?: { state?: string } }).status?.state === 'completed'),
        'the v0.3 completed task',
      );
      const last = JSON.parse(r.received.at(-1)?.body ?? '{}') as { kind: string; id: string; artifacts: unknown[] };
      expect([last.kind, last.id]).toEqual(['task', task.id]);
      expect(JSON.stringify(last.artifacts)).toContain('answer to legacy');
      expect(r.received.every((x) => x.headers['x-a2a-notification-token'] === 'tok-03')).toBe(true);
    });
  });
});
