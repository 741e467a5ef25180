// Conformance: an ask made inside a caller's write transaction (as a workflow step records itself and its ask)
// is part of that transaction — gone with it when it rolls back, there with its events when it commits — and an
// ask that fails inside it leaves nothing of itself, its request id included, while the transaction goes on.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { AskStore } from '../../src/store/asks.js';
import type { Database } from '../../src/store/database.js';
import { MessageStore } from '../../src/store/messages.js';
import { openDatabase } from '../../src/store/open.js';
import { TaskStore } from '../../src/store/tasks.js';
import { ThreadStore } from '../../src/store/threads.js';
import { describeEachBackend, type HubFactory } from '../support/backends.js';
import { readLog } from '../support/wait.js';

/** A hub with the module `arangodb`, and the stores an in-hub caller (a workflow engine) writes through. */
async function setUp(hubs: HubFactory): Promise<{ hub: Hub; db: Database; asks: AskStore; tasks: TaskStore }> {
  const hub = await hubs.open();
  await hub.modules.register({ name: 'arangodb' });
  const db = await openDatabase(hub.database);
  const tasks = new TaskStore(db);
  const messages = new MessageStore(db, { maxContentLength: 1_000_000, coalesceMs: 0 });
  return { hub, db, asks: new AskStore(db, new ThreadStore(db), messages, tasks), tasks };
}

const question = { from: 'marker', to: 'arangodb', prompt: 'Which structure?', requestId: 'step-1' };

describeEachBackend('asking inside a transaction', (hubs) => {
  it('leaves no thread, message, task, event or request id when the transaction then fails', async () => {
    const { hub, db, asks, tasks } = await setUp(hubs);
    try {
      const before = await readLog(hub);
      await expect(
        db.write(async (tx) => {
          await tasks.create({ name: 'step one', kind: 'workflow_step' }, tx);
          await asks.ask(question, tx);
          throw new Error('the step could not be recorded');
        }),
      ).rejects.toThrow('the step could not be recorded');
      expect(await hub.threads.list()).toEqual([]);
      expect(await hub.tasks.list()).toEqual([]);
      expect(await readLog(hub)).toEqual(before);
      // The request id went with the transaction: asking with it again asks anew.
      expect((await hub.ask(question)).replayed).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('commits the ask with the caller’s writes and its events; its request id answers a retry', async () => {
    const { hub, db, asks, tasks } = await setUp(hubs);
    try {
      const head = (await hub.events.list({ limit: 1000 })).cursor;
      const { step, asked, again } = await db.write(async (tx) => {
        const step = await tasks.create({ name: 'step one', kind: 'workflow_step' }, tx);
        const asked = await asks.ask(question, tx);
        // The same id twice in one transaction: the second answers the first.
        const again = await asks.ask(question, tx);
        return { step, asked, again };
      });
      expect(asked.replayed).toBe(false);
      expect(again).toEqual({ ...asked, replayed: true });
      expect(await hub.messages.list({ threadId: asked.threadId })).toMatchObject([
        { id: asked.questionId, role: 'user', status: 'complete' },
        { id: asked.messageId, role: 'assistant', status: 'pending' },
      ]);
      expect(await hub.tasks.get(asked.taskId)).toMatchObject({ kind: 'ask', messageId: asked.messageId });
      expect((await readLog(hub, head)).map((e) => [e.type, e.taskId ?? e.messageId ?? e.threadId])).toEqual([
        ['task.created', step.id],
        ['thread.created', asked.threadId],
        ['message.created', asked.questionId],
        ['message.created', asked.messageId],
        ['task.created', asked.taskId],
      ]);
      expect(await hub.ask(question)).toEqual({ ...asked, replayed: true });
    } finally {
      await db.close();
    }
  });

  it('leaves nothing of an ask that fails, request id included, and the transaction goes on', async () => {
    const { hub, db, asks, tasks } = await setUp(hubs);
    await hub.modules.register({ name: 'paused-one' });
    await hub.modules.setPaused('paused-one', true);
    try {
      const head = (await hub.events.list({ limit: 1000 })).cursor;
      const asked = await db.write(async (tx) => {
        await tasks.create({ name: 'step one', kind: 'workflow_step' }, tx);
        // Fails once its thread and question are written: the reply's schema is too large to store.
        const schema = { description: 'x'.repeat(300_000) };
        await expect(asks.ask({ ...question, schema }, tx)).rejects.toMatchObject({ code: 'too_large' });
        // Fails once its request id is taken: the module is paused.
        await expect(asks.ask({ ...question, to: 'paused-one' }, tx)).rejects.toMatchObject({ code: 'conflict' });
        return asks.ask(question, tx);
      });
      expect(asked.replayed).toBe(false);
      expect((await hub.threads.list()).map((t) => t.id)).toEqual([asked.threadId]);
      expect(await hub.messages.list({ threadId: asked.threadId })).toHaveLength(2);
      expect((await readLog(hub, head)).map((e) => e.type)).toEqual([
        'task.created',
        'thread.created',
        'message.created',
        'message.created',
        'task.created',
      ]);
    } finally {
      await db.close();
    }
  });
});
