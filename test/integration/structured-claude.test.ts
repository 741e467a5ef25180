// A structured ask answered by the real `claude` binary (against the local Messages API stand-in): its first
// answer fails the schema, so a repair round resumes the same agent session with the validation errors — the
// model's second request carries them and the first answer — and the reply completes with the value.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

describeEachBackend('structured asks with claude-code', (hubs) => {
  it('repairs in the same session: the second request carries the errors, and the value is stored', async () => {
    api.reset();
    const hub = await hubs.open();
    const cwd = mkdtempSync(join(tmpdir(), 'cc-arangodb-'));
    await hub.modules.register({
      name: 'arangodb',
      config: { backend: 'claude-code', cwd, model: TEST_MODEL, env: claudeEnv(api.url) },
    });
    await hub.startWorker();
    const before = api.requests.length;
    api.script(
      { text: 'I need these: {"collections": ["documents"], "keypattern": "^[a-z]+$"}' },
      { text: '```json\n{"collections": ["documents", "blocks"], "keyPattern": "^[a-z]+$"}\n```' },
    );
    const asked = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'Which collections do you need?',
      schema: {
        type: 'object',
        properties: { collections: { type: 'array', items: { type: 'string' } }, keyPattern: { type: 'string' } },
        required: ['collections', 'keyPattern'],
        additionalProperties: false,
      },
    });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 90_000 });
    expect(done.status).toBe('complete');
    const reply = await hub.messages.require(asked.messageId);
    expect(reply.value).toEqual({ collections: ['documents', 'blocks'], keyPattern: '^[a-z]+$' });
    expect(reply.validation?.rounds.map((r) => r.valid)).toEqual([false, true]);
    // The first request asked the question with the schema in the system prompt.
    expect(JSON.stringify(api.requests[before]?.body.system)).toContain('keyPattern');
    // The second, in the same session, carries the first answer and the errors found in it.
    const second = JSON.stringify(api.requests[before + 1]?.body.messages);
    expect(second).toContain('Which collections do you need?');
    expect(second).toContain('keypattern');
    expect(second).toContain('does not satisfy');
    expect(second).toContain('/keyPattern');
    expect(second).toMatch(/Did you mean property 'keyPattern'\?/);
    // Resumed, not started anew: the first answer is the model's own turn in the conversation, not quoted text.
    const messages = api.requests[before + 1]?.body.messages ?? [];
    const answered = messages.find((m) => m.role === 'assistant' && JSON.stringify(m.content).includes('keypattern'));
    expect(answered).toBeDefined();
    const task = await hub.tasks.get(asked.taskId);
    expect(task.status).toBe('complete');
    expect(task.iteration).toBeGreaterThanOrEqual(2);
  });
});
