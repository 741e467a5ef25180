// `claude-comms mcp` as an agent's Claude Code starts it: the built bin in a child process, driven by the MCP SDK's
// own stdio client — first through a service started with `serve` in a temporary data home (a module that
// answers at once, and interactive ones answered through the tools), then, in another data home where no
// service runs, on the database opened directly by each server. Stdout carries the protocol alone; the server
// ends when its client closes stdin.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, type Running, requireBuild, startCli } from '../support/cli.js';
import { until } from '../support/wait.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'claude-comms.js');

/** beta's agent: answers the question's `Q:word`. */
const AGENT = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => process.stdout.write('answer to ' + (/Q:(\\w+)/.exec(q)?.[1] ?? '?')));`;

const CONFIG = `modules:
  alpha:
    cwd: .
    backend: session
  beta:
    cwd: .
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers at once
  inboxer:
    cwd: .
    backend: session
`;

/** A data home with the modules above, and the environment of commands run in it. */
function dataHome(): { home: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'cc-mcp-stdio-'));
  writeFileSync(join(home, 'agent.mjs'), AGENT);
  writeFileSync(join(home, 'config.yaml'), CONFIG);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  for (const name of Object.keys(env)) if (name.startsWith('CLAUDE_COMMS_')) delete env[name];
  return { home, env: { ...env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' } };
}

/** A `claude-comms mcp` server with its client; what it says on stderr, and what the client could not read. */
interface Server {
  client: Client;
  stderr: () => string;
  /** Transport errors: a line on stdout that is not a protocol message would be one. */
  errors: Error[];
}

const servers: Client[] = [];

async function mcp(env: Record<string, string>, args: string[] = []): Promise<Server> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'mcp', ...args],
    env,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'mcp-stdio-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  servers.push(client);
  await client.listTools();
  return { client, stderr: () => stderr, errors };
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { signal?: AbortSignal } = {},
): Promise<CallToolResult & { text: string; data: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 60_000,
    ...options,
  })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  return { ...result, text, data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

/**
 * A session spoken by hand: initialize, then list_modules; checks that stdout held exactly the two answers; then
 * asks inboxer (who never answers) to wait ten minutes, closes stdin meanwhile, and answers the exit code.
 */
async function rawSession(env: Record<string, string>): Promise<number | null> {
  const child = spawn(process.execPath, [bin, 'mcp', '--as', 'alpha'], { env });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.resume();
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_modules', arguments: {} } });
  await until(() => stdout.split('\n').filter(Boolean).length >= 2, 15_000, 'two answers on stdout');
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines.map((l) => JSON.parse(l) as { jsonrpc: string; id: number })).toEqual([
    expect.objectContaining({
      jsonrpc: '2.0',
      id: 1,
      result: expect.objectContaining({ serverInfo: expect.anything() }),
    }),
    expect.objectContaining({
      jsonrpc: '2.0',
      id: 2,
      result: expect.objectContaining({ structuredContent: expect.anything() }),
    }),
  ]);
  send({
    jsonrpc: '2.0',
    id: 3,
    method: 'tools/call',
    params: { name: 'ask', arguments: { to: 'inboxer', question: 'never answered', waitSeconds: 600 } },
  });
  // Time for the ask to be made and its wait to begin (the exit must not wait on it).
  await new Promise((r) => setTimeout(r, 1000));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    return await exit;
  } finally {
    clearTimeout(timer);
  }
}

const served = dataHome();
let service: Running;
let url = '';

/** Open event streams of the service (a waiting tool follows one). */
async function openStreams(): Promise<number> {
  const health = (await (await fetch(`${url}/api/v1/health`)).json()) as { streams?: { clients: number } };
  return health.streams?.clients ?? -1;
}

beforeAll(async () => {
  requireBuild();
  service = startCli(served.env, ['serve', '--port', '0']);
  await service.until((s) => /serving at (http:\S+)/.test(s.stdout), 'the service to listen');
  url = /serving at (http:\S+)/.exec(service.stdout)?.[1] ?? '';
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((c) => c.close()));
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

describe('claude-comms mcp through the running service', () => {
  it('asks, reads the answer and the thread, and reports progress on the task of --task', async () => {
    const created = await fetch(`${url}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'index PDFs', module: 'alpha', criteria: ['all pages'] }),
    });
    const task = (await created.json()) as { id: string };
    const alpha = await mcp(served.env, ['--as', 'alpha', '--task', task.id]);
    expect(alpha.stderr()).toContain(`claude-comms: using the service at ${url}\n`);
    await until(() => alpha.stderr().includes('serving MCP on stdio as alpha'), 5000, 'the server to say who it is');

    const modules = await call(alpha.client, 'list_modules');
    expect((modules.data.modules as { name: string }[]).map((m) => m.name)).toEqual(['alpha', 'beta', 'inboxer']);
    const asked = await call(alpha.client, 'ask', { to: 'beta', question: 'What is Q:pages?' });
    expect(asked.data).toMatchObject({ to: 'beta', status: 'complete', final: true, content: 'answer to pages' });
    const again = await call(alpha.client, 'get_reply', { replyId: asked.data.replyId });
    expect(again.data).toMatchObject({ status: 'complete', content: 'answer to pages' });
    const thread = await call(alpha.client, 'get_thread', { threadId: asked.data.threadId });
    expect((thread.data.messages as { author: string }[]).map((m) => m.author)).toEqual(['alpha', 'beta']);

    const progress = await call(alpha.client, 'report_progress', { percent: 50, criterionVerified: 'all pages' });
    expect(progress.data).toMatchObject({
      id: task.id,
      progress: 50,
      criteria: [{ text: 'all pages', verified: true }],
    });

    const wrong = await call(alpha.client, 'ask', { to: 'beta', question: 42 });
    expect(wrong.isError).toBe(true);
    expect(wrong.text).toContain('Input validation error');
    const oversized = await call(alpha.client, 'ask', { to: 'beta', question: 'x'.repeat(1_000_001) });
    expect(oversized.isError).toBe(true);
    const unknown = await call(alpha.client, 'get_reply', { replyId: '01a25244-3d61-710e-a41b-d9e5a100ac6d' });
    expect(unknown.text).toContain('[not_found]');
    expect((await call(alpha.client, 'list_modules')).isError).toBeFalsy();
    expect(alpha.errors).toEqual([]);
  });

  it('answers an inbox as CLAUDE_COMMS_MODULE; a cancelled call stops waiting and closes its event stream', async () => {
    const alpha = await mcp({ ...served.env, CLAUDE_COMMS_MODULE: 'alpha' });
    const inboxer = await mcp({ ...served.env, CLAUDE_COMMS_MODULE: 'inboxer' });
    const asked = await call(alpha.client, 'ask', { to: 'inboxer', question: 'Which fields?', waitSeconds: 0 });
    expect(asked.data).toMatchObject({ status: 'pending', final: false });

    // A wait the caller cancels ends at once, and its feed with it.
    const before = await openStreams();
    const giveUp = new AbortController();
    const cancelled = call(
      alpha.client,
      'get_reply',
      { replyId: asked.data.replyId, waitSeconds: 600 },
      { signal: giveUp.signal },
    );
    cancelled.catch(() => undefined);
    await until(async () => (await openStreams()) === before + 1, 10_000, 'the wait to follow the event stream');
    giveUp.abort();
    await expect(cancelled).rejects.toThrow();
    await until(async () => (await openStreams()) === before, 10_000, 'the event stream to close');

    const inbox = await call(inboxer.client, 'inbox');
    expect(inbox.data.questions).toContainEqual(
      expect.objectContaining({ replyId: asked.data.replyId, from: 'alpha', question: 'Which fields?' }),
    );
    const waiting = call(alpha.client, 'get_reply', { replyId: asked.data.replyId, waitSeconds: 30 });
    const answered = await call(inboxer.client, 'answer', { replyId: asked.data.replyId, content: 'Titles.' });
    expect(answered.data).toEqual({ replyId: asked.data.replyId, status: 'complete' });
    expect((await waiting).data).toMatchObject({ status: 'complete', content: 'Titles.', to: 'inboxer' });
  });

  it('writes only protocol messages to stdout and ends, exit 0, when its client closes stdin, mid-wait', async () => {
    await expect(rawSession(served.env)).resolves.toBe(0);
  });
});

