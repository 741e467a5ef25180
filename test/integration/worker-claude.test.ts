// The worker with the real `claude` binary (against the local Messages API stand-in): a follow-up question in a
// thread resumes the agent's session, so the model's second request carries the first exchange; a run past its
// task's iteration (turn) or cost limit fails with budget_exceeded, as a command agent's does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';
import { readLog } from '../support/wait.js';

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

/** A module directory and the environment for its `claude` talking to the stand-in. */
function claudeModuleHome(): { cwd: string; env: Record<string, string> } {
  return { cwd: mkdtempSync(join(tmpdir(), 'cc-arangodb-')), env: claudeEnv(api.url) };
}

describeEachBackend('worker with claude-code', (hubs) => {
  it('answers two questions in one thread, resuming the session, with per-run cost and files', async () => {
    api.reset();
    const hub = await hubs.open();
    const { cwd, env } = claudeModuleHome();
    await hub.modules.register({
      name: 'arangodb',
      description: 'The database layer.',
      config: { backend: 'claude-code', cwd, model: TEST_MODEL, permissionMode: 'acceptEdits', env },
    });
    await hub.startWorker();
    const file = join(cwd, 'schema.json');
    api.script(
      { toolUse: { name: 'Write', input: { file_path: file, content: '{}' } } },
      { text: 'Sections with page spans.' },
    );
    const first = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which PDF structure do you need?' });
    const one = await hub.waitForCompletion(first.messageId, { timeoutMs: 60_000 });
    expect(one).toMatchObject({ status: 'complete', message: { content: 'Sections with page spans.' } });
    const task1 = await hub.tasks.get(first.taskId);
    expect(task1).toMatchObject({ status: 'complete', iteration: 2, filesCreated: [file] });

    const before = api.requests.length;
    api.script({ text: 'Yes, nested too.' });
    const second = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'Nested sections?',
      threadId: first.threadId,
    });
    const two = await hub.waitForCompletion(second.messageId, { timeoutMs: 60_000 });
    expect(two.message.content).toBe('Yes, nested too.');
    const sent = JSON.stringify(api.requests[before]?.body.messages);
    for (const part of ['Which PDF structure do you need?', 'Sections with page spans.', 'Nested sections?']) {
      expect(sent).toContain(part);
    }
    // Each task carries its own run's cost, not the session's running total: the stand-in bills every model
    // call the same, so the one-call second run costs about half the two-call first (the total would be 1.5x).
    const task2 = await hub.tasks.get(second.taskId);
    expect(task2.costUsd).toBeGreaterThan(0);
    expect(task2.costUsd).toBeLessThan(task1.costUsd);
  });
  it('starts a new session seeded with the thread when the old one is gone', async () => {
    api.reset();
    const hub = await hubs.open();
    const { cwd, env } = claudeModuleHome();
    await hub.modules.register({ name: 'arangodb', config: { backend: 'claude-code', cwd, model: TEST_MODEL, env } });
    await hub.startWorker();
    api.script({ text: 'Use page spans.' });
    const first = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    await hub.waitForCompletion(first.messageId, { timeoutMs: 60_000 });
    // The agent's stored sessions vanish (another machine, a cleaned cache).
    rmSync(join(env.CLAUDE_CONFIG_DIR as string, 'projects'), { recursive: true, force: true });
    const before = api.requests.length;
    api.script({ text: 'Still page spans.' });
    const second = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Sure?', threadId: first.threadId });
    const done = await hub.waitForCompletion(second.messageId, { timeoutMs: 60_000 });
    expect(done).toMatchObject({ status: 'complete', message: { content: 'Still page spans.' } });
    // The new session learned the conversation from its system prompt.
    const system = JSON.stringify(api.requests.at(-1)?.body.system);
    expect(api.requests.length).toBeGreaterThan(before);
    expect(system).toContain('The conversation so far in this thread');
    expect(system).toContain('Use page spans.');
  });

  it('fails a run that needs more turns than the module’s maxTurns (the old name of maxIterations)', async () => {
    api.reset();
    const hub = await hubs.open();
    const { cwd, env } = claudeModuleHome();
    await hub.modules.register({
      name: 'arangodb',
      config: { backend: 'claude-code', cwd, model: TEST_MODEL, permissionMode: 'acceptEdits', env, maxTurns: 1 },
    });
    await hub.startWorker();
    api.script(
      { toolUse: { name: 'Write', input: { file_path: join(cwd, 'schema.json'), content: '{}' } } },
      { text: 'Never reached: the second turn is past the limit.' },
    );
    const before = api.requests.length;
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Write the schema' });
    expect((await hub.tasks.get(asked.taskId)).maxIterations).toBe(1);
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 60_000 });
    const error = 'budget exceeded: iterations 2 passed the limit of 1';
    expect(done).toMatchObject({ status: 'failed', message: { error } });
    expect(done.history.at(-1)?.reason).toBe('budget_exceeded');
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ status: 'failed', error, iteration: 2 });
    const changes = await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.status_changed'] });
    expect(changes.at(-1)?.data).toMatchObject({ to: 'failed', reason: 'budget_exceeded', error });
    // One model call: the CLI stopped instead of taking the second turn.
    expect(api.requests.length - before).toBe(1);
  });

  it('fails a run whose cost passes the ask’s limit, which beats the module’s', async () => {
    api.reset();
    const hub = await hubs.open();
    const { cwd, env } = claudeModuleHome();
    await hub.modules.register({
      name: 'arangodb',
      config: { backend: 'claude-code', cwd, model: TEST_MODEL, permissionMode: 'acceptEdits', env, maxCostUsd: 5 },
    });
    await hub.startWorker();
    // 10,000 tokens in and 100 out cost $0.021 a turn with the test model: the second turn passes $0.03.
    const usage = { input_tokens: 10_000, output_tokens: 100 };
    api.script(
      { toolUse: { name: 'Write', input: { file_path: join(cwd, 'a.json'), content: '{}' } }, usage },
      { toolUse: { name: 'Write', input: { file_path: join(cwd, 'b.json'), content: '{}' } }, usage },
      { text: 'Never reached.', usage },
    );
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Write both', maxCostUsd: 0.03 });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 60_000 });
    const error = 'budget exceeded: cost $0.042 passed the limit of $0.03';
    expect(done).toMatchObject({ status: 'failed', message: { error } });
    expect(done.history.at(-1)?.reason).toBe('budget_exceeded');
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ status: 'failed', error, costUsd: 0.042 });
  });
});
