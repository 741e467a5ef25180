// Task statistics come from totals kept by triggers as tasks change (store/task-totals-schema.ts): on every backend
// they must agree with a count of the tasks themselves after every kind of change, and a database that had tasks
// before the totals existed gets them counted when it is migrated.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { expect, it } from 'vitest';
import { type Hub, openHub } from '../../src/index.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { describeEachBackend } from '../support/backends.js';

/** The statistics recounted from the task list, independently of the totals. */
async function recount(hub: Hub, module?: string) {
  const tasks = await hub.tasks.list({ limit: 5000, ...(module ? { module } : {}) });
  const byStatus: Record<string, number> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  const sum = (f: (t: (typeof tasks)[number]) => number) => tasks.reduce((n, t) => n + f(t), 0);
  return {
    total: tasks.length,
    byStatus: expect.objectContaining(byStatus),
    costUsd: expect.closeTo(
      sum((t) => t.costUsd),
      9,
    ),
    tokensIn: sum((t) => t.tokensIn),
    tokensOut: sum((t) => t.tokensOut),
  };
}

/** Tasks in three modules and none, through every kind of change a task goes through. */
async function busyHub(hub: Hub): Promise<void> {
  for (const name of ['marker', 'arangodb']) await hub.modules.register({ name });
  for (let i = 0; i < 6; i++) {
    const asked = await hub.ask({ from: 'cli', to: i % 2 ? 'marker' : 'arangodb', prompt: `question ${i}` });
    if (i % 3 === 0) continue;
    await hub.messages.transition(asked.messageId, 'processing');
    await hub.tasks.update(asked.taskId, { costUsd: 0.1 * i, tokensIn: 100 * i, tokensOut: 10 * i });
    await hub.tasks.update(asked.taskId, { costUsd: 0.15 * i, tokensIn: 150 * i, progress: 0.5 });
    await hub.messages.transition(asked.messageId, i % 2 ? 'complete' : 'failed', { error: 'no' });
    await hub.tasks.transition(asked.taskId, 'processing');
    await hub.tasks.transition(asked.taskId, i % 2 ? 'complete' : 'failed', { error: 'no' });
  }
  const manual = await hub.tasks.create({ name: 'by hand' });
  await hub.tasks.update(manual.id, { costUsd: 0.25, tokensOut: 3 });
  await hub.tasks.transition(manual.id, 'processing');
  await hub.tasks.transition(manual.id, 'cancelled');
  await hub.tasks.create({ name: 'waiting', module: 'library' });
}

/** Takes the totals migration back out of `url`, as if the database predated it (its tasks stay). */
async function withoutTotals(url: string): Promise<void> {
  const version = MIGRATIONS.find((m) => m.name.includes('task totals'))?.version;
  expect(version).toBeDefined();
  const common = [
    'DROP TABLE task_totals',
    'DROP INDEX tasks_status',
    'DROP INDEX tasks_module',
    'DROP INDEX tasks_kind',
    'DROP INDEX tasks_created',
    'DROP INDEX messages_created',
    'DROP INDEX messages_unsuccessful_created',
    'CREATE INDEX tasks_status ON tasks (status, created_at)',
    `DELETE FROM schema_migrations WHERE version = ${version}`,
  ];
  if (!/^postgres(ql)?:/.test(url)) {
    const db = new BetterSqlite3(url.replace(/^sqlite:/, ''));
    for (const t of ['insert', 'delete', 'update']) db.exec(`DROP TRIGGER task_totals_${t}`);
    for (const s of common) db.exec(s);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of [
    'DROP TRIGGER task_totals_insert_delete ON tasks',
    'DROP TRIGGER task_totals_update ON tasks',
    'DROP FUNCTION task_totals_change',
    'DROP TABLE task_total_changes',
    ...common,
  ])
    await client.query(s);
  await client.end();
}

describeEachBackend('task totals', (hubs) => {
  it('agree with a count of the tasks after every kind of change, for all and for each module', async () => {
    const hub = await hubs.open();
    await busyHub(hub);
    expect(await hub.tasks.stats()).toMatchObject(await recount(hub));
    for (const module of ['marker', 'arangodb', 'library', 'nobody'])
      expect(await hub.tasks.stats({ module })).toMatchObject(await recount(hub, module));
    const stats = await hub.tasks.stats();
    expect(stats).toMatchObject({ total: 8, byStatus: { pending: 3, complete: 2, failed: 2, cancelled: 1 } });
    // Since a time: the tasks created since then, with their cost.
    expect(await hub.tasks.stats({ since: new Date(Date.now() + 60_000).toISOString() })).toMatchObject({
      createdSince: 0,
      costSinceUsd: 0,
      total: 8,
    });
    expect(await hub.tasks.stats({ since: '2000-01-01T00:00:00Z' })).toMatchObject({
      createdSince: 8,
      costSinceUsd: stats.costUsd,
    });
  });

  it('are counted from the tasks already there when a database gains them', async () => {
    const hub = await hubs.open();
    await busyHub(hub);
    const before = await hub.tasks.stats();
    const database = hub.database;
    await hub.close();
    await withoutTotals(database);
    const again = await openHub({ database, config: false });
    try {
      expect(await again.tasks.stats()).toEqual(before);
      expect(await again.tasks.stats({ module: 'marker' })).toMatchObject(await recount(again, 'marker'));
      // And kept from then on.
      const task = await again.tasks.create({ name: 'after', module: 'marker' });
      await again.tasks.transition(task.id, 'processing');
      expect(await again.tasks.stats()).toMatchObject({
        total: before.total + 1,
        byStatus: { processing: before.byStatus.processing + 1 },
      });
    } finally {
      await again.close();
    }
  });
});
