// Hooks on every backend: watches fire real commands (which record what they got) and post to a real local
// webhook receiver (which checks the signature), at least once from the durable log — across a close and reopen,
// and across a SIGKILL — with failed deliveries retried, hopeless ones given up, and removed watches silent.
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runHookCommand } from '../../src/hooks/hook-command.js';
import type { HookNotification, Hub } from '../../src/index.js';
import { describeEachBackend, memoryLogger } from '../support/backends.js';
import {
  finish,
  killHooksProcesses,
  type Recorded,
  recordingCommand,
  reply,
  startHooksProcess,
} from '../support/hooks.js';
import { alive } from '../support/modules.js';
import { payload } from '../support/payload.js';
import { until } from '../support/wait.js';

/** One request the receiver got. */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  notification: HookNotification;
  status: number;
}

const servers: { close(): void }[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  killHooksProcesses();
});

/** A webhook receiver on 127.0.0.1 answering each request with `status(notification)`; keeps what it got. */
async function webhookReceiver(status: (n: HookNotification) => number = () => 204) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const notification = JSON.parse(body) as HookNotification;
      const answer = status(notification);
      received.push({ headers: req.headers, body, notification, status: answer });
      res.statusCode = answer;
      res.end(answer >= 300 ? 'receiver is down' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received };
}

/** Checks a request as a receiver should: the signature over "<timestamp>.<body>" with the watch's secret. */
function signedWith(secret: string, r: Received): boolean {
  const timestamp = String(r.headers['x-claude-comms-timestamp']);
  const expected = createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex');
  return r.headers['x-claude-comms-signature'] === `sha256=${expected}`;
}

const FAST_RETRIES = { retryBaseMs: 20, retryMaxMs: 100 };

