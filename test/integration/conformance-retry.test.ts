// Retrying a failed or cancelled reply — a new reply to the same question, with its own task, both naming what they
// retry — on every backend, answered by a worker like any reply.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { readLog } from '../support/wait.js';

/** Answers the question it is given, prefixed. */
const ECHO = `
let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => process.stdout.write('You asked: ' + q.trim()));`;

async function failedReply(hub: Hub, prompt = 'Which structure?') {
  const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt });
  await hub.messages.transition(asked.messageId, 'processing');
  await hub.messages.transition(asked.messageId, 'failed', { error: 'the agent exited' });
  return asked;
}

describeEachBackend('retry', (hubs) => {
  it('creates a new pending reply to the same question, with its own task, both linked to what they retry', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const asked = await failedReply(hub);
    const before = await readLog(hub);
    const retried = await hub.retry(asked.messageId);
    expect(retried).toMatchObject({ threadId: asked.threadId, questionId: asked.questionId });
    const messages = await hub.messages.list({ threadId: asked.threadId });
    expect(messages.map((m) => [m.role, m.status, m.retryOf])).toEqual([
      ['user', 'complete', null],
      ['assistant', 'failed', null],
      ['assistant', 'pending', asked.messageId],
    ]);
    expect(messages[2]).toMatchObject({ id: retried.messageId, author: 'arangodb' });
    expect(await hub.tasks.get(retried.taskId)).toMatchObject({
      kind: 'ask',
      module: 'arangodb',
      status: 'pending',
      messageId: retried.messageId,
      retryOf: asked.taskId,
    });
    const after = (await readLog(hub)).slice(before.length);
    expect(after.map((e) => e.type)).toEqual(['message.created', 'task.created']);
    expect(after[0]).toMatchObject({ messageId: retried.messageId, data: { retryOf: asked.messageId } });
    // A reply is retried once: a second retry (a double click) is refused, and the retry is retried instead.
    await expect(hub.retry(asked.messageId)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`already retried as reply ${retried.messageId}`),
    });
    // The task's own retry answers its reply again, once more.
    await hub.messages.cancel(retried.messageId);
    const again = await hub.retry(retried.taskId, 'task');
    expect(await hub.messages.require(again.messageId)).toMatchObject({ retryOf: retried.messageId });
    expect(again.questionId).toBe(asked.questionId);
  });

  it('refuses a reply that has not failed or been cancelled, and changes nothing', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    const count = async () => (await readLog(hub)).length;
    const events = await count();
    await expect(hub.retry(asked.messageId)).rejects.toMatchObject({ code: 'invalid_transition' });
    await hub.messages.transition(asked.messageId, 'processing');
    await expect(hub.retry(asked.messageId)).rejects.toMatchObject({ code: 'invalid_transition' });
    await hub.messages.transition(asked.messageId, 'complete');
    await expect(hub.retry(asked.taskId, 'task')).rejects.toMatchObject({ code: 'invalid_transition' });
    await expect(hub.retry(asked.questionId)).rejects.toMatchObject({ code: 'validation' });
    expect(await count()).toBe(events + 2);
    expect(await hub.messages.list({ threadId: asked.threadId })).toHaveLength(2);
    await expect(hub.retry('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
    await expect(hub.retry('00000000-0000-4000-8000-000000000000', 'task')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(hub.retry('not an id')).rejects.toMatchObject({ code: 'validation' });
    const manual = await hub.tasks.create({ name: 'by hand' });
    await expect(hub.retry(manual.id, 'task')).rejects.toMatchObject({ code: 'validation' });
  });

  it('refuses a reply whose module is paused, and retries it once the module is resumed', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const asked = await failedReply(hub);
    await hub.modules.setPaused('arangodb', true);
    await expect(hub.retry(asked.messageId)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('module arangodb is paused'),
    });
    await expect(hub.retry(asked.taskId, 'task')).rejects.toMatchObject({ code: 'conflict' });
    expect(await hub.messages.list({ threadId: asked.threadId })).toHaveLength(2);
    await hub.modules.setPaused('arangodb', false);
    const retried = await hub.retry(asked.messageId);
    expect(await hub.messages.require(retried.messageId)).toMatchObject({
      status: 'pending',
      retryOf: asked.messageId,
    });
  });

  it('is answered by a worker: the question asked again, even after a later question in the thread', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO);
    const asked = await failedReply(hub, 'first question');
    // A later question in the same thread: the retry still answers the first one.
    const later = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'second question',
      threadId: asked.threadId,
    });
    await hub.messages.cancel(later.messageId);
    const retried = await hub.retry(asked.messageId);
    await hub.startWorker();
    const done = await hub.waitForCompletion(retried.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('You asked: first question');
    expect((await hub.tasks.get(retried.taskId)).status).toBe('complete');
  });
});
