// A durable consumer on every backend: it reads the events after its stored position in order, each once while
// its steps succeed, folds wake-ups during a pass into one more, and after a position older than retention goes
// on from the oldest event kept.
import { expect, it } from 'vitest';
import { DurableConsumer } from '../../src/events/durable-consumer.js';
import type { HubEvent } from '../../src/index.js';
import { describeEachBackend, memoryLogger } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { until } from '../support/wait.js';

describeEachBackend('durable consumer', (hubs) => {
  it('handles each event after its stored position once, in order, across wake-ups and a restart', async () => {
    const hub = await hubs.open({ retentionDays: 0 });
    const { logger, lines } = memoryLogger();
    let stored = await hub.events.head();
    const seen: string[] = [];
    const steps = {
      position: () => stored,
      handle: async (event: HubEvent) => {
        seen.push(String(payload(event).title));
        stored = event.cursor;
        return true;
      },
      caughtUp: async (cursor: string) => {
        stored = cursor;
      },
    };
    const first = new DurableConsumer(hub.events, { types: ['thread.created'] }, steps, logger, { name: 'test' });
    for (let i = 0; i < 250; i++) {
      await hub.threads.create({ title: `t${i}`, createdBy: 'marker' });
      if (i % 40 === 0) first.wake();
    }
    first.wake();
    await until(() => seen.length === 250, 10_000, 'every event');
    await first.end();
    // A new consumer from the stored position reads only what came after it.
    await hub.threads.create({ title: 'later', createdBy: 'marker' });
    const second = new DurableConsumer(hub.events, { types: ['thread.created'] }, steps, logger, { name: 'test' });
    second.wake();
    await until(() => seen.length === 251, 10_000, 'the later event');
    await second.end();
    expect(seen).toEqual([...Array.from({ length: 250 }, (_, i) => `t${i}`), 'later']);
    expect(lines.filter((l) => Number(l.level) >= 40)).toEqual([]);
  });

  it('goes on from the oldest event kept when its position was pruned, saying so', async () => {
    const hub = await hubs.open({ retentionDays: 0 });
    const { logger, lines } = memoryLogger();
    let stored = await hub.events.head();
    for (const title of ['lost', 'lost too', 'kept']) await hub.threads.create({ title, createdBy: 'marker' });
    // Everything before the head is pruned: the stored position is older than what the log keeps.
    expect(await hub.events.prune(new Date(Date.now() + 1000))).toBe(2);
    const seen: string[] = [];
    const consumer = new DurableConsumer(
      hub.events,
      { types: ['thread.created'] },
      {
        position: () => stored,
        handle: async (event) => {
          seen.push(String(payload(event).title));
          stored = event.cursor;
          return true;
        },
        caughtUp: async (cursor) => {
          stored = cursor;
        },
      },
      logger,
      { name: 'test' },
    );
    consumer.wake();
    await until(() => seen.length > 0, 10_000, 'the kept event');
    await consumer.end();
    expect(seen).toEqual(['kept']);
    expect(lines.map((l) => l.msg)).toContain(
      'events this consumer had not handled were pruned; going on from the oldest kept',
    );
  });
});
