// The real `claude` binary, driven through the Agent SDK, against the local Messages API stand-in: the harness
// the claude-code backend's tests stand on. Proves the stand-in speaks the streaming format the binary expects.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeEnv, TEST_MODEL } from '../support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../support/messages-api.js';

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());

async function run(prompt: string, options: Parameters<typeof query>[0]['options'] = {}): Promise<SDKMessage[]> {
  const out: SDKMessage[] = [];
  const q = query({
    prompt,
    options: { env: claudeEnv(api.url), model: TEST_MODEL, maxTurns: 4, includePartialMessages: true, ...options },
  });
  for await (const m of q) out.push(m);
  return out;
}

function result(messages: SDKMessage[]) {
  const r = messages.find((m) => m.type === 'result');
  if (r?.type !== 'result') throw new Error('no result line');
  return r;
}

describe('the claude binary against the local Messages API', () => {
  it('streams a plain answer as text deltas and reports success', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cc-repo-'));
    api.script({ text: 'Sections with page spans.', chunks: 4 });
    const messages = await run('What PDF structure do you need?', { cwd });
    const deltas = messages.flatMap((m) =>
      m.type === 'stream_event' && m.event.type === 'content_block_delta' && m.event.delta.type === 'text_delta'
        ? [m.event.delta.text]
        : [],
    );
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Sections with page spans.');
    const r = result(messages);
    expect(r).toMatchObject({ subtype: 'success', is_error: false, result: 'Sections with page spans.' });
    const request = api.requests.at(-1)?.body;
    expect(JSON.stringify(request?.messages)).toContain('What PDF structure do you need?');
  });

  it('runs a Write tool use in the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cc-repo-'));
    const file = join(cwd, 'schema.json');
    api.script(
      { toolUse: { name: 'Write', input: { file_path: file, content: '{"sections":[]}' } } },
      { text: 'Wrote it.' },
    );
    const r = result(await run('Write the schema', { cwd, permissionMode: 'acceptEdits' }));
    expect(r).toMatchObject({ subtype: 'success', result: 'Wrote it.', num_turns: 2 });
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('{"sections":[]}');
  });

  it('resumes a session: the next request carries the first exchange', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cc-repo-'));
    const env = claudeEnv(api.url);
    api.script({ text: 'Use page spans.' });
    const first = result(await run('Which structure?', { cwd, env }));
    api.script({ text: 'Yes, nested.' });
    const before = api.requests.length;
    const second = result(await run('Nested sections too?', { cwd, env, resume: first.session_id }));
    expect(second).toMatchObject({ subtype: 'success', result: 'Yes, nested.' });
    const sent = JSON.stringify(api.requests[before]?.body.messages);
    for (const part of ['Which structure?', 'Use page spans.', 'Nested sections too?']) expect(sent).toContain(part);
    // The CLI's total is cumulative across resumed runs: the second total exceeds the first.
    expect(second.total_cost_usd).toBeGreaterThan(first.total_cost_usd);
  });

  it('reports an API error as a "success" result with is_error, then the iterator throws', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cc-repo-'));
    api.script({ error: { status: 500, message: 'scripted outage' } });
    const messages: SDKMessage[] = [];
    const thrown = await (async () => {
      for await (const m of query({
        prompt: 'Fail please',
        options: { cwd, env: claudeEnv(api.url), model: TEST_MODEL },
      })) {
        messages.push(m);
      }
    })().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(result(messages)).toMatchObject({ subtype: 'success', is_error: true });
    expect(thrown?.message).toContain('scripted outage');
  });
});
