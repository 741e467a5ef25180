// A Claude Code reply handed back by a graceful stop resumes its agent session when a service is back: the real
// `claude` binary against the local Messages API stand-in, the model hanging mid-answer when the service stops.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { describeEachBackend } from '../support/backends.js';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close({ cancelRunning: true })));
});

async function start(database: string): Promise<Service> {
  const service = await startBareService(database);
  services.push(service);
  return service;
}

describeEachBackend('hand-back with claude-code', (hubs) => {
  it('resumes the same agent session when the handed-back reply runs again', async () => {
    api.reset();
    const database = (await hubs.open()).database;
    const first = await start(database);
    const cwd = mkdtempSync(join(tmpdir(), 'cc-arangodb-'));
    await first.hub.modules.register({
      name: 'arangodb',
      config: { backend: 'claude-code', cwd, model: TEST_MODEL, env: claudeEnv(api.url) },
    });
    // The model starts answering and then says nothing more: the run is in flight when the service stops.
    api.script({ hang: true });
    const earlier = api.requests.length; // the stand-in serves every backend's run of this suite
    const asked = await first.hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which PDF structure do you need?' });
    await until(async () => (await first.hub.tasks.get(asked.taskId)).sessionId !== null, 60_000, 'the session');
    await until(async () => api.requests.length > earlier, 60_000, 'the model call');
    const session = (await first.hub.tasks.get(asked.taskId)).sessionId;
    services.splice(services.indexOf(first), 1);
    const { handedBack } = await first.close();
    expect(handedBack).toEqual([asked.messageId]);

    const before = api.requests.length;
    api.script({ text: 'Sections with page spans.' });
    const second = await start(database);
    const done = await second.hub.waitForCompletion(asked.messageId, { timeoutMs: 120_000 });
    expect(done).toMatchObject({ status: 'complete', message: { content: 'Sections with page spans.' } });
    // The second run resumed the first's session rather than starting a new one: the same id, and the model's
    // request carries the question from the session's own transcript as well as the prompt sent again.
    expect((await second.hub.tasks.get(asked.taskId)).sessionId).toBe(session);
    const sent = JSON.stringify(api.requests[before]?.body.messages);
    expect(sent.split('Which PDF structure do you need?').length - 1).toBeGreaterThanOrEqual(2);
    const history = await second.hub.statusHistory(asked.messageId);
    expect(history.map((h) => h.status)).toEqual(['pending', 'processing', 'pending', 'processing', 'complete']);
  }, 180_000);
});
