// Conformance, part 5: asking a module — question, pending reply and task stored together — on every backend.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openHub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { readLog } from '../support/wait.js';

describeEachBackend('ask', (hubs) => {
  it('stores the question, a pending reply and its task in one step, and returns at once', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const schema = { type: 'object', required: ['sections'] };
    const asked = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'Which PDF structure do you need?',
      schema,
    });
    const thread = await hub.threads.get(asked.threadId);
    expect(thread).toMatchObject({ title: 'Which PDF structure do you need?', createdBy: 'marker' });
    const [question, reply] = await hub.messages.list({ threadId: asked.threadId });
    expect(question).toMatchObject({ id: asked.questionId, author: 'marker', role: 'user', status: 'complete' });
    expect(question?.content).toBe('Which PDF structure do you need?');
    expect(reply).toMatchObject({
      id: asked.messageId,
      author: 'arangodb',
      role: 'assistant',
      status: 'pending',
      schema,
    });
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({
      kind: 'ask',
      module: 'arangodb',
      messageId: asked.messageId,
    });
    const types = (await readLog(hub)).map((e) => e.type);
    expect(types).toEqual([
      'module.registered',
      'thread.created',
      'message.created',
      'message.created',
      'task.created',
    ]);
    // A worker's work, done by hand here: the asker's wait sees the answer.
    const waiting = hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    await hub.messages.transition(asked.messageId, 'processing');
    await hub.messages.appendContent(asked.messageId, '{"sections":[]}');
    await hub.messages.transition(asked.messageId, 'complete');
    expect((await waiting).message.content).toBe('{"sections":[]}');
  });

  it('registers the modules of config.yaml at open, quietly when nothing changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-home-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      'modules:\n  arangodb:\n    description: database layer\n    cwd: ./arangodb\n    backend: command\n    command: node\n',
    );
    const hub = await hubs.open({ config });
    expect(await hub.modules.get('arangodb')).toMatchObject({
      description: 'database layer',
      config: { backend: 'command', command: 'node', cwd: join(dir, 'arangodb'), concurrency: 1 },
    });
    await hubs.open({ database: hub.database, config });
    expect((await readLog(hub)).map((e) => e.type)).toEqual(['module.registered']);
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Ready?' })).resolves.toMatchObject({});
    writeFileSync(config, 'modules:\n  arangodb:\n    cwd: x\n    backend: command\n    comand: node\n');
    await expect(openHub({ database: hub.database, config })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining(`${config}:5: modules.arangodb.comand: unknown key`),
    });
  });

  it('cancels the task with a reply cancelled before any worker took it, in the same step', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Never mind' });
    const before = (await readLog(hub)).length;
    await hub.messages.cancel(asked.messageId, 'asked elsewhere');
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ status: 'cancelled', completedAt: expect.any(String) });
    const events = (await readLog(hub)).slice(before);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['message.status_changed', { from: 'pending', to: 'cancelled', reason: 'asked elsewhere' }],
      ['task.status_changed', { from: 'pending', to: 'cancelled', reason: 'asked elsewhere' }],
    ]);
    // No longer among the active tasks, and counted as cancelled.
    expect((await hub.progress.active()).map((t) => t.taskId)).not.toContain(asked.taskId);
    expect((await hub.tasks.stats()).byStatus).toMatchObject({ pending: 0, cancelled: 1 });
    await expect(hub.messages.cancel(asked.messageId)).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('continues an existing thread', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const first = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'First?' });
    const second = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'And then?', threadId: first.threadId });
    expect(second.threadId).toBe(first.threadId);
    expect((await hub.messages.list({ threadId: first.threadId })).map((m) => m.id)).toEqual([
      first.questionId,
      first.messageId,
      second.questionId,
      second.messageId,
    ]);
  });

  it('refuses an unknown or paused module, an unknown thread and bad input, writing nothing', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const before = (await readLog(hub)).length;
    await expect(hub.ask({ from: 'marker', to: 'nobody', prompt: 'x' })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('no module named nobody'),
    });
    await expect(hub.ask({ from: 'marker', to: 'arangdb', prompt: 'x' })).rejects.toMatchObject({
      code: 'not_found',
      message: 'no module named arangdb (did you mean "arangodb"?); modules are defined in config.yaml',
    });
    await expect(
      hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x', threadId: '01900000-0000-7000-8000-000000000009' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: '' })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x', schema: [] as never })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(hub.ask({ from: 'bad name', to: 'arangodb', prompt: 'x' })).rejects.toMatchObject({
      code: 'validation',
    });
    expect((await readLog(hub)).length).toBe(before);
    await hub.modules.setPaused('arangodb', true);
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x' })).rejects.toMatchObject({
      code: 'conflict',
      message: 'module arangodb is paused; resume it to ask it questions (claude-comms modules resume arangodb)',
    });
    await hub.modules.setPaused('arangodb', false);
    await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'x' })).resolves.toMatchObject({});
  });
});