describe('claude-comms mcp with no service running', () => {
  it('opens the database directly, and a wait sees an answer given by another process', async () => {
    const direct = dataHome();
    const alpha = await mcp(direct.env, ['--as', 'alpha']);
    const inboxer = await mcp(direct.env, ['--as', 'inboxer']);
    expect(alpha.stderr()).toContain(
      `claude-comms: no service running; using the database ${join(direct.home, 'comms.db')} directly\n`,
    );
    // With no worker, nothing answers beta: the reply is handed back unfinished.
    const unanswered = await call(alpha.client, 'ask', { to: 'beta', question: 'Q:later', waitSeconds: 1 });
    expect(unanswered.data).toMatchObject({ status: 'pending', final: false, waited: true });

    const asked = await call(alpha.client, 'ask', { to: 'inboxer', question: 'Which fields?', waitSeconds: 0 });
    const waiting = call(alpha.client, 'get_reply', { replyId: asked.data.replyId, waitSeconds: 30 });
    const [question] = (await call(inboxer.client, 'inbox')).data.questions as { replyId: string }[];
    expect(question?.replyId).toBe(asked.data.replyId);
    await call(inboxer.client, 'answer', { replyId: asked.data.replyId, content: 'Titles.' });
    expect((await waiting).data).toMatchObject({ status: 'complete', content: 'Titles.', final: true });
    expect([...alpha.errors, ...inboxer.errors]).toEqual([]);
  });

  it('ends, exit 0, when its client closes stdin mid-wait, with its database open', async () => {
    await expect(rawSession(dataHome().env)).resolves.toBe(0);
  });
});