describeEachBackend('hooks', (hubs) => {
  it('fire a command and a webhook once on complete and once on failed, with payload, environment and signature', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create({ title: 'hooks' });
    const recorder = recordingCommand();
    const receiver = await webhookReceiver();
    const watch = await hub.watches.create({ threadId, command: recorder.command, webhook: receiver.url });
    expect(watch.secret).toMatch(/^[0-9a-f]{64}$/);
    await hub.startHooks();

    const answered = await reply(hub, threadId);
    await hub.messages.transition(answered, 'processing');
    await hub.messages.appendContent(answered, 'Sections and tables.');
    await hub.messages.transition(answered, 'complete');
    const broken = await reply(hub, threadId);
    await finish(hub, broken, 'failed');

    await until(async () => (await hub.watches.get(watch.id)).delivered === 2, 10_000, 'two deliveries');
    const records = recorder.records();
    expect(records.map((r) => [r.stdin.message.id, r.stdin.message.status])).toEqual([
      [answered, 'complete'],
      [broken, 'failed'],
    ]);
    const [done, failed] = records;
    expect(done?.stdin).toMatchObject({
      watchId: watch.id,
      event: { type: 'message.status_changed', messageId: answered, data: { from: 'processing', to: 'complete' } },
      message: { threadId, author: 'arangodb', content: 'Sections and tables.', contentLength: 20, error: null },
    });
    expect(done?.stdin.deliveryId).toBe(done?.stdin.event.cursor);
    expect(failed?.stdin.message.error).toBe('no database here');
    expect(done?.env).toMatchObject({
      CLAUDE_COMMS_WATCH_ID: watch.id,
      CLAUDE_COMMS_DELIVERY_ID: done?.stdin.deliveryId,
      CLAUDE_COMMS_EVENT: 'message.status_changed',
      CLAUDE_COMMS_MESSAGE_ID: answered,
      CLAUDE_COMMS_THREAD_ID: threadId,
      CLAUDE_COMMS_MODULE: 'arangodb',
      CLAUDE_COMMS_STATUS: 'complete',
      CLAUDE_COMMS_CURSOR: done?.stdin.event.cursor,
    });
    expect(failed?.env.CLAUDE_COMMS_STATUS).toBe('failed');

    expect(receiver.received.map((r) => r.notification.message.id)).toEqual([answered, broken]);
    for (const r of receiver.received) {
      expect(signedWith(watch.secret as string, r)).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-claude-comms-delivery']).toBe(r.notification.deliveryId);
      expect(r.headers['x-claude-comms-watch']).toBe(watch.id);
    }
    expect(signedWith('another secret', receiver.received[0] as Received)).toBe(false);
    const stored = await hub.watches.get(watch.id);
    expect(stored).toMatchObject({ delivered: 2, failures: 0, lastError: null, removedAt: null });
    expect(stored.secret).toBeUndefined();
  });

  it('retry a webhook that fails twice, then deliver it once more with the same delivery id', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const receiver = await webhookReceiver(() => (receiver.received.length < 2 ? 500 : 200));
    const id = await reply(hub, threadId);
    const watch = await hub.watches.create({ messageId: id, webhook: receiver.url });
    await hub.startHooks(FAST_RETRIES);
    await finish(hub, id);

    await until(async () => (await hub.watches.get(watch.id)).delivered === 1, 10_000, 'the delivery');
    expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(receiver.received.map((r) => r.notification.deliveryId)).size).toBe(1);
    expect(receiver.received.every((r) => signedWith(watch.secret as string, r))).toBe(true);
    const stored = await hub.watches.get(watch.id);
    expect(stored.failures).toBe(0);
    expect(stored.lastError).toBe('webhook: HTTP 500: receiver is down');
    // A message watch that has reported its message's end is finished.
    expect(stored.removedAt).not.toBeNull();
  });

  it('give up a delivery after the last attempt, log it at warn, and go on with the next', async () => {
    const { logger, lines } = memoryLogger();
    const hub = await hubs.open({ logger });
    const { id: threadId } = await hub.threads.create();
    const hopeless = await reply(hub, threadId);
    const fine = await reply(hub, threadId);
    const receiver = await webhookReceiver((n) => (n.message.id === hopeless ? 503 : 200));
    const watch = await hub.watches.create({ threadId, webhook: receiver.url });
    await hub.startHooks({ ...FAST_RETRIES, maxAttempts: 3 });
    await finish(hub, hopeless);
    await finish(hub, fine);

    await until(async () => (await hub.watches.get(watch.id)).delivered === 1, 10_000, 'the second delivery');
    expect(receiver.received.map((r) => [r.notification.message.id, r.status])).toEqual([
      [hopeless, 503],
      [hopeless, 503],
      [hopeless, 503],
      [fine, 200],
    ]);
    const stored = await hub.watches.get(watch.id);
    expect(stored.lastError).toMatch(/^gave up delivery c1\.\w+ after 3 attempts: webhook: HTTP 503/);
    const warning = lines.find((l) => l.msg === 'a hook delivery failed every attempt; giving it up and moving on');
    expect(warning).toMatchObject({ level: 40, watchId: watch.id, attempts: 3 });
  });

  it('deliver everything exactly once across a close in mid-stream and a reopen', async () => {
    const writer = await hubs.open();
    const first = await hubs.open({ database: writer.database });
    const { id: threadId } = await writer.threads.create();
    const recorder = recordingCommand(0.05);
    const watch = await writer.watches.create({ threadId, command: recorder.command });
    await first.startHooks();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await reply(writer, threadId));
    for (const id of ids.slice(0, 6)) await finish(writer, id);

    await until(() => recorder.records().length >= 2, 10_000, 'the first deliveries');
    await first.close();
    const deliveredBeforeClose = recorder.records().length;
    for (let i = 0; i < 3; i++) {
      const id = await reply(writer, threadId);
      ids.push(id);
      await finish(writer, id);
    }
    const second = await hubs.open({ database: writer.database });
    await second.startHooks();

    await until(async () => (await second.watches.get(watch.id)).delivered === ids.length, 20_000, 'every delivery');
    // Deliveries run in log order, so a repeat of anything from before the close would have come first.
    expect(recorder.records().map((r) => r.stdin.message.id)).toEqual(ids);
    expect(deliveredBeforeClose, 'the close came in mid-stream').toBeLessThan(6);
  });

  it('resume after a SIGKILL without losing anything, repeating at most the delivery that was in flight', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const recorder = recordingCommand(0.05);
    const watch = await hub.watches.create({ threadId, command: recorder.command });
    const child = startHooksProcess(hub.database);
    await child.ready;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await reply(hub, threadId));
    for (const id of ids) await finish(hub, id);

    await until(() => recorder.records().length >= 2, 10_000, 'the first deliveries');
    child.process.kill('SIGKILL');
    await child.exited;
    await hub.startHooks();

    await until(async () => (await hub.watches.get(watch.id)).delivered === ids.length, 20_000, 'every delivery');
    const seen = recorder.records().map((r) => r.stdin.message.id);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen.length - ids.length, 'repeats').toBeLessThanOrEqual(1);
    expect(seen.filter((id, i) => seen.indexOf(id) === i)).toEqual(ids);
  });

  it('fire once for a message that finished before its watch was created, then finish the watch', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const id = await reply(hub, threadId);
    await finish(hub, id);
    const recorder = recordingCommand();
    const watch = await hub.watches.create({ messageId: id, command: recorder.command });
    const runner = await hub.startHooks();

    await until(async () => (await hub.watches.get(watch.id)).removedAt !== null, 10_000, 'the watch to finish');
    expect(recorder.records().map((r) => [r.stdin.message.id, r.env.CLAUDE_COMMS_STATUS])).toEqual([[id, 'complete']]);
    expect((await hub.watches.get(watch.id)).delivered).toBe(1);
    expect(runner.watchIds).not.toContain(watch.id);
    expect(await hub.watches.list()).toEqual([]);
    expect((await hub.watches.list({ all: true })).map((w) => w.id)).toEqual([watch.id]);
  });

  it('report the status a message is in when its watch is created, then every later change', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const { id: threadId } = await hub.threads.create();
    const id = await reply(hub, threadId);
    await hub.messages.transition(id, 'processing');
    const onMessage = recordingCommand();
    const onModule = recordingCommand();
    const statusWatch = await hub.watches.create({ messageId: id, on: ['status'], command: onMessage.command });
    // A module watch starts at the head: only what happens from now on.
    await hub.watches.create({ module: 'arangodb', on: ['status'], command: onModule.command });
    await hub.startHooks();
    await hub.messages.transition(id, 'complete');

    await until(async () => (await hub.watches.get(statusWatch.id)).removedAt !== null, 10_000, 'the watch to finish');
    const statuses = (r: Recorded[]) => r.map((x) => `${payload(x.stdin.event).from}→${payload(x.stdin.event).to}`);
    expect(statuses(onMessage.records())).toEqual(['pending→processing', 'processing→complete']);
    await until(() => onModule.records().length === 1, 10_000, 'the module watch');
    expect(statuses(onModule.records())).toEqual(['processing→complete']);
  });

  it('refuse watches without a target, without an action, with a bad webhook or an unknown target, naming the problem', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const question = (await hub.messages.create({ threadId, author: 'marker', role: 'user', status: 'complete' })).id;
    const missing = '0190a000-0000-7000-8000-00000000dead';
    const refusals: [Parameters<Hub['watches']['create']>[0], string, RegExp][] = [
      [{ command: 'true' }, 'validation', /needs a target: messageId, threadId or module/],
      [{ threadId }, 'validation', /needs an action: command or webhook/],
      [{ threadId, webhook: 'not a url' }, 'validation', /webhook must be an http\(s\) URL/],
      [{ threadId, webhook: 'ftp://example.com/x' }, 'validation', /webhook must be an http\(s\) URL, got a ftp: URL/],
      [{ threadId, command: 'true', on: ['done' as never] }, 'validation', /on\[0\] must be one of status, complete/],
      [{ threadId, command: 'true', on: [] }, 'validation', /on must name at least one/],
      [{ messageId: 'm-1', command: 'true' }, 'validation', /not a valid message id/],
      [{ messageId: missing, command: 'true' }, 'not_found', /no message with id/],
      [{ threadId: missing, command: 'true' }, 'not_found', /no thread with id/],
      [{ module: 'nobody', command: 'true' }, 'not_found', /no module named nobody/],
      [{ messageId: question, command: 'true' }, 'validation', /is already complete .* would never fire/],
    ];
    for (const [input, code, message] of refusals) {
      await expect(hub.watches.create(input), JSON.stringify(input)).rejects.toMatchObject({ code, message });
    }
    expect(await hub.watches.list({ all: true })).toEqual([]);
    await expect(hub.watches.remove(missing)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stop delivering a removed watch, also when another hub removes it', async () => {
    const hub = await hubs.open();
    const other = await hubs.open({ database: hub.database });
    const { id: threadId } = await hub.threads.create();
    const removed = recordingCommand();
    const kept = recordingCommand();
    const doomed = await hub.watches.create({ threadId, command: removed.command });
    const control = await hub.watches.create({ threadId, command: kept.command });
    const runner = await hub.startHooks();
    await finish(hub, await reply(hub, threadId));
    await until(() => removed.records().length === 1 && kept.records().length === 1, 10_000, 'the first deliveries');

    expect((await other.watches.remove(doomed.id)).removedAt).not.toBeNull();
    await finish(hub, await reply(hub, threadId));
    await until(async () => (await hub.watches.get(control.id)).delivered === 2, 10_000, 'the control watch');
    // The removal precedes the second reply in the log, and the runner acts on both in log order.
    expect(removed.records()).toHaveLength(1);
    expect(runner.watchIds).toEqual([control.id]);

    const id = await reply(hub, threadId);
    const byMessage = await hub.watches.create({ messageId: id, command: kept.command });
    expect((await hub.watches.removeForMessage(id)).map((w) => w.id)).toEqual([byMessage.id]);
    expect((await hub.watches.list()).map((w) => w.id)).toEqual([control.id]);
  });
});

