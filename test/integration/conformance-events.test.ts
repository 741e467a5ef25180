// Conformance, part 2: the event log — replay, live delivery, cursors, filters, retention — on every backend.
import { expect, it } from 'vitest';
import type { Hub, HubEvent } from '../../src/index.js';
import { describeEachBackend, memoryLogger } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { until } from '../support/wait.js';

/** Drives `count` replies through pending → processing → complete as fast as the store allows. */
async function burst(hub: Hub, count: number): Promise<string[]> {
  const thread = await hub.threads.create();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    await hub.messages.transition(reply.id, 'processing');
    await hub.messages.transition(reply.id, i % 3 === 0 ? 'failed' : 'complete');
    ids.push(reply.id);
  }
  return ids;
}

function expectInOrderOnce(events: HubEvent[]): void {
  const seqs = events.map((e) => e.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
}

describeEachBackend('event log', (hubs) => {
  it('delivers transitions 0–1 ms apart, every one, in order, once', async () => {
    const hub = await hubs.open();
    const seen: HubEvent[] = [];
    await hub.events.subscribe({}, (e) => seen.push(e));
    const ids = await burst(hub, 150);
    await until(() => seen.length >= 1 + 150 * 3);
    expectInOrderOnce(seen);
    expect(seen.length).toBe(1 + 150 * 3);
    for (const id of ids) {
      expect(seen.filter((e) => e.messageId === id).map((e) => e.type)).toEqual([
        'message.created',
        'message.status_changed',
        'message.status_changed',
      ]);
    }
    const log = (await hub.events.list({ limit: 1000 })).events;
    expect(seen.map((e) => e.seq)).toEqual(log.map((e) => e.seq));
  });

  it('delivers concurrent writers’ events gaplessly, in log order', async () => {
    const hub = await hubs.open();
    const seen: HubEvent[] = [];
    await hub.events.subscribe({}, (e) => seen.push(e));
    await Promise.all([burst(hub, 60), burst(hub, 60), burst(hub, 60), burst(hub, 60)]);
    const total = 4 * (1 + 60 * 3);
    await until(() => seen.length >= total);
    expect(seen.length).toBe(total);
    expectInOrderOnce(seen);
    expect(seen.map((e) => e.seq)).toEqual((await hub.events.list({ limit: 1000 })).events.map((e) => e.seq));
  });

  it('gives a subscriber started mid-stream with a cursor exactly the rest', async () => {
    const hub = await hubs.open();
    await burst(hub, 20);
    const firstHalf = await hub.events.list({ limit: 30 });
    expect(firstHalf.hasMore).toBe(true);
    const rest: HubEvent[] = [];
    // Writers keep going while the subscriber replays and then goes live.
    const writing = burst(hub, 20);
    const sub = await hub.events.subscribe({ after: firstHalf.cursor }, (e) => rest.push(e));
    await writing;
    const everything = (await hub.events.list({ limit: 1000 })).events;
    await until(() => rest.length >= everything.length - 30);
    expect(rest.map((e) => e.seq)).toEqual(everything.slice(30).map((e) => e.seq));
    expect(sub.cursor).toBe(everything.at(-1)?.cursor);
  });

  it('resumes from a subscription’s cursor after close without missing or repeating anything', async () => {
    const hub = await hubs.open();
    const first: HubEvent[] = [];
    const sub = await hub.events.subscribe({ after: await hub.events.head() }, (e) => first.push(e));
    await burst(hub, 5);
    await until(() => first.length >= 16);
    sub.close();
    const cursor = sub.cursor;
    await burst(hub, 5);
    const second: HubEvent[] = [];
    await hub.events.subscribe({ after: cursor }, (e) => second.push(e));
    await until(() => second.length >= 16);
    const all = [...first, ...second];
    expectInOrderOnce(all);
    expect(all.length).toBe((await hub.events.list({ limit: 1000 })).events.length);
  });

  it('gives the newest events that pass a filter, oldest first', async () => {
    const hub = await hubs.open();
    const task = await hub.tasks.create({ name: 'logged' });
    for (let i = 0; i < 30; i++) await hub.tasks.log(task.id, { text: `line ${i}` });
    const latest = await hub.events.latest({ taskId: task.id, types: ['task.logged'], limit: 5 });
    expect(latest.map((e) => payload(e).text)).toEqual(['line 25', 'line 26', 'line 27', 'line 28', 'line 29']);
    const all = await hub.events.list({ taskId: task.id, limit: 1000 });
    expect(await hub.events.latest({ taskId: task.id, limit: 1000 })).toEqual(all.events);
    await expect(hub.events.latest({ types: ['task.nothing'] })).rejects.toMatchObject({ code: 'validation' });
  });

  it('gives the newest events with a cursor that a subscription continues from, with nothing missed or repeated', async () => {
    const hub = await hubs.open();
    const task = await hub.tasks.create({ name: 'logged' });
    for (let i = 0; i < 30; i++) await hub.tasks.log(task.id, { text: `line ${i}` });
    const recent = await hub.events.recent({ taskId: task.id, types: ['task.logged'], last: 5 });
    expect(recent.events.map((e) => payload(e).text)).toEqual(['line 25', 'line 26', 'line 27', 'line 28', 'line 29']);
    expect(recent.hasMore).toBe(true);
    expect(recent.cursor).toBe(await hub.events.head());
    const everything = await hub.events.recent({ taskId: task.id, last: 1000 });
    expect(everything.hasMore).toBe(false);
    expect(everything.events).toEqual((await hub.events.list({ taskId: task.id, limit: 1000 })).events);

    // Written between the read and the subscription: the subscription from the cursor has them, once.
    await hub.tasks.log(task.id, { text: 'line 30' });
    const seen: HubEvent[] = [];
    const subscription = await hub.events.subscribe({ after: recent.cursor, taskId: task.id }, (e) => seen.push(e));
    await hub.tasks.log(task.id, { text: 'line 31' });
    await until(() => seen.length === 2);
    subscription.close();
    expect(seen.map((e) => payload(e).text)).toEqual(['line 30', 'line 31']);
    expect(seen[0]?.seq).toBeGreaterThan(recent.events.at(-1)?.seq ?? Number.POSITIVE_INFINITY);

    const empty = await (await hubs.open()).events.recent({ last: 10 });
    expect(empty).toEqual({ events: [], cursor: expect.any(String), hasMore: false });
    await expect(hub.events.recent({ last: 0 })).rejects.toMatchObject({ code: 'validation', message: /last/ });
    await expect(hub.events.recent({ last: 1001 })).rejects.toMatchObject({ code: 'validation', message: /last/ });
  });

  it('filters by message, thread, task and type, in replay and live alike', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const a = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    const b = await hub.messages.create({ threadId: thread.id, author: 'marker' });
    const task = await hub.tasks.create({ name: 'work', messageId: a.id });
    const start = (await hub.events.list({ limit: 1 })).events[0]?.cursor;
    const byMessage: HubEvent[] = [];
    const byType: HubEvent[] = [];
    const byTask: HubEvent[] = [];
    await hub.events.subscribe({ after: start, messageId: a.id }, (e) => byMessage.push(e));
    await hub.events.subscribe({ after: start, types: ['message.status_changed'] }, (e) => byType.push(e));
    await hub.events.subscribe({ after: start, taskId: task.id }, (e) => byTask.push(e));
    await hub.messages.transition(a.id, 'processing');
    await hub.messages.transition(b.id, 'processing');
    await hub.tasks.transition(task.id, 'processing');
    await until(() => byType.length >= 2 && byTask.length >= 2);
    expect(byMessage.map((e) => e.type)).toEqual([
      'message.created',
      'task.created',
      'message.status_changed',
      'task.status_changed',
    ]);
    expect(byType.map((e) => e.messageId)).toEqual([a.id, b.id]);
    expect(byTask.map((e) => e.type)).toEqual(['task.created', 'task.status_changed']);
  });

  it('follows a message from a second hub on the same database', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const later = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    const watcher = await hubs.open({ database: hub.database });
    const page = await watcher.events.list({ messageId: later.id });
    expect(page.events.map((e) => e.type)).toEqual(['message.created']);
    const seen: HubEvent[] = [];
    await watcher.events.subscribe({ after: page.cursor, messageId: later.id }, (e) => seen.push(e));
    await hub.messages.transition(later.id, 'processing');
    await until(() => seen.length === 1);
    expect(seen[0]?.data).toEqual({ from: 'pending', to: 'processing' });
  });

  it('refuses a malformed cursor with invalid_cursor and an unknown type with validation', async () => {
    const hub = await hubs.open();
    await expect(hub.events.subscribe({ after: 'yesterday' }, () => {})).rejects.toMatchObject({
      code: 'invalid_cursor',
    });
    await expect(hub.events.list({ after: 'c1.!!' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(hub.events.subscribe({ types: ['message.changed'] }, () => {})).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(hub.events.list({ messageId: 'nope' })).rejects.toThrow("'nope' is not a valid message id");
  });

  it('fails loudly with cursor_expired for a cursor older than what retention kept', async () => {
    const hub = await hubs.open();
    await burst(hub, 4);
    const early = (await hub.events.list({ limit: 2 })).cursor;
    await new Promise((r) => setTimeout(r, 5));
    const cut = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await burst(hub, 2);
    const pruned = await hub.events.prune(cut);
    expect(pruned).toBe(1 + 4 * 3);
    await expect(hub.events.subscribe({ after: early }, () => {})).rejects.toMatchObject({ code: 'cursor_expired' });
    await expect(hub.events.list({ after: early })).rejects.toMatchObject({ code: 'cursor_expired' });
    // The start of the log is expired too; what is kept is still served from the oldest kept event on.
    await expect(hub.events.list({ after: 'c1.0' })).rejects.toMatchObject({ code: 'cursor_expired' });
    expect((await hub.events.list()).events).toHaveLength(1 + 2 * 3);
  });

  it('keeps delivering to everyone when one subscriber throws, and logs it', async () => {
    const { logger, lines } = memoryLogger();
    const hub = await hubs.open({ logger });
    const good: HubEvent[] = [];
    await hub.events.subscribe({}, () => {
      throw new Error('careless subscriber');
    });
    await hub.events.subscribe({}, (e) => good.push(e));
    await burst(hub, 3);
    await until(() => good.length === 10);
    expect(lines.filter((l) => l.msg === 'an event handler threw; delivery goes on')).toHaveLength(10);
  });

  it('refuses work after close with closed, and close is idempotent', async () => {
    const hub = await hubs.open();
    await hub.close();
    await hub.close();
    await expect(hub.threads.create()).rejects.toMatchObject({ code: 'closed' });
  });
});
