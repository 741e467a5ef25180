import { existsSync, mkdtempSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN, commandEnv, startCliService, warnIfStale } from './cli-service.js';
import { noModulesConfig } from './service.js';
import {
  type Backend,
  type Cell,
  isMain,
  ms,
  now,
  postAsk,
  ROOT,
  type Stats,
  scratch,
  spread,
  startChild,
  stats,
  tell,
} from './support.js';

const WARMUP = 30;
const TIMED = 300;
const TARGET_MS = 20;
const MODULE = 'sink';
const ASKER = 'bench';
/** How long the service may take to say it listens, and the measuring child to finish. */
const MEASURE_MS = 180_000;

type Way = 'stdio' | 'http' | 'post';
const WAYS: readonly Way[] = ['stdio', 'http', 'post'];

export async function mcpAsk(backend: Backend): Promise<Cell[]> {
  if (!existsSync(join(ROOT, 'dist/cli/mcp-command.js')))
    throw new Error('row 15 starts the built claude-comms (bin/claude-comms.js runs dist/): run npm run build first');
  warnIfStale('15');
  const database = await backend.fresh();
  // The module is registered by the same built code the service runs, so the database has the schema it expects
  // even while src/ is ahead of dist/ (a new migration not built yet).
  const built: typeof import('../src/index.js') = await import(pathToFileURL(join(ROOT, 'dist/index.js')).href);
  const { openHub } = built;
  const hub = await openHub({ database, config: false, retentionDays: 0 });
  try {
    await hub.modules.register({ name: MODULE, description: 'asked, never answers', config: {} });
  } finally {
    await hub.close();
  }
  const home = mkdtempSync(join(scratch(), 'mcp-home-'));
  const service = await startCliService(home, database, ['--config', noModulesConfig()]);
  let report: Record<string, unknown>;
  try {
    const child = startChild(fileURLToPath(import.meta.url), ['measure', service.url, home, BIN], MEASURE_MS);
    report = await child.message('samples');
    await child.exited;
  } finally {
    await service.stop();
  }
  const samples = report.samples as Record<Way, number[]>;
  const failed = report.failed as Record<Way, number>;
  const s = Object.fromEntries(WAYS.map((w) => [w, stats(samples[w])])) as Record<Way, Stats>;
  const baseline = `POST /ask alone: ${ms(s.post.p50)} / ${ms(s.post.p99)} ms${failed.post ? `, ${failed.post} failed!` : ''}`;
  const cell = (way: 'stdio' | 'http', row: string): Cell => ({
    row,
    target: `p99 ≤ ${TARGET_MS} ms`,
    value: `${spread(s[way])} (${baseline})${failed[way] ? ` (${failed[way]} failed!)` : ''}`,
    ok: s[way].p99 <= TARGET_MS && !failed[way] && !failed.post,
  });
  return [
    cell('stdio', '15a MCP tool ask (waitSeconds 0), claude-comms mcp on stdio → service: call→result p50 / p99 / max'),
    cell('http', "15b MCP tool ask (waitSeconds 0), the service's /mcp (Streamable HTTP): call→result p50 / p99 / max"),
  ];
}

/** The measuring child: the three ways of asking, taking turns, each call awaited before the next. */
async function measure(url: string, home: string, bin: string): Promise<void> {
  const stdioTransport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'mcp', '--as', ASKER],
    env: commandEnv(home),
    stderr: 'pipe',
  });
  let said = '';
  stdioTransport.stderr?.on('data', (d: Buffer) => {
    said += d.toString();
  });
  const stdio = new Client({ name: 'bench-stdio', version: '1.0.0' });
  await stdio.connect(stdioTransport);
  const http = new Client({ name: 'bench-http', version: '1.0.0' });
  await http.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?as=${ASKER}`)));
  // As a real client does: the tools listed first (the SDK then checks each result against the tool's output schema).
  await Promise.all([stdio.listTools(), http.listTools()]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const tool = async (client: Client, i: number): Promise<boolean> => {
    const result = (await client.callTool({
      name: 'ask',
      arguments: { to: MODULE, question: `question ${i}`, waitSeconds: 0 },
    })) as CallToolResult;
    return !result.isError && (result.structuredContent as { status?: string } | undefined)?.status === 'pending';
  };
  const post = async (i: number) =>
    (await postAsk(url, agent, { from: ASKER, to: MODULE, prompt: `question ${i}` })).status === 202;
  const calls: Record<Way, (i: number) => Promise<boolean>> = {
    stdio: (i) => tool(stdio, i),
    http: (i) => tool(http, i),
    post,
  };

  const samples: Record<Way, number[]> = { stdio: [], http: [], post: [] };
  const failed: Record<Way, number> = { stdio: 0, http: 0, post: 0 };
  for (let i = 0; i < WARMUP + TIMED; i++) {
    for (const way of WAYS) {
      const start = now();
      const ok = await calls[way](i);
      const took = now() - start;
      if (i < WARMUP) continue;
      samples[way].push(took);
      if (!ok) failed[way]++;
    }
  }
  // The stdio server must have reached the service, not opened the database itself.
  if (!said.includes(`using the service at ${url}`))
    throw new Error(`claude-comms mcp did not use the service: ${said}`);
  agent.destroy();
  await Promise.all([stdio.close(), http.close()]);
  tell({ samples, failed });
}

if (isMain(import.meta.url)) {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'measure' && args[0] && args[1] && args[2]) await measure(args[0], args[1], args[2]);
  else throw new Error('usage: mcp.ts measure URL HOME BIN');
}
