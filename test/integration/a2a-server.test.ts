// The hub as an A2A server, driven by the official A2A SDK's own client against a real service on each database:
// discovery from the agent card, SendMessage, SendStreamingMessage (events in order), a stream cut off then picked
// up with SubscribeToTask, GetTask, ListTasks, CancelTask, a v0.3 client; each kind of bad input is a JSON-RPC
// error with its code; the API's Origin check and a module-scoped token's scope apply. The modules are small node
// programs (command backend), so no Claude is needed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, SendMessageRequest, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { clientFor } from '../support/a2a-client.js';
import { BACKENDS, memoryLogger } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

/** beta's agent: answers `answer to <word>` for the question's `Q:word`; STREAM writes in three parts, SLOW waits. */
const AGENT = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const word = /Q:(\\w+)/.exec(q)?.[1] ?? '?';
  if (q.includes('SLOW')) await sleep(2500);
  if (q.includes('FOREVER')) await sleep(60000);
  if (q.includes('BIG')) {
    for (let i = 0; i < 40; i++) { process.stdout.write('\u00e9'.repeat(90000)); await sleep(10); }
    return;
  }
  if (q.includes('STREAM')) {
    for (const part of ['one ', 'two ', 'three']) { process.stdout.write(part); await sleep(250); }
    return;
  }
  process.stdout.write('answer to ' + word);
});`;

const CONFIG = (dir: string) => `modules:
  beta:
    cwd: ${JSON.stringify(dir)}
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers at once
    capabilities: [echo]
    concurrency: 4
  gamma:
    cwd: ${JSON.stringify(dir)}
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers too
    concurrency: 4
