// Conformance, part 3: watching — status history, waitForCompletion and the MessageMonitor — on every backend.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Hub, HubEvent, MonitorUpdate } from '../../src/index.js';
import { describeEachBackend, memoryLogger } from '../support/backends.js';
import { until } from '../support/wait.js';

async function reply(hub: Hub, id?: string) {
  const thread = await hub.threads.create();
  return hub.messages.create({ threadId: thread.id, author: 'arangodb', ...(id ? { id } : {}) });
}

describeEachBackend('watching', (hubs) => {
  it('gives the full status history with times and reasons', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    await hub.messages.transition(r.id, 'processing', { reason: 'claimed' });
    await hub.messages.transition(r.id, 'complete');
    const history = await hub.statusHistory(r.id);
    expect(history.map((h) => [h.from, h.status, h.reason])).toEqual([
      [null, 'pending', null],
      ['pending', 'processing', 'claimed'],
      ['processing', 'complete', null],
    ]);
    const times = history.map((h) => Date.parse(h.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(await hub.statusHistory(randomUUID())).toEqual([]);
  });

  it('waits for a message that does not exist yet, hearing each of its events', async () => {
    const hub = await hubs.open();
    const id = randomUUID();
    expect((await hub.messages.get(id)).status).toBe('unknown');
    const heard: string[] = [];
    const waiting = hub.waitForCompletion(id, { timeoutMs: 20_000, onEvent: (e) => heard.push(e.type) });
    await new Promise((r) => setTimeout(r, 20));
    await reply(hub, id);
    await hub.messages.transition(id, 'processing');
    await hub.messages.appendContent(id, 'the answer');
    await hub.messages.transition(id, 'complete');
    const done = await waiting;
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('the answer');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'processing', 'complete']);
    expect(heard).toEqual([
      'message.created',
      'message.status_changed',
      'message.content_updated',
      'message.status_changed',
    ]);
  });

  it('answers at once for a message already finished', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    await hub.messages.transition(r.id, 'cancelled', { reason: 'asker gave up' });
    const done = await hub.waitForCompletion(r.id, { timeoutMs: 5000 });
    expect(done.status).toBe('cancelled');
    expect(done.history.at(-1)?.reason).toBe('asker gave up');
  });

  it('times out with timeout and leaves the message as it was', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    await hub.messages.transition(r.id, 'processing');
    await expect(hub.waitForCompletion(r.id, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'timeout',
      message: `message ${r.id} did not finish within 50 ms (it is processing)`,
    });
    expect((await hub.messages.get(r.id)).status).toBe('processing');
    expect((await hub.events.list({ messageId: r.id })).events).toHaveLength(2);
  });

  it('ends a wait with closed when the hub closes', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    const waiting = hub.waitForCompletion(r.id);
    await new Promise((res) => setTimeout(res, 20));
    await hub.close();
    await expect(waiting).rejects.toMatchObject({ code: 'closed' });
  });

  it('monitors a message: every callback once, then the entry leaves', async () => {
    const hub = await hubs.open();
    const id = randomUUID();
    const calls: string[] = [];
    await hub.monitor.add(id, {
      status_change: (u) => calls.push(`status ${u.from}→${u.status}`),
      content_update: (u) => calls.push(`content ${u.delta} ${u.length}`),
      complete: (u) => calls.push(`complete ${u.status}`),
      failed: (u) => calls.push(`failed ${u.status}`),
    });
    expect(hub.monitor.active().map((e) => [e.messageId, e.status])).toEqual([[id, 'unknown']]);
    await reply(hub, id);
    await hub.messages.transition(id, 'processing');
    await hub.messages.appendContent(id, 'abc');
    await hub.messages.transition(id, 'complete');
    await until(() => calls.length === 5);
    expect(calls).toEqual([
      'status unknown→pending',
      'status pending→processing',
      'content abc 3',
      'status processing→complete',
      'complete complete',
    ]);
    expect(hub.monitor.active()).toEqual([]);
  });

  it('reports a message finished before it was added through complete or failed at once', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    await hub.messages.transition(r.id, 'processing');
    await hub.messages.transition(r.id, 'failed', { error: 'boom' });
    const failed: MonitorUpdate[] = [];
    await hub.monitor.add(r.id, { failed: (u) => failed.push(u), complete: () => failed.push(undefined as never) });
    expect(failed.map((u) => u.status)).toEqual(['failed']);
    expect(hub.monitor.active()).toEqual([]);
  });

  it('keeps calling the other callbacks when one throws, and logs it', async () => {
    const { logger, lines } = memoryLogger();
    const hub = await hubs.open({ logger });
    const a = await reply(hub);
    const b = await reply(hub);
    const completed: string[] = [];
    await hub.monitor.add(a.id, {
      status_change: () => {
        throw new Error('careless');
      },
      complete: (u) => completed.push(u.messageId),
    });
    await hub.monitor.add(b.id, { complete: (u) => completed.push(u.messageId) });
    for (const id of [a.id, b.id]) {
      await hub.messages.transition(id, 'processing');
      await hub.messages.transition(id, 'complete');
    }
    await until(() => completed.length === 2);
    expect(completed.sort()).toEqual([a.id, b.id].sort());
    expect(lines.filter((l) => l.msg === 'a monitor callback threw; the others go on')).toHaveLength(2);
  });

  it('forgets entries after their expiry and on remove', async () => {
    const hub = await hubs.open();
    const a = await reply(hub);
    const b = await reply(hub);
    const expired: string[] = [];
    await hub.monitor.add(a.id, { expired: (id) => expired.push(id) }, { expiresInMs: 200 });
    await hub.monitor.add(b.id, {});
    expect(hub.monitor.remove(b.id)).toBe(true);
    expect(hub.monitor.remove(b.id)).toBe(false);
    await until(() => expired.length === 1, 5000);
    expect(expired).toEqual([a.id]);
    expect(hub.monitor.active()).toEqual([]);
  });

  it('watches 10,000 messages to completion with every callback fired once', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const count = 10_000;
    const ids = Array.from({ length: count }, () => randomUUID());
    const fired = { status: new Map<string, string[]>(), complete: new Map<string, number>() };
    for (const id of ids) {
      await hub.monitor.add(id, {
        status_change: (u) => fired.status.set(id, [...(fired.status.get(id) ?? []), u.status]),
        complete: () => fired.complete.set(id, (fired.complete.get(id) ?? 0) + 1),
      });
    }
    expect(hub.monitor.active()).toHaveLength(count);
    // Several writers at once, as a pool of agents would.
    const lanes = 8;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < count; i += lanes) {
          const id = ids[i] as string;
          await hub.messages.create({ id, threadId: thread.id, author: 'arangodb' });
          await hub.messages.transition(id, 'processing');
          await hub.messages.transition(id, 'complete');
        }
      }),
    );
    await until(() => fired.complete.size === count, 60_000);
    for (const id of ids) {
      expect(fired.complete.get(id)).toBe(1);
      expect(fired.status.get(id)).toEqual(['pending', 'processing', 'complete']);
    }
    expect(hub.monitor.active()).toEqual([]);
  }, 180_000);

  it('uses one subscription for all monitored messages', async () => {
    const hub = await hubs.open();
    const seen: HubEvent[] = [];
    const sub = await hub.events.subscribe({}, (e) => seen.push(e));
    for (let i = 0; i < 50; i++) await hub.monitor.add(randomUUID(), {});
    // The monitor's shared subscription costs nothing per entry: adding 50 wrote nothing to the log.
    expect(seen).toEqual([]);
    sub.close();
  });
});
