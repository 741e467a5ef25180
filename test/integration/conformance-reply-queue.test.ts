// The reply queue on every backend: a claim takes the oldest pending reply with an instance and moves its task;
// a claim made with settings the module no longer has takes nothing, so the question is answered with the new
// ones; finishing a run that lost its reply to a later claim changes only its instance.
import { expect, it } from 'vitest';
import { InstanceStore } from '../../src/store/instances.js';
import { MessageStore } from '../../src/store/messages.js';
import { openDatabase } from '../../src/store/open.js';
import { ReplyQueue } from '../../src/store/reply-queue.js';
import { TaskStore } from '../../src/store/tasks.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('reply queue', (hubs) => {
  it('claims with the settings the module has, finishes the claimed run, and fences off a lost one', async () => {
    const hub = await hubs.open();
    const settings = { backend: 'command', cwd: '/tmp', command: 'true' };
    await hub.modules.register({ name: 'arangodb', config: settings });
    const db = await openDatabase(hub.database);
    try {
      const messages = new MessageStore(db, { maxContentLength: 1_000_000, coalesceMs: 0 });
      const queue = new ReplyQueue(db, messages, new TaskStore(db), new InstanceStore(db, messages));
      const module = { name: 'arangodb', concurrency: 1, settings: JSON.stringify(settings) };
      const first = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'one' });

      // Settings changed since the caller read them: nothing is claimed.
      expect(
        await queue.claim({ ...module, settings: JSON.stringify({ ...settings, command: 'false' }) }, 'w1', 60_000),
      ).toBe('changed');
      expect((await hub.messages.get(first.messageId)).status).toBe('pending');

      const claimed = await queue.claim(module, 'w1', 60_000);
      if (!claimed || claimed === 'changed') throw new Error('nothing claimed');
      expect(claimed).toMatchObject({ message: { id: first.messageId, status: 'processing' }, taskId: first.taskId });
      expect(claimed.run).toEqual({ worker: 'w1', attempt: 1 });
      expect((await hub.tasks.get(first.taskId)).status).toBe('processing');
      // Its one instance is busy: nothing more, even with a reply waiting.
      const second = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'two' });
      expect(await queue.claim(module, 'w2', 60_000)).toBeUndefined();

      // A run that does not hold the reply any more (another worker's attempt) changes neither reply nor task.
      const stale = { ...claimed, run: { worker: 'w0', attempt: 1 } };
      expect(await queue.finish(stale, { ok: true })).toBe(false);
      expect((await hub.messages.get(first.messageId)).status).toBe('processing');
      expect(await queue.finish(claimed, { ok: false, reason: 'agent_error', error: 'boom' })).toBe(true);
      expect(await hub.messages.get(first.messageId)).toMatchObject({ status: 'failed', error: 'boom' });
      expect(await hub.tasks.get(first.taskId)).toMatchObject({ status: 'failed', error: 'boom' });
      const next = await queue.claim(module, 'w2', 60_000);
      expect(next !== 'changed' && next?.message.id).toBe(second.messageId);
    } finally {
      await db.close();
    }
  });
});
