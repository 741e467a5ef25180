// The hub's MCP tools in the hands of the real `claude` binary, against the local Messages API stand-in (which asks
// for each tool call by name; the binary runs it through the MCP server as it would for a model):
// - an agent the worker starts is given the tools as its module, on its task: `report_progress` moves its task,
//   `ask` puts a question to another module and returns its answer, and an ask back to its own asker (A → B → A)
//   comes back as a tool error instead of a deadlock;
// - an interactive module (backend: session): a Claude Code session with the MCP server added as that module reads
//   its inbox and answers the question with `answer`, completing the reply the asker waits on.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundledExecutable } from '../../src/agents/claude-code-backend.js';
import { BACKENDS, hubFactory } from '../support/backends.js';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';
import { commandModule } from '../support/modules.js';
import { until } from '../support/wait.js';

const BIN = fileURLToPath(new URL('../../bin/claude-comms.js', import.meta.url));
const TOOL = (name: string) => `mcp__claude-comms__${name}`;

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

/** The tool results the binary sent back to the model in request `i` (each block as JSON). */
function toolResults(i: number): string {
  const blocks = (api.requests[i]?.body.messages ?? []).flatMap((m) =>
    Array.isArray(m.content) ? (m.content as { type?: string }[]).filter((b) => b.type === 'tool_result') : [],
  );
  return JSON.stringify(blocks);
}

describe.each(BACKENDS)('MCP tools with the claude binary on $name', (backend) => {
  const hubs = hubFactory(backend);
  afterEach(() => hubs.closeAll());
  if (!backend.available) return;

  it("gives a worker's agent the tools: progress on its task, an ask to another module, a loop refused", async () => {
    api.reset();
    const hub = await hubs.open();
    await commandModule(
      hub,
      'pdfinfo',
      `let q = ''; process.stdin.on('data', (d) => (q += d)).on('end', () => process.stdout.write('It has 12 pages.'));`,
    );
    await hub.modules.register({
      name: 'arangodb',
      description: 'graph database layer',
      config: {
        backend: 'claude-code',
        cwd: mkdtempSync(join(tmpdir(), 'cc-arangodb-')),
        model: TEST_MODEL,
        env: claudeEnv(api.url),
      },
    });
    await hub.modules.register({ name: 'marker', config: { backend: 'session', cwd: tmpdir() } });
    api.script(
      { toolUse: { name: TOOL('report_progress'), input: { percent: 40, note: 'reading the PDF structure' } } },
      { toolUse: { name: TOOL('ask'), input: { to: 'pdfinfo', question: 'How many pages?', waitSeconds: 60 } } },
      { toolUse: { name: TOOL('ask'), input: { to: 'marker', question: 'Which PDF did you mean?' } } },
      { text: 'It has 12 pages; I need titles and sections.' },
    );
    const before = api.requests.length;
    await hub.startWorker({ modules: ['arangodb', 'pdfinfo'] });
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'What structure do you need?' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 120_000 });
    expect(done.status, done.message.error ?? '').toBe('complete');
    expect(done.message.content).toBe('It has 12 pages; I need titles and sections.');

    // report_progress moved the agent's own task.
    const updates = await hub.events.list({ taskId: asked.taskId, types: ['task.progressed'] });
    expect(updates.events.map((e) => (e.data as { progress?: number }).progress)).toContain(40);
    const log = await hub.events.list({ taskId: asked.taskId, types: ['task.logged'] });
    expect(JSON.stringify(log.events)).toContain('reading the PDF structure');
    expect(toolResults(before + 1)).toContain('40');

    // ask reached pdfinfo as arangodb, and its answer came back as the tool's result.
    const asks = (await hub.tasks.list({ module: 'pdfinfo' })).filter((t) => t.kind === 'ask');
    expect(asks).toHaveLength(1);
    expect(asks[0]?.name).toContain('pdfinfo answers arangodb');
    expect(toolResults(before + 2)).toContain('It has 12 pages.');

    // Asking marker — who is waiting for this very answer — was refused, as a tool error the model read.
    const refusal = toolResults(before + 3);
    expect(refusal).toContain('would wait on its own asker (marker → arangodb → marker)');
    expect(await hub.inbox('marker')).toEqual([]);
  });

  it('lets an interactive session read its inbox and answer', async () => {
    api.reset();
    const url = await backend.freshDatabase();
    const hub = await hubs.open({ database: url });
    await hub.modules.register({ name: 'reviewer', config: { backend: 'session', cwd: tmpdir() } });
    const asked = await hub.ask({ from: 'marker', to: 'reviewer', prompt: 'Is chapter 2 a section or a part?' });
    api.script(
      { toolUse: { name: TOOL('inbox'), input: {} } },
      { toolUse: { name: TOOL('answer'), input: { replyId: asked.messageId, content: 'A section, under part I.' } } },
      { text: 'Answered.' },
    );
    const before = api.requests.length;
    const dir = mkdtempSync(join(tmpdir(), 'cc-session-'));
    const config = join(dir, 'mcp.json');
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          'claude-comms': {
            command: process.execPath,
            args: [BIN, 'mcp', '--as', 'reviewer'],
            env: { CLAUDE_COMMS_DATABASE: url, CLAUDE_COMMS_HOME: dir },
          },
        },
      }),
    );
    const executable = bundledExecutable();
    if (!executable) throw new Error('the claude binary is not installed');
    const child = spawn(
      executable,
      ['-p', 'Check your inbox.', '--output-format', 'stream-json', '--verbose', '--model', TEST_MODEL].concat([
        '--mcp-config',
        config,
        '--allowedTools',
        'mcp__claude-comms',
      ]),
      { cwd: dir, env: claudeEnv(api.url), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out.slice(-2000)).toBe(0);
    expect(toolResults(before + 1)).toContain('Is chapter 2 a section or a part?');
    await until(async () => (await hub.messages.require(asked.messageId)).status === 'complete', 10_000, 'the answer');
    expect(await hub.messages.require(asked.messageId)).toMatchObject({ content: 'A section, under part I.' });
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ status: 'complete' });
  });
});
