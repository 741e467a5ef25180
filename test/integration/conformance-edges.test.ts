// Conformance, part 4: edges — races with prune and close, cursors from elsewhere, callbacks that throw,
// content racing a status change, and inputs that must be refused — on every backend.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Hub, HubEvent } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { readLog } from '../support/wait.js';

async function reply(hub: Hub) {
  const thread = await hub.threads.create();
  return hub.messages.create({ threadId: thread.id, author: 'arangodb' });
}

describeEachBackend('edges', (hubs) => {
  it('never replays with a silent gap when retention prunes mid-replay', async () => {
    const hub = await hubs.open({ retentionDays: 0 });
    const thread = await hub.threads.create();
    for (let i = 0; i < 130; i++) {
      const m = await hub.messages.create({ threadId: thread.id, author: 'a' });
      await hub.messages.transition(m.id, 'processing');
      await hub.messages.transition(m.id, 'complete');
    }
    const all = await readLog(hub);
    const seen: HubEvent[] = [];
    let pruning: Promise<number> | undefined;
    const outcome = await hub.events
      .subscribe({ after: all[0]?.cursor }, (e) => {
        seen.push(e);
        pruning ??= hub.events.prune(new Date(Date.now() + 60_000));
      })
      .then(
        () => 'live',
        (err: { code?: string }) => err.code,
      );
    await pruning;
    // Whatever was delivered is an unbroken run of the log; if it stopped short, the subscriber was told.
    expect(seen.map((e) => e.seq)).toEqual(all.slice(1, 1 + seen.length).map((e) => e.seq));
    if (outcome === 'live') expect(seen.length).toBe(all.length - 1);
    else expect(outcome).toBe('cursor_expired');
  });

  it('prunes in chunks past 10,000 events, keeping the newest and failing older cursors', async () => {
    const hub = await hubs.open({ retentionDays: 0 });
    await Promise.all(
      Array.from({ length: 16 }, async (_, lane) => {
        for (let i = lane; i < 10_050; i += 16) await hub.threads.create({ title: `t${i}` });
      }),
    );
    const first = (await hub.events.list({ limit: 1 })).events[0];
    expect(await hub.events.prune(new Date(Date.now() + 60_000))).toBe(10_049);
    const kept = await readLog(hub);
    expect(kept).toHaveLength(1);
    await expect(hub.events.list({ after: first?.cursor })).rejects.toMatchObject({ code: 'cursor_expired' });
    await expect(hub.events.list({ after: kept[0]?.cursor })).resolves.toMatchObject({ events: [] });
  }, 120_000);

  it('reads a filter without an index a window at a time, missing nothing across windows', async () => {
    const hub = await hubs.open({ retentionDays: 0 });
    // About 2.5 windows of thread events, with a rare module event before, among and after them.
    const threads = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: 16 }, async (_, lane) => {
          for (let i = from + lane; i < to; i += 16) await hub.threads.create({ title: `t${i}` });
        }),
      );
    await hub.modules.register({ name: 'early' });
    await threads(0, 12_345);
    await hub.modules.register({ name: 'middle' });
    await threads(12_345, 25_000);
    await hub.modules.register({ name: 'late' });
    const rare = (await readLog(hub)).filter((e) => e.type === 'module.registered');
    expect(rare).toHaveLength(3);
    // Paging on `hasMore` finds every match; a page examines at most a window, so some come back empty.
    const found: HubEvent[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await hub.events.list({ types: ['module.registered'], limit: 100, ...(after ? { after } : {}) });
      found.push(...page.events);
      pages++;
      after = page.cursor;
      if (!page.hasMore) break;
    }
    expect(found.map((e) => e.seq)).toEqual(rare.map((e) => e.seq));
    expect(pages).toBeGreaterThanOrEqual(3);
    // The newest of a window back from the head, saying older ones may exist.
    const recent = await hub.events.recent({ types: ['module.registered'], last: 10 });
    expect(recent.events.map((e) => e.seq)).toEqual([rare[2]?.seq]);
    expect(recent.hasMore).toBe(true);
    // A subscription replaying from the start delivers all three, then goes live.
    const seen: number[] = [];
    const sub = await hub.events.subscribe({ types: ['module.registered'], after: 'c1.0' }, (e) => seen.push(e.seq));
    expect(seen).toEqual(rare.map((e) => e.seq));
    sub.close();
  }, 240_000);

  it('refuses a cursor past the newest event instead of skipping silently', async () => {
    const hub = await hubs.open();
    await hub.threads.create();
    await expect(hub.events.subscribe({ after: 'c1.zzzzzz' }, () => {})).rejects.toMatchObject({
      code: 'invalid_cursor',
      message: expect.stringContaining('points past the newest event'),
    });
    await expect(hub.events.list({ after: 'c1.zzzzzz' })).rejects.toMatchObject({ code: 'invalid_cursor' });
  });

  it('finishes a wait even when onEvent throws on the final event', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    const waiting = hub.waitForCompletion(r.id, {
      timeoutMs: 10_000,
      onEvent: () => {
        throw new Error('careless');
      },
    });
    await new Promise((res) => setTimeout(res, 20));
    await hub.messages.transition(r.id, 'cancelled');
    expect((await waiting).status).toBe('cancelled');
  });

  it('treats timeoutMs Infinity as no limit and refuses one Node timers cannot hold', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    const waiting = hub.waitForCompletion(r.id, { timeoutMs: Number.POSITIVE_INFINITY });
    await new Promise((res) => setTimeout(res, 50));
    await hub.messages.transition(r.id, 'cancelled');
    expect((await waiting).status).toBe('cancelled');
    await expect(hub.waitForCompletion(r.id, { timeoutMs: 3e9 })).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.monitor.add(r.id, {}, { expiresInMs: Number.POSITIVE_INFINITY })).rejects.toMatchObject({
      code: 'validation',
    });
  });

  it('answers closed for reads, subscriptions and waits once the hub is closed', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    const closing = hub.close();
    // Checked as it is made: it is refused at once, while the close goes on.
    const late = expect(hub.events.subscribe({}, () => {})).rejects.toMatchObject({ code: 'closed' });
    await closing;
    await late;
    await expect(hub.messages.get(r.id)).rejects.toMatchObject({ code: 'closed' });
    await expect(hub.events.list()).rejects.toMatchObject({ code: 'closed' });
    await expect(hub.waitForCompletion(r.id)).rejects.toMatchObject({ code: 'closed' });
  });

  it('commits content sent before a status change, even when its write is already in flight', async () => {
    const hub = await hubs.open();
    for (let i = 0; i < 15; i++) {
      const r = await reply(hub);
      await hub.messages.transition(r.id, 'processing');
      const first = hub.messages.appendContent(r.id, 'a');
      await new Promise((res) => setTimeout(res, 1)); // its write has started
      const second = hub.messages.appendContent(r.id, 'b');
      await hub.messages.transition(r.id, 'complete');
      await Promise.all([first, second]);
      expect(((await hub.messages.get(r.id)) as { content: string }).content).toBe('ab');
    }
  });

  it('registers one new module from racing callers without a database error', async () => {
    const hub = await hubs.open();
    const other = await hubs.open({ database: hub.database });
    await Promise.all([
      hub.modules.register({ name: 'marker', description: 'pdf' }),
      other.modules.register({ name: 'marker', description: 'pdf' }),
      hub.modules.register({ name: 'marker', config: { backend: 'command' } }),
    ]);
    expect(await hub.modules.get('marker')).toMatchObject({ description: 'pdf', config: { backend: 'command' } });
    const types = (await readLog(hub)).map((e) => e.type).sort();
    // The identical second registration changes nothing and says nothing; the config change is an update.
    expect(types).toEqual(['module.registered', 'module.updated']);
  });

  it.each([
    ['a NUL in content', (h: Hub, t: string) => h.messages.create({ threadId: t, author: 'a', content: 'a\u0000b' })],
    ['a NUL in a title', (h: Hub) => h.threads.create({ title: 'a\u0000b' })],
    ['a fractional limit', (h: Hub) => h.threads.list({ limit: 2.5 })],
    ['a NaN limit', (h: Hub) => h.events.list({ limit: Number.NaN })],
    ['an unknown status filter', (h: Hub) => h.messages.list({ status: {} as never })],
    ['a module filter that is not a name', (h: Hub) => h.events.list({ module: {} as never })],
    ['criteria that are not a list', (h: Hub) => h.tasks.create({ name: 'x', criteria: 'x' as never })],
    ['dependsOn that is not a list', (h: Hub) => h.tasks.create({ name: 'x', dependsOn: 'x' as never })],
    ['a config that is not an object', (h: Hub) => h.modules.register({ name: 'm', config: 'x' as never })],
    ['a config JSON cannot hold', (h: Hub) => h.modules.register({ name: 'm', config: { n: 1n } })],
  ])('refuses %s with validation, writing nothing', async (_, call) => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const before = (await readLog(hub)).length;
    await expect(call(hub, thread.id)).rejects.toMatchObject({ code: 'validation' });
    expect((await readLog(hub)).length).toBe(before);
  });

  it('rejects a NUL in streamed content', async () => {
    const hub = await hubs.open();
    const r = await reply(hub);
    await hub.messages.transition(r.id, 'processing');
    await expect(hub.messages.appendContent(r.id, 'x\u0000')).rejects.toMatchObject({ code: 'validation' });
  });

  it('lists a thread in creation order even with caller-chosen ids', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const ids = ['f0000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000', randomUUID()];
    for (const id of ids) {
      await hub.messages.create({ id, threadId: thread.id, author: 'a' });
      await new Promise((res) => setTimeout(res, 2));
    }
    expect((await hub.messages.list({ threadId: thread.id })).map((m) => m.id)).toEqual(ids);
  });
});
