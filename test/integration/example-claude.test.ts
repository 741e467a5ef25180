// The pdf-to-arangodb example with arangodb answered by the real `claude` binary (against the local Messages API
// stand-in) instead of the example agent: its first answer to the pdf-structure template is not valid
// pdf-requirements, so a repair round asks again in the same session with the errors; the second answer is arangodb's
// requirements, and the run goes on with them — checked, reviewed by marker's example agent, converted and written.
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WorkflowRun } from '../../src/domain/workflow-types.js';
import { describeEachBackend } from '../support/backends.js';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';
import { until } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REQUIREMENTS = readFileSync(join(ROOT, 'examples/arangodb/requirements.json'), 'utf8');

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

describeEachBackend('the pdf-to-arangodb example with claude-code', (hubs) => {
  it('runs with arangodb answered by claude, one repair round, and writes the import files', async () => {
    api.reset();
    const hub = await hubs.open();
    const home = mkdtempSync(join(tmpdir(), 'cc-example-claude-'));
    cpSync(join(ROOT, 'examples/marker'), join(home, 'marker'), { recursive: true });
    await hub.modules.register({
      name: 'marker',
      config: { backend: 'command', cwd: join(home, 'marker'), command: process.execPath, args: ['agent.mjs'] },
    });
    await hub.modules.register({
      name: 'arangodb',
      config: { backend: 'claude-code', cwd: home, model: TEST_MODEL, env: claudeEnv(api.url) },
    });
    await hub.startWorker();
    await hub.startWorkflows();
    const before = api.requests.length;
    // First a misspelt key and no target: refused; then the requirements as they should be.
    const wrong = JSON.parse(REQUIREMENTS) as Record<string, unknown>;
    wrong.targte = wrong.target;
    delete wrong.target;
    api.script({ text: JSON.stringify(wrong) }, { text: `\`\`\`json\n${REQUIREMENTS}\n\`\`\`` });
    const out = join(home, 'out');
    const run = await hub.workflows.start(readFileSync(join(ROOT, 'examples/pdf-to-arangodb.yaml'), 'utf8'), {
      markerJson: join(ROOT, 'test/fixtures/pdf/marker-sample.json'),
      out,
    });
    let seen: WorkflowRun = run;
    await until(
      async () => {
        seen = await hub.workflows.get(run.id);
        return ['complete', 'failed', 'cancelled'].includes(seen.status);
      },
      120_000,
      () => `the run to end (${seen.steps.map((s) => `${s.stepId} ${s.status} ${s.error ?? ''}`).join(', ')})`,
    );
    expect(seen.status, seen.error ?? '').toBe('complete');
    const requirements = seen.steps.find((s) => s.stepId === 'requirements');
    const reply = await hub.messages.require(requirements?.messageId as string);
    expect(reply.validation?.rounds.map((r) => r.valid)).toEqual([false, true]);
    expect(reply.value).toEqual(JSON.parse(REQUIREMENTS));
    // The repair went to the same session, with the errors found: the misspelt key named.
    const second = JSON.stringify(api.requests[before + 1]?.body.messages);
    expect(second).toContain('targte');
    expect(second).toContain('does not satisfy');
    // What arangodb's agent asked for is what was written.
    for (const file of ['documents.jsonl', 'sections.jsonl', 'blocks.jsonl', 'has_section.jsonl', 'import.sh'])
      expect(existsSync(join(out, file)), file).toBe(true);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('The document meets every requirement.');
    expect(report).toContain('I reviewed the validation report');
  });
});