describe('hook commands', () => {
  it.each([
    ['exits', 30_000, '', undefined],
    ['times out', 300, 'sleep 30', 'timed out after 300 ms'],
    ['is stopped', 30_000, 'sleep 30', 'stopped'],
  ])('end what escaped to a session of its own when the command %s', async (how, timeoutMs, body, error) => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'cc-hook-')), 'escaped.pid');
    const controller = new AbortController();
    const run = runHookCommand({
      command: `setsid sleep 30 >/dev/null 2>&1 & echo $! > ${pidFile}; ${body || 'true'}`,
      input: '{}',
      env: {},
      timeoutMs,
      signal: controller.signal,
    });
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 10_000, 'the escapee');
    const escaped = Number(readFileSync(pidFile, 'utf8'));
    if (how === 'is stopped') controller.abort();
    if (error) await expect(run).rejects.toThrow(error);
    else await run;
    expect(alive(escaped)).toBe(false);
  });

  it('stop a command that is stopped before its start is reported', async () => {
    const controller = new AbortController();
    const run = runHookCommand({
      command: 'sleep 30',
      input: '{}',
      env: {},
      timeoutMs: 5_000,
      signal: controller.signal,
    });
    // The program is already running, but its start has not been reported yet.
    controller.abort();
    await expect(run).rejects.toThrow('stopped');
  });
});
