// The bulk loader on every backend, with the history the scale benchmarks load (bench/scale-data.ts): the hub
// reads the loaded asks as it reads its own, their events replayed through the one applier give the stored rows,
// the log runs in time order, and the schema ends current.
import { afterEach, describe, expect, it } from 'vitest';
import { history, MODULES, moduleRows, UNASKED_MODULE } from '../../bench/scale-data.js';
import { applyToMessage, applyToTask, createdMessage, type MessageView } from '../../src/domain/apply.js';
import type { EventOf } from '../../src/domain/types.js';
import type { HubEvent, Task } from '../../src/index.js';
import { BULK_SCHEMA_VERSION, BulkLoader } from '../../src/store/bulk-load.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { BACKENDS, hubFactory } from '../support/backends.js';
import { readLog } from '../support/wait.js';

const ASKS = 250;

describe.each(BACKENDS)('bulk loading on $name', (backend) => {
  const hubs = hubFactory(backend);
  afterEach(() => hubs.closeAll());

  /** A new database holding the history of 250 asks, loaded 100 to a transaction; answers its URL. */
  async function loaded(): Promise<string> {
    const database = await backend.freshDatabase();
    const plan = { asks: ASKS, end: Date.parse('2026-12-01T00:00:00Z'), perChunk: 100 };
    const loader = await BulkLoader.open(database);
    await loader.insert(moduleRows(plan));
    for (const chunk of history(plan)) await loader.insert(chunk);
    // Then migrated the rest of the way, as an upgraded database of version 12 is.
    const later = MIGRATIONS.map((m) => m.version).filter((v) => v > BULK_SCHEMA_VERSION);
    expect(await loader.finish()).toEqual(later);
    return database;
  }

  describe.skipIf(!backend.available)('', () => {
    it('loads finished asks that the hub lists and counts like its own', async () => {
      const database = await loaded();
      // retentionDays 0: the history spans 90 days, past the default retention.
      const hub = await hubs.open({ database, retentionDays: 0 });
      expect(await hub.schemaVersion()).toBe(SCHEMA_VERSION);
      const stats = await hub.tasks.stats();
      expect(stats.total).toBe(ASKS);
      expect(stats.byStatus.pending + stats.byStatus.processing).toBe(0);
      expect(stats.byStatus.complete).toBeGreaterThan(ASKS * 0.8);
      expect(stats.byStatus.failed + stats.byStatus.cancelled).toBeGreaterThan(0);
      expect(stats.costUsd).toBeGreaterThan(0);

      const tasks = await hub.tasks.list({ limit: 1000 });
      expect(tasks).toHaveLength(ASKS);
      expect(tasks.map((t) => t.createdAt)).toEqual(
        tasks
          .map((t) => t.createdAt)
          .sort()
          .reverse(),
      );
      expect(new Set(tasks.map((t) => t.module))).toEqual(new Set(MODULES.map(([m]) => m)));
      expect(await hub.tasks.list({ module: UNASKED_MODULE })).toEqual([]);
      expect((await hub.modules.list()).map((m) => m.name).sort()).toEqual(
        [...MODULES.map(([m]) => m), UNASKED_MODULE].sort(),
      );

      const threads = await hub.threads.list({ limit: 1000 });
      expect(threads.length).toBeLessThan(ASKS); // some asks follow up in a thread asked before
      const replies = threads.reduce((n, t) => n + Object.values(t.replies).reduce((a, b) => a + b, 0), 0);
      expect(replies).toBe(ASKS);
    });

    it('writes the events that replay, through the applier, to the stored replies and tasks, in time order', async () => {
      const database = await loaded();
      const hub = await hubs.open({ database, retentionDays: 0 });
      const log = await readLog(hub);
      expect(log.map((e) => e.at)).toEqual(log.map((e) => e.at).sort());
      const byMessage = new Map<string, HubEvent[]>();
      const byTask = new Map<string, HubEvent[]>();
      for (const e of log) {
        if (e.messageId && !e.taskId) byMessage.set(e.messageId, [...(byMessage.get(e.messageId) ?? []), e]);
        if (e.taskId) byTask.set(e.taskId, [...(byTask.get(e.taskId) ?? []), e]);
      }
      const tasks = await hub.tasks.list({ limit: 1000 });
      for (const task of tasks) {
        const reply = await hub.messages.require(task.messageId as string);
        const [created, ...changes] = byMessage.get(reply.id) ?? [];
        let view = createdMessage(created as EventOf<'message.created'>) as MessageView | 'gap';
        for (const e of changes) view = applyToMessage(view as MessageView, e);
        expect(view).toMatchObject({
          status: reply.status,
          content: reply.content,
          error: reply.error,
          startedAt: reply.startedAt,
          completedAt: reply.completedAt,
        });

        const [taskCreated, ...taskChanges] = byTask.get(task.id) ?? [];
        expect(taskCreated).toMatchObject({ type: 'task.created', data: { name: task.name, kind: 'ask' } });
        let replayed: Task = {
          ...task,
          status: 'pending',
          progress: 0,
          costUsd: 0,
          tokensIn: 0,
          tokensOut: 0,
          filesModified: [],
          error: null,
          startedAt: null,
          completedAt: null,
          updatedAt: task.createdAt,
        };
        for (const e of taskChanges) replayed = applyToTask(replayed, e);
        expect(replayed).toEqual(task);
      }
    });

    it('refuses a database that is not new', async () => {
      const database = await backend.freshDatabase();
      await hubs.open({ database });
      await expect(BulkLoader.open(database)).rejects.toMatchObject({ code: 'conflict' });
    });
  });
});
