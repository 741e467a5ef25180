// The service's MCP endpoint (/mcp, Streamable HTTP, stateless) driven by the MCP SDK's own client against a real
// service whose modules are small node programs (`beta`, which answers at once, slowly, as JSON or by failing)
// and interactive ones answered through the tools (`alpha`, `inboxer`). Every tool is called; bad input comes
// back as tool errors naming what was wrong, and the server answers on; the endpoint passes the API's checks
// (Origin, Host on loopback, body size, tokens), and a module-scoped token acts as its module and sees only
// what the API shows it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { memoryLogger } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

/** beta's agent: answers the question's `Q:word`; SLOW waits 3 s first, FAIL fails, JSON answers JSON. */
const AGENT = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  if (q.includes('SLOW')) await new Promise((r) => setTimeout(r, 3000));
  if (q.includes('FAIL')) { process.stderr.write('told to fail'); process.exit(3); }
  process.stdout.write(q.includes('JSON') ? JSON.stringify({ answer: 42 }) : 'answer to ' + (/Q:(\\w+)/.exec(q)?.[1] ?? '?'));
});`;

const CONFIG = `modules:
  alpha:
    cwd: .
    backend: session
    description: asks the others
  beta:
    cwd: .
    backend: command
    command: ${JSON.stringify(process.execPath)}
    args: [agent.mjs]
    description: answers at once
    capabilities: [echo]
    concurrency: 4
  inboxer:
    cwd: .
    backend: session
    description: answered by its session
