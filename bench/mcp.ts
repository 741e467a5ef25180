/**
 * Row 15: what the MCP server adds to an ask. The service runs as `claude-comms serve` — the built bin, so
 * `npm run build` first — in a child process with a data home of its own, and one module registered without a
 * backend (before it starts), so every ask stays pending and nothing answers it. A second child, on the compiled
 * code, asks that module one call at a time, three ways taking turns call by call (30 rounds of warm-up, then 300
 * timed): 15a the MCP tool `ask` with `waitSeconds: 0` through `claude-comms mcp --as bench`, started over stdio by
 * the official SDK's `Client` and `StdioClientTransport` with `CLAUDE_COMMS_HOME` set to the service's data home
 * (it finds the service by its service.json and asks it over HTTP); 15b the same tool through the service's `/mcp`
 * (`StreamableHTTPClientTransport`, stateless); and, the baseline, a plain `POST /api/v1/ask` over a keep-alive
 * connection. Each is timed from the call made to its answer: for the tools, `callTool` sent to its result with
 * the pending reply (the question, reply and task stored, and the reply read back); for the baseline, the 202.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { noModulesConfig } from './service.js';
import {
  type Backend,
  type Cell,
  isMain,
  ms,
  now,
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
const BIN = join(ROOT, 'bin/claude-comms.js');
/** How long the service may take to say it listens, and the measuring child to finish. */
const START_MS = 30_000;
const MEASURE_MS = 180_000;

type Way = 'stdio' | 'http' | 'post';
const WAYS: readonly Way[] = ['stdio', 'http', 'post'];

export async function mcpAsk(backend: Backend): Promise<Cell[]> {
  if (!existsSync(join(ROOT, 'dist/cli/mcp-command.js')))
    throw new Error('row 15 starts the built claude-comms (bin/claude-comms.js runs dist/): run npm run build first');
  warnIfStale();
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
  const service = await startCliService(home, database);
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

let warned = false;

/** Says so (once) when src/ has changed since dist/ was built: the row measures the build, not the sources. */
function warnIfStale(): void {
  if (warned) return;
  const built = statSync(join(ROOT, 'dist/cli/main.js')).mtimeMs;
  const src = join(ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(join(src, f)).mtimeMs > built,
  );
  if (newer.length) process.stderr.write(`(dist/ is older than src/${newer[0]}: row 15 measures the last build) `);
  warned = true;
}

/** The environment of the commands started here: this process's, without any claude-comms settings, in `home`. */
function commandEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('CLAUDE_COMMS_')) env[key] = value;
  }
  return { ...env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
}

interface CliService {
  url: string;
  stop(): Promise<void>;
}

/**
 * `claude-comms serve` on a free port, in `home` (where it writes the service.json `claude-comms mcp` finds it
 * by), serving `database` with no modules from config. Killed if this process exits first (the run gave up).
 */
async function startCliService(home: string, database: string): Promise<CliService> {
  const args = [BIN, '--database', database, 'serve', '--port', '0', '--config', noModulesConfig()];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env: commandEnv(home) });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let [out, err] = ['', ''];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`claude-comms serve did not start: ${err.trim()}`)), START_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /serving at (http:\S+)/.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`claude-comms serve exited early: ${err.trim() || 'no stderr'}`));
    });
  });
  return {
    url,
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
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
  const post = (i: number) =>
    new Promise<boolean>((resolve, reject) => {
      const body = JSON.stringify({ from: ASKER, to: MODULE, prompt: `question ${i}` });
      const req = request(
        `${url}/api/v1/ask`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 202));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
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