`;

/** A v1.0 SendMessage request asking `skill` (a module or a capability) `text`. */
function send(text: string, o: { skill?: string; contextId?: string; returnImmediately?: boolean } = {}) {
  return SendMessageRequest.fromJSON({
    message: {
      messageId: crypto.randomUUID(),
      role: 'ROLE_USER',
      parts: [{ text }],
      ...(o.contextId ? { contextId: o.contextId } : {}),
      ...(o.skill ? { metadata: { skill: o.skill } } : {}),
    },
    ...(o.returnImmediately ? { configuration: { returnImmediately: true } } : {}),
  });
}

/** The text of a task's `answer` artifact. */
function answerOf(task: Task): string {
  const artifact = task.artifacts.find((a) => a.name === 'answer');
  return (artifact?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
}

function isTask(result: Task | Message): result is Task {
  return 'status' in result;
}

/** A JSON-RPC answer as the tests read it: an error, or a v0.3 task. */
interface RpcAnswer {
  error?: { code: number; message: string };
  result: { kind: string; id: string; status: { state: string }; artifacts: { parts: { text?: string }[] }[] };
}

/** Posts a raw JSON-RPC body (a string as it is) and answers the status and parsed body. */
async function rpc(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as RpcAnswer };
}

/** Posts `body` on a connection of its own (one refused before its body is read is closed after the answer). */
function postOnce(url: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe.each(BACKENDS)('the hub as an A2A server on $name', (backend) => {
  let service: Service;
  let client: Client;
  let config: string;

  beforeAll(async () => {
    if (!backend.available) return;
    const dir = mkdtempSync(join(tmpdir(), 'cc-a2a-'));
    writeFileSync(join(dir, 'agent.mjs'), AGENT);
    config = join(dir, 'config.yaml');
    writeFileSync(config, CONFIG(dir));
    service = await startBareService(await backend.freshDatabase(), { config });
    client = await clientFor(service.url);
  });
  afterAll(async () => {
    await service?.close({ cancelRunning: true });
  });

  describe.skipIf(!backend.available)('', () => {
    it('describes the modules as skills in the agent card, with its JSON-RPC endpoint and bearer scheme', async () => {
      const card = await client.getAgentCard();
      expect(card.skills.map((s) => [s.id, s.description, s.tags])).toEqual([
        ['beta', 'answers at once', ['echo']],
        ['gamma', 'answers too', []],
      ]);
      expect(card.supportedInterfaces.map((i) => [i.url, i.protocolBinding, i.protocolVersion])).toEqual([
        [`${service.url}/a2a`, 'JSONRPC', '1.0'],
        [`${service.url}/a2a`, 'JSONRPC', '0.3'],
      ]);
      expect(card.capabilities?.streaming).toBe(true);
      expect(Object.keys(card.securitySchemes)).toEqual(['bearer']);
    });

    it('answers SendMessage with the completed task, its answer as an artifact; the context is the hub thread', async () => {
      const result = await client.sendMessage(send('Q:ping', { skill: 'beta' }));
      expect(isTask(result)).toBe(true);
      const task = result as Task;
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(answerOf(task)).toBe('answer to ping');
      const thread = await service.hub.threads.get(task.contextId);
      expect(thread.id).toBe(task.contextId);
      // The same context goes on in the same thread; a capability routes to the module declaring it.
      const next = (await client.sendMessage(send('Q:again', { skill: 'echo', contextId: task.contextId }))) as Task;
      expect(next.contextId).toBe(task.contextId);
      expect(answerOf(next)).toBe('answer to again');
      const messages = await service.hub.messages.list({ threadId: task.contextId });
      expect(messages.map((m) => m.content)).toEqual(['Q:ping', 'answer to ping', 'Q:again', 'answer to again']);
    });

    it('streams SendStreamingMessage: the task, working, the answer as it is written, then completed', async () => {
      const events: StreamResponse[] = [];
      for await (const event of client.sendMessageStream(send('Q:s STREAM', { skill: 'gamma' }))) events.push(event);
      const kinds = events.map((e) =>
        e.payload?.$case === 'statusUpdate'
          ? `status:${TaskState[e.payload.value.status?.state ?? 0]}`
          : (e.payload?.$case ?? 'none'),
      );
      expect(kinds[0]).toBe('task');
      expect(kinds.indexOf('status:TASK_STATE_WORKING')).toBeGreaterThan(0);
      expect(kinds.at(-1)).toBe('status:TASK_STATE_COMPLETED');
      const appended = events.flatMap((e) =>
        e.payload?.$case === 'artifactUpdate' && e.payload.value.append
          ? (e.payload.value.artifact?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
          : [],
      );
      expect(appended.join('')).not.toBe('');
      expect(kinds.indexOf('artifactUpdate')).toBeGreaterThan(kinds.indexOf('status:TASK_STATE_WORKING'));
      const last = events.findLast((e) => e.payload?.$case === 'artifactUpdate');
      expect(last?.payload?.$case === 'artifactUpdate' && last.payload.value.lastChunk).toBe(true);
      const taskId = events[0]?.payload?.$case === 'task' ? events[0].payload.value.id : '';
      expect(answerOf(await client.getTask({ tenant: '', id: taskId }))).toBe('one two three');
    });

    it('picks a stream up again with SubscribeToTask after the caller hung up, and the task still completes', async () => {
      const abort = new AbortController();
      let taskId = '';
      await expect(async () => {
        for await (const event of client.sendMessageStream(send('Q:late SLOW', { skill: 'beta' }), {
          signal: abort.signal,
        })) {
          if (event.payload?.$case === 'task') {
            taskId = event.payload.value.id;
            abort.abort();
          }
        }
      }).rejects.toThrow();
      expect(taskId).not.toBe('');
      const resumed: StreamResponse[] = [];
      for await (const event of client.resubscribeTask({ tenant: '', id: taskId })) resumed.push(event);
      expect(resumed[0]?.payload?.$case).toBe('task');
      const end = resumed.at(-1)?.payload;
      expect(end?.$case === 'statusUpdate' && end.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      const task = await client.getTask({ tenant: '', id: taskId });
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(answerOf(task)).toBe('answer to late');
    });

    it('lists tasks by context and a page at a time', async () => {
      const first = (await client.sendMessage(send('Q:l1', { skill: 'beta' }))) as Task;
      const second = (await client.sendMessage(send('Q:l2', { skill: 'beta', contextId: first.contextId }))) as Task;
      const inContext = await client.listTasks({
        tenant: '',
        contextId: first.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageToken: '',
        statusTimestampAfter: undefined,
      });
      expect(inContext.tasks.map((t) => t.id)).toEqual([second.id, first.id]);
      expect(inContext.totalSize).toBe(2);
      const page = await client.listTasks({
        tenant: '',
        contextId: first.contextId,
        status: TaskState.TASK_STATE_COMPLETED,
        pageSize: 1,
        pageToken: '',
        statusTimestampAfter: undefined,
      });
      expect(page.tasks.map((t) => t.id)).toEqual([second.id]);
      const rest = await client.listTasks({
        tenant: '',
        contextId: first.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageSize: 1,
        pageToken: page.nextPageToken,
        statusTimestampAfter: undefined,
      });
      expect(rest.tasks.map((t) => t.id)).toEqual([first.id]);
      expect(rest.nextPageToken).toBe('');
    });

    it('cancels a slow module’s task with CancelTask, and its reply with it', async () => {
      const started = (await client.sendMessage(
        send('Q:c FOREVER', { skill: 'beta', returnImmediately: true }),
      )) as Task;
      expect(started.status?.state).not.toBe(TaskState.TASK_STATE_COMPLETED);
      const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
      expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      const messageId = (cancelled.metadata?.claudeComms as { messageId: string } | undefined)?.messageId ?? '';
      expect((await service.hub.messages.require(messageId)).status).toBe('cancelled');
      expect((await client.getTask({ tenant: '', id: started.id })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    });

    it('keeps tasks across a restart: a reply answered after it ends its task with the answer', async () => {
      const database = await backend.freshDatabase();
      const first = await startBareService(database, { config });
      const started = (await (
        await clientFor(first.url)
      ).sendMessage(send('Q:restart SLOW', { skill: 'beta', returnImmediately: true }))) as Task;
      await first.close();
      const second = await startBareService(database, { config });
      try {
        const again = await clientFor(second.url);
        const kept = await again.getTask({ tenant: '', id: started.id });
        expect(kept.contextId).toBe(started.contextId);
        const messageId = (kept.metadata?.claudeComms as { messageId: string } | undefined)?.messageId ?? '';
        await second.hub.waitForCompletion(messageId, { timeoutMs: 20_000 });
        const ended = await again.getTask({ tenant: '', id: started.id });
        expect(ended.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
        expect(answerOf(ended)).toBe('answer to restart');
      } finally {
        await second.close();
      }
    });

    it('answers a v0.3 client: the SDK’s legacy transport, and message/send as JSON', async () => {
      const legacy = new LegacyJsonRpcTransport({ endpoint: `${service.url}/a2a` });
      const result = await legacy.sendMessage(send('Q:old', { skill: 'beta' }));
      expect(isTask(result) && answerOf(result)).toBe('answer to old');
      const raw = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 7,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            messageId: crypto.randomUUID(),
            role: 'user',
            parts: [{ kind: 'text', text: 'Q:older' }],
            metadata: { skill: 'beta' },
          },
        },
      });
      expect(raw.body.result.kind).toBe('task');
      expect(raw.body.result.status.state).toBe('completed');
      const got = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 8,
        method: 'tasks/get',
        params: { id: raw.body.result.id },
      });
      expect(got.body.result.artifacts[0]?.parts[0]?.text).toBe('answer to older');
    });

    it('answers bad input with the JSON-RPC error for it, and goes on answering', async () => {
      const code = async (body: unknown) => (await rpc(service.url, body)).body.error?.code;
      expect(await code('{"jsonrpc": "2.0", "method": ')).toBe(-32700);
      expect(await code({ jsonrpc: '1.0', id: 1, method: 'GetTask' })).toBe(-32600);
      expect(await code([{ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }])).toBe(-32600);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'FlyToTheMoon', params: {} })).toBe(-32601);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'tasks/fly', params: {} })).toBe(-32601);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: 'task-1' })).toBe(-32602);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { parts: 5 } } })).toBe(
        -32602,
      );
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: { pageSize: 1000 } })).toBe(-32602);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: crypto.randomUUID() } })).toBe(
        -32001,
      );
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { id: crypto.randomUUID() } })).toBe(
        -32001,
      );
      expect(
        await code({
          jsonrpc: '2.0',
          id: 1,
          method: 'CreateTaskPushNotificationConfig',
          params: { taskId: crypto.randomUUID(), url: 'https://example.com/hook' },
        }),
      ).toBe(-32001);
      const done = (await client.sendMessage(send('Q:done', { skill: 'beta' }))) as Task;
      const more = SendMessageRequest.toJSON(send('Q:more', { skill: 'beta' })) as { message: Record<string, unknown> };
      more.message.taskId = done.id;
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: more })).toBe(-32004);
      expect(await code({ jsonrpc: '2.0', id: 1, method: 'CancelTask', params: { id: done.id } })).toBe(-32002);
      const versioned = await rpc(
        service.url,
        { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: done.id } },
        { 'a2a-version': '2.0' },
      );
      expect(versioned.body.error?.code).toBe(-32009);
      // With two modules and no skill named, the error names the skills to choose from.
      const unnamed = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 2,
        method: 'SendMessage',
        params: SendMessageRequest.toJSON(send('Q:x')),
      });
      expect(unnamed.body.error?.code).toBe(-32602);
      expect(unnamed.body.error?.message).toContain('beta, gamma');
      const unknown = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 3,
        method: 'SendMessage',
        params: SendMessageRequest.toJSON(send('Q:x', { skill: 'nobody' })),
      });
      expect(unknown.body.error?.code).toBe(-32602);
      expect(unknown.body.error?.message).toContain('no skill or capability nobody');
      const big = await postOnce(`${service.url}/a2a`, {
        jsonrpc: '2.0',
        id: 4,
        method: 'SendMessage',
        params: SendMessageRequest.toJSON(send('x'.repeat(1_100_000))),
      });
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body)).toMatchObject({ code: 'too_large' });
      expect(((await client.sendMessage(send('Q:after', { skill: 'beta' }))) as Task).status?.state).toBe(
        TaskState.TASK_STATE_COMPLETED,
      );
    });

    it('refuses web pages of other origins, as the API does', async () => {
      const refused = await rpc(
        service.url,
        { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } },
        {
          origin: 'http://evil.example',
        },
      );
      expect(refused.status).toBe(403);
      const card = await fetch(`${service.url}/.well-known/agent-card.json`, {
        headers: { origin: 'http://evil.example' },
      });
      expect(card.status).toBe(403);
    });

    it("refuses what it could not store whole before asking, and names the caller's scheme in the card", async () => {
      const before = (await service.hub.tasks.list({ module: 'beta' })).length;
      let deep: unknown = 'x';
      for (let i = 0; i < 200; i++) deep = { deeper: deep };
      const nested = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 7,
        method: 'SendMessage',
        params: {
          message: {
            messageId: 'm-deep',
            role: 'ROLE_USER',
            parts: [{ text: 'Q:deep' }],
            metadata: { skill: 'beta', deep },
          },
        },
      });
      expect(nested.body.error).toMatchObject({
        code: -32600,
        message: expect.stringContaining('nested deeper than 64'),
      });
      const huge = await rpc(service.url, {
        jsonrpc: '2.0',
        id: 8,
        method: 'SendMessage',
        params: {
          message: {
            messageId: 'm-huge',
            role: 'ROLE_USER',
            parts: [{ text: 'Q:x '.repeat(250_001) }],
            metadata: { skill: 'beta' },
          },
        },
      });
      expect(huge.body.error?.code).toBe(-32602);
      // Bytes that are not UTF-8 are refused as the API refuses them, not stored as replacement characters.
      const res = await fetch(`${service.url}/a2a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat([
          Buffer.from('{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"text":"'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('"}}}'),
        ]),
      });
      expect(res.status).toBe(400);
      expect((await service.hub.tasks.list({ module: 'beta' })).length).toBe(before);
      const card = await fetch(`${service.url}/.well-known/agent-card.json`, {
        headers: { 'x-forwarded-proto': 'https' },
      });
      const interfaces = ((await card.json()) as { supportedInterfaces: { url: string }[] }).supportedInterfaces;
      expect(interfaces[0]?.url).toBe(`${service.url.replace('http:', 'https:')}/a2a`);
    });

    it('closes a stream whose caller stops reading, and still stores the task it sent', async () => {
      const { logger, lines } = memoryLogger();
      const own = await startBareService(await backend.freshDatabase(), { config, logger });
      try {
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: 11,
          method: 'SendStreamingMessage',
          params: {
            message: {
              messageId: crypto.randomUUID(),
              role: 'ROLE_USER',
              parts: [{ text: 'Q:big BIG' }],
              metadata: { skill: 'beta' },
            },
          },
        });
        // A caller that reads nothing after the headers: its socket's buffers fill, then the service's queue.
        const req = request(`${own.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json' } });
        req.on('response', (res) => res.pause());
        req.on('error', () => undefined);
        req.end(body);
        await until(
          () => lines.some((l) => String(l.msg).includes('its caller left too much unread')),
          30_000,
          'the stream to be closed',
        );
        req.destroy();
        // The task it sent is still followed to its end and stored whole.
        await until(
          async () => (await own.hub.tasks.list({ module: 'beta' }))[0]?.status === 'complete',
          30_000,
          'the task',
        );
        const listed = await (await clientFor(own.url)).listTasks({
          tenant: '',
          contextId: '',
          status: TaskState.TASK_STATE_UNSPECIFIED,
          pageToken: '',
          statusTimestampAfter: undefined,
        });
        await until(
          async () =>
            (
              await (
                await clientFor(own.url)
              ).listTasks({
                tenant: '',
                contextId: '',
                status: TaskState.TASK_STATE_COMPLETED,
                pageToken: '',
                statusTimestampAfter: undefined,
              })
            ).tasks.length === 1,
          10_000,
          'the A2A task stored completed',
        );
        expect(listed.tasks).toHaveLength(1);
      } finally {
        await own.close({ cancelRunning: true });
      }
    });

    it('ends a stream within seconds once its token is revoked', async () => {
      const created = await service.hub.tokens.create({ module: 'gamma' });
      const res = await fetch(`${service.url}/a2a`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${created.token}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'SendStreamingMessage',
          params: {
            message: {
              messageId: crypto.randomUUID(),
              role: 'ROLE_USER',
              parts: [{ text: 'Q:long FOREVER' }],
              metadata: { skill: 'beta' },
            },
          },
        }),
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      const started = Date.now();
      await service.hub.tokens.revoke(created.id);
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('the token of this stream was revoked');
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('lets a module-scoped token ask as its module and see only its own tasks', async () => {
      const gammaToken = (await service.hub.tokens.create({ module: 'gamma' })).token;
      const betaToken = (await service.hub.tokens.create({ module: 'beta' })).token;
      const asGamma = await clientFor(service.url, gammaToken);
      const asBeta = await clientFor(service.url, betaToken);
      const own = (await asGamma.sendMessage(send('Q:mine', { skill: 'beta' }))) as Task;
      expect(own.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      const question = (await service.hub.messages.list({ threadId: own.contextId }))[0];
      expect(question?.author).toBe('gamma');
      expect((await asGamma.getTask({ tenant: '', id: own.id })).id).toBe(own.id);
      await expect(asBeta.getTask({ tenant: '', id: own.id })).rejects.toThrow(/not found/i);
      const listed = await asBeta.listTasks({
        tenant: '',
        contextId: '',
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageToken: '',
        statusTimestampAfter: undefined,
      });
      expect(listed.tasks.map((t) => t.id)).not.toContain(own.id);
      await expect(asBeta.cancelTask({ tenant: '', id: own.id, metadata: undefined })).rejects.toThrow(/not found/i);
      const bad = await rpc(
        service.url,
        { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: own.id } },
        {
          authorization: 'Bearer cc_nonsense',
        },
      );
      expect(bad.status).toBe(401);
    });
  });
});