`;

const clients: Client[] = [];
const log = memoryLogger();
let service: Service;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-mcp-http-'));
  writeFileSync(join(dir, 'agent.mjs'), AGENT);
  writeFileSync(join(dir, 'config.yaml'), CONFIG);
  service = await startBareService(`sqlite:${join(dir, 'comms.db')}`, {
    config: join(dir, 'config.yaml'),
    logger: log.logger,
  });
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await service.close();
});

/** An MCP client of the service's endpoint, acting as `as` (?as=) and sending `headers`. */
async function connect(options: { as?: string; headers?: Record<string, string> } = {}): Promise<Client> {
  const url = new URL(`${service.url}/mcp`);
  if (options.as) url.searchParams.set('as', options.as);
  const client = new Client({ name: 'mcp-http-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: options.headers ?? {} } }));
  clients.push(client);
  // Listing the tools makes the client check every result against the tool's output schema.
  await client.listTools();
  return client;
}

/** Calls a tool; the result, with its text joined. */
async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult & { text: string; data: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  return { ...result, text, data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

/** A request with exactly these headers (fetch would set Host and others itself). */
function send(
  path: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(
      `${service.url}${path}`,
      { method, headers: { ...headers, ...length }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Open event streams of the service (a waiting tool follows one). */
/** The hub subscriptions open in the service: a waiting tool follows its reply with one. */
function subscriptions(): number {
  return service.hub.events.subscriberCount();
}

async function openStreams(): Promise<number> {
  const health = (await (await fetch(`${service.url}/api/v1/health`)).json()) as { streams?: { clients: number } };
  return health.streams?.clients ?? -1;
}

describe('the MCP endpoint', () => {
  it('lists every tool with input and output schemas, and the modules one can ask', async () => {
    const client = await connect({ as: 'alpha' });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([
      'list_modules',
      'ask',
      'get_reply',
      'get_thread',
      'report_progress',
      'inbox',
      'answer',
    ]);
    for (const t of tools) {
      expect(t.description?.length).toBeGreaterThan(20);
      expect(t.outputSchema?.type).toBe('object');
    }
    expect(tools.find((t) => t.name === 'ask')?.inputSchema.properties?.question).toMatchObject({
      maxLength: 1_000_000,
    });

    const listed = await call(client, 'list_modules');
    expect(listed.isError).toBeFalsy();
    expect(listed.data.modules).toEqual([
      {
        name: 'alpha',
        description: 'asks the others',
        capabilities: [],
        health: 'healthy',
        paused: false,
        interactive: true,
      },
      {
        name: 'beta',
        description: 'answers at once',
        capabilities: ['echo'],
        health: 'healthy',
        paused: false,
        interactive: false,
      },
      {
        name: 'inboxer',
        description: 'answered by its session',
        capabilities: [],
        health: 'healthy',
        paused: false,
        interactive: true,
      },
    ]);
    expect(listed.text).toContain('- beta: answers at once [echo]');
    const echo = await call(client, 'list_modules', { capability: 'echo' });
    expect((echo.data.modules as { name: string }[]).map((m) => m.name)).toEqual(['beta']);
  });

  it('asks and hands back the answer once it is stored; get_thread reads the conversation, cut to maxChars', async () => {
    const client = await connect({ as: 'alpha' });
    const asked = await call(client, 'ask', { to: 'beta', question: 'What is Q:pages?' });
    expect(asked.isError).toBeFalsy();
    expect(asked.data).toMatchObject({
      to: 'beta',
      status: 'complete',
      final: true,
      waited: false,
      content: 'answer to pages',
    });
    expect(asked.text).toContain('answer to pages');
    const question = await service.hub.messages.list({ threadId: asked.data.threadId as string });
    expect(question[0]).toMatchObject({ author: 'alpha', role: 'user', content: 'What is Q:pages?' });

    // A follow-up in the same thread, then the thread as a whole.
    const again = await call(client, 'ask', {
      to: 'beta',
      question: 'And Q:tables?',
      threadId: asked.data.threadId,
    });
    expect(again.data).toMatchObject({ threadId: asked.data.threadId, content: 'answer to tables' });
    const thread = await call(client, 'get_thread', { threadId: asked.data.threadId, maxChars: 7 });
    expect(thread.isError).toBeFalsy();
    expect(thread.data.threadId).toBe(asked.data.threadId);
    expect(thread.data.messages).toEqual([
      {
        id: expect.any(String),
        author: 'alpha',
        role: 'user',
        status: 'complete',
        content: 'What is',
        truncated: true,
      },
      {
        id: asked.data.replyId,
        author: 'beta',
        role: 'assistant',
        status: 'complete',
        content: 'answer ',
        truncated: true,
      },
      {
        id: expect.any(String),
        author: 'alpha',
        role: 'user',
        status: 'complete',
        content: 'And Q:t',
        truncated: true,
      },
      {
        id: again.data.replyId,
        author: 'beta',
        role: 'assistant',
        status: 'complete',
        content: 'answer ',
        truncated: true,
      },
    ]);
    const whole = await call(client, 'get_thread', { threadId: asked.data.threadId });
    expect((whole.data.messages as { content: string; truncated?: boolean }[])[3]).toEqual(
      expect.objectContaining({ content: 'answer to tables' }),
    );
    expect((whole.data.messages as { truncated?: boolean }[]).some((m) => m.truncated)).toBe(false);
  });

  it('asks by capability, with a schema (the answer parsed as value), and reports a failed answer', async () => {
    const client = await connect({ as: 'alpha' });
    const routed = await call(client, 'ask', { capability: 'echo', question: 'Q:routed' });
    expect(routed.data).toMatchObject({ to: 'beta', status: 'complete', content: 'answer to routed' });

    const schema = { type: 'object', required: ['answer'], properties: { answer: { type: 'number' } } };
    const structured = await call(client, 'ask', { to: 'beta', question: 'Answer as JSON.', schema });
    expect(structured.data).toMatchObject({ status: 'complete', value: { answer: 42 } });
    expect(structured.text).toContain('"answer": 42');

    const failed = await call(client, 'ask', { to: 'beta', question: 'FAIL please' });
    expect(failed.isError).toBeFalsy();
    expect(failed.data).toMatchObject({ status: 'failed', final: true });
    expect(failed.data.error).toEqual(expect.stringContaining('told to fail'));
  });

  it('hands back an unfinished reply when the wait runs out; get_reply waits on, following the reply', async () => {
    const client = await connect({ as: 'alpha' });
    const asked = await call(client, 'ask', { to: 'beta', question: 'SLOW Q:slowly', waitSeconds: 1 });
    expect(asked.isError).toBeFalsy();
    expect(asked.data).toMatchObject({ final: false, waited: true });
    expect(['pending', 'processing']).toContain(asked.data.status);
    expect(asked.text).toContain('call get_reply');

    const now = await call(client, 'get_reply', { replyId: asked.data.replyId });
    expect(now.data).toMatchObject({ final: false, waited: false });

    const [streams, before] = [await openStreams(), subscriptions()];
    const waiting = call(client, 'get_reply', { replyId: asked.data.replyId, waitSeconds: 30 });
    await until(async () => subscriptions() === before + 1, 10_000, 'the wait to follow the reply');
    // It follows the hub in the service's own process: none of the live streams all clients share is taken.
    expect(await openStreams()).toBe(streams);
    const done = await waiting;
    expect(done.data).toMatchObject({ replyId: asked.data.replyId, status: 'complete', final: true, waited: false });
    expect(done.data.content).toBe('answer to slowly');
    // The subscription is closed once the answer is handed back.
    await until(async () => subscriptions() === before, 10_000, 'the subscription to close');
  });

  it('sends progress while it waits, so a client that resets its timeout on progress waits on', async () => {
    const client = await connect({ as: 'alpha' });
    const notices: { progress: number; total?: number }[] = [];
    const result = (await client.callTool(
      { name: 'ask', arguments: { to: 'inboxer', question: 'slow to answer', waitSeconds: 12 } },
      undefined,
      // Longer than the timeout: only the progress sent every 5 s keeps the client waiting.
      { onprogress: (p) => notices.push(p), timeout: 7000, resetTimeoutOnProgress: true },
    )) as CallToolResult;
    expect(result.structuredContent).toMatchObject({ final: false, waited: true });
    expect(notices.slice(0, 2)).toEqual([
      expect.objectContaining({ progress: 5, total: 12 }),
      expect.objectContaining({ progress: 10, total: 12 }),
    ]);
  });

  it('stops waiting, and closes what it follows, when the caller hangs up', async () => {
    const client = await connect({ as: 'alpha' });
    const asked = await call(client, 'ask', { to: 'inboxer', question: 'never answered', waitSeconds: 0 });
    const before = subscriptions();
    // A stateless endpoint cannot match a cancellation (a POST of its own) to the call it cancels: the call's
    // connection closing is what stops it.
    const waiting = client.callTool(
      { name: 'get_reply', arguments: { replyId: asked.data.replyId, waitSeconds: 600 } },
      undefined,
      { timeout: 700_000 },
    );
    waiting.catch(() => undefined);
    await until(async () => subscriptions() === before + 1, 10_000, 'the wait to follow the reply');
    await client.close();
    await until(async () => subscriptions() === before, 10_000, 'the subscription to close');
    expect((await call(await connect({ as: 'alpha' }), 'list_modules')).isError).toBeFalsy();
  });

  it('keeps questions for an interactive module in its inbox until answered through the tools', async () => {
    const alpha = await connect({ as: 'alpha' });
    const inboxer = await connect({ as: 'inboxer' });
    const asked = await call(alpha, 'ask', { to: 'inboxer', question: 'Which fields?', waitSeconds: 0 });
    expect(asked.data).toMatchObject({ status: 'pending', final: false, waited: false });

    const inbox = await call(inboxer, 'inbox');
    expect(inbox.isError).toBeFalsy();
    expect(inbox.data.module).toBe('inboxer');
    const waitingFor = (data: Record<string, unknown>) =>
      (data.questions as { replyId: string }[]).filter((q) => q.replyId === asked.data.replyId);
    expect(waitingFor(inbox.data)).toEqual([
      expect.objectContaining({ from: 'alpha', question: 'Which fields?', status: 'pending', content: '' }),
    ]);
    expect(inbox.text).toContain('Which fields?');

    // alpha may not answer inboxer's question, whatever it was told the id is.
    const forged = await call(alpha, 'answer', { replyId: asked.data.replyId, content: 'forged' });
    expect(forged.isError).toBe(true);
    expect(forged.text).toContain('no question with reply id');
    expect(forged.text).toContain('[not_found]');
    const part = await call(inboxer, 'answer', { replyId: asked.data.replyId, content: 'Titles, ', final: false });
    expect(part.data).toEqual({ replyId: asked.data.replyId, status: 'processing' });
    const waiting = call(alpha, 'get_reply', { replyId: asked.data.replyId, waitSeconds: 30 });
    const done = await call(inboxer, 'answer', { replyId: asked.data.replyId, content: 'sections.' });
    expect(done.data).toEqual({ replyId: asked.data.replyId, status: 'complete' });
    expect((await waiting).data).toMatchObject({ status: 'complete', content: 'Titles, sections.', to: 'inboxer' });
    expect(waitingFor((await call(inboxer, 'inbox')).data)).toEqual([]);

    const late = await call(inboxer, 'answer', { replyId: asked.data.replyId, content: 'more' });
    expect(late.isError).toBe(true);
    expect(late.text).toContain('[conflict]');
  });

  it('refuses an ask that would wait on its own asker (via the reply being answered)', async () => {
    const alpha = await connect({ as: 'alpha' });
    const asked = await call(alpha, 'ask', { to: 'inboxer', question: 'Q:loop', waitSeconds: 0 });
    // inboxer, answering that reply, asks alpha back: alpha waits on inboxer, so this would wait on itself.
    const inboxer = await connect({ as: 'inboxer', headers: { 'x-claude-comms-reply': asked.data.replyId as string } });
    const back = await call(inboxer, 'ask', { to: 'alpha', question: 'what do you mean?', waitSeconds: 0 });
    expect(back.isError).toBe(true);
    expect(back.text).toContain('[conflict]');
    // Asking a third module from inside the answer is fine.
    const onward = await call(inboxer, 'ask', { to: 'beta', question: 'Q:onward' });
    expect(onward.data).toMatchObject({ status: 'complete', content: 'answer to onward' });
  });

  it('reports progress on the task it was started for, or one it names', async () => {
    const task = await service.hub.tasks.create({
      name: 'index PDFs',
      module: 'alpha',
      criteria: ['all pages', 'tables kept'],
    });
    const client = await connect({ as: 'alpha', headers: { 'x-claude-comms-task': task.id } });
    const reported = await call(client, 'report_progress', {
      percent: 40,
      iteration: 2,
      criterionVerified: 1,
      note: 'first half done',
      action: 'split the PDF',
    });
    expect(reported.isError).toBeFalsy();
    expect(reported.data).toEqual({
      id: task.id,
      status: 'pending',
      progress: 40,
      iteration: 2,
      criteria: [
        { text: 'all pages', verified: false },
        { text: 'tables kept', verified: true },
      ],
    });
    expect(reported.text).toContain('40% done');
    const logged = await service.hub.events.list({ taskId: task.id, types: ['task.logged'] });
    expect(logged.events.map((e) => e.data)).toEqual([
      expect.objectContaining({ text: 'first half done' }),
      expect.objectContaining({ text: 'split the PDF', action: 'report_progress' }),
    ]);

    const byText = await call(client, 'report_progress', { taskId: task.id, criterionVerified: 'all pages' });
    expect((byText.data.criteria as { verified: boolean }[]).every((c) => c.verified)).toBe(true);

    const nameless = await call(await connect({ as: 'alpha' }), 'report_progress', { percent: 10 });
    expect(nameless.isError).toBe(true);
    expect(nameless.text).toContain('X-Claude-Comms-Task');
  });

  it('answers bad input with tool errors naming what was wrong, and goes on answering', async () => {
    const client = await connect({ as: 'alpha' });
    const wrongType = await call(client, 'ask', { to: 'beta', question: 42 });
    expect(wrongType.isError).toBe(true);
    expect(wrongType.text).toMatch(/Input validation error.*question/);
    const unknownKey = await call(client, 'get_reply', { replyId: 'x', wait: 5 });
    expect(unknownKey.isError).toBe(true);
    const both = await call(client, 'ask', { to: 'beta', capability: 'echo', question: 'which?' });
    expect(both.isError).toBe(true);
    expect(both.text).toContain('[validation]');
    const unknownModule = await call(client, 'ask', { to: 'nobody', question: 'hello?' });
    expect(unknownModule.isError).toBe(true);
    expect(unknownModule.text).toMatch(/nobody.*\[(not_found|validation)\]/);
    const oversized = await call(client, 'ask', { to: 'beta', question: 'x'.repeat(1_000_001) });
    expect(oversized.isError).toBe(true);
    expect(oversized.text).toMatch(/question/);
    const unknownReply = await call(client, 'get_reply', { replyId: '01a25244-3d61-710e-a41b-d9e5a100ac6d' });
    expect(unknownReply.isError).toBe(true);
    expect(unknownReply.text).toContain('[not_found]');
    const noSuchTool = await call(client, 'delete_everything');
    expect(noSuchTool.isError).toBe(true);
    // The same client, and the server, go on.
    expect((await call(client, 'list_modules')).isError).toBeFalsy();
  });

  it('needs to know which module it acts as to ask or read an inbox, and says how to tell it', async () => {
    const nobody = await connect();
    for (const [tool, args] of [
      ['ask', { to: 'beta', question: 'hi' }],
      ['inbox', {}],
    ] as const) {
      const refused = await call(nobody, tool, args);
      expect(refused.isError).toBe(true);
      expect(refused.text).toContain('?as=MODULE');
    }
    expect((await call(nobody, 'list_modules')).isError).toBeFalsy();
    const byHeader = await connect({ headers: { 'x-claude-comms-module': 'alpha' } });
    expect((await call(byHeader, 'ask', { to: 'beta', question: 'Q:header' })).data).toMatchObject({
      content: 'answer to header',
    });
  });

  it('passes the API’s checks: Origin, Host on loopback, body size; GET and DELETE are 405', async () => {
    const ok = await send('/mcp', 'POST', MCP_HEADERS, INITIALIZE);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('"serverInfo"');

    const foreign = await send('/mcp', 'POST', { ...MCP_HEADERS, origin: 'http://evil.example' }, INITIALIZE);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'forbidden' });
    const crossSite = await send('/mcp', 'POST', { ...MCP_HEADERS, 'sec-fetch-site': 'cross-site' }, INITIALIZE);
    expect(crossSite.status).toBe(403);
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends its own Host.
    const rebound = await send('/mcp', 'POST', { ...MCP_HEADERS, host: 'evil.example' }, INITIALIZE);
    expect(rebound.status).toBe(403);
    // Text the database would store differently is refused as the API refuses it: a lone surrogate, escaped.
    const surrogate = await send('/mcp', 'POST', MCP_HEADERS, INITIALIZE.replace('"2.0"', '"2.0","x":"\\ud800"'));
    expect(surrogate.status).toBe(400);
    const garbled = await send('/mcp', 'POST', MCP_HEADERS, '{"jsonrpc": nope');
    expect(JSON.parse(garbled.body)).toMatchObject({ error: { code: -32700 } });
    expect(JSON.parse(rebound.body)).toMatchObject({ code: 'forbidden' });
    expect(JSON.parse(rebound.body).detail).toContain('evil.example');

    const huge = await send('/mcp', 'POST', MCP_HEADERS, JSON.stringify({ padding: 'x'.repeat(1_100_000) }));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body)).toMatchObject({ code: 'too_large' });

    for (const method of ['GET', 'DELETE']) {
      const refused = await send('/mcp', method, { accept: 'text/event-stream' });
      expect(refused.status).toBe(405);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(refused.body)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    }
  });
});

describe('the MCP endpoint with no event stream to spare', () => {
  it('reads the reply while it waits instead, and still hands back the answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-mcp-http-'));
    writeFileSync(join(dir, 'agent.mjs'), AGENT);
    writeFileSync(join(dir, 'config.yaml'), CONFIG);
    const full = await startBareService(`sqlite:${join(dir, 'comms.db')}`, {
      config: join(dir, 'config.yaml'),
      streamLimits: { clients: 0 },
    });
    try {
      const url = new URL(`${full.url}/mcp?as=alpha`);
      const client = new Client({ name: 'mcp-http-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(url));
      clients.push(client);
      const result = (await client.callTool({
        name: 'ask',
        arguments: { to: 'beta', question: 'SLOW Q:polled', waitSeconds: 30 },
      })) as CallToolResult;
      expect(result.structuredContent).toMatchObject({ status: 'complete', final: true, content: 'answer to polled' });
    } finally {
      await full.close();
    }
  });
});

describe('the MCP endpoint with a module-scoped token', () => {
  it('acts as the token’s module, refuses another, and shows only what the API shows the token', async () => {
    const { token } = await service.hub.tokens.create({ module: 'alpha' });
    const bearer = { authorization: `Bearer ${token}` };
    const hidden = await service.hub.ask({ from: 'beta', to: 'inboxer', prompt: 'between beta and inboxer' });

    const asOther = await send('/mcp?as=beta', 'POST', { ...MCP_HEADERS, ...bearer }, INITIALIZE);
    expect(asOther.status).toBe(403);
    expect(JSON.parse(asOther.body)).toMatchObject({ code: 'forbidden' });
    expect(JSON.parse(asOther.body).detail).toContain('only as module alpha');
    const byHeader = await send(
      '/mcp',
      'POST',
      { ...MCP_HEADERS, ...bearer, 'x-claude-comms-module': 'beta' },
      INITIALIZE,
    );
    expect(byHeader.status).toBe(403);
    const badToken = await send('/mcp', 'POST', { ...MCP_HEADERS, authorization: 'Bearer nope' }, INITIALIZE);
    expect(badToken.status).toBe(401);

    const client = await connect({ headers: bearer });
    expect(((await call(client, 'list_modules')).data.modules as unknown[]).length).toBe(3);
    const asked = await call(client, 'ask', { to: 'beta', question: 'Q:scoped' });
    expect(asked.data).toMatchObject({ status: 'complete', content: 'answer to scoped' });
    const question = await service.hub.messages.list({ threadId: asked.data.threadId as string });
    expect(question[0]?.author).toBe('alpha');
    expect((await call(client, 'get_thread', { threadId: asked.data.threadId })).isError).toBeFalsy();

    const other = await call(client, 'get_thread', { threadId: hidden.threadId });
    expect(other.isError).toBe(true);
    expect(other.text).toContain('[not_found]');
    const otherReply = await call(client, 'get_reply', { replyId: hidden.messageId });
    expect(otherReply.isError).toBe(true);
    expect(otherReply.text).toContain('[not_found]');
    // The inbox read is alpha's own; inboxer's reply is not alpha's to answer.
    expect((await call(client, 'inbox')).data.module).toBe('alpha');
    const answer = await call(client, 'answer', { replyId: hidden.messageId, content: 'not mine' });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/\[(not_found|forbidden)\]/);
    expect((await service.hub.messages.require(hidden.messageId)).status).toBe('pending');
  });

  it('served every call without an unexpected error in the service log', () => {
    expect(log.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
