/**
 * Row 16: an A2A `SendMessage` to a command module, end to end. The service runs as `claude-comms serve` — the
 * built bin, so `npm run build` first — in a child process with a data home of its own whose config.yaml has one
 * module, `echo`, answered by `/bin/cat` (the answer is the question). A second child, on the compiled code, asks it
 * one question at a time, two ways taking turns call by call (20 rounds of warm-up, then 200 timed): the A2A SDK's
 * own client (`ClientFactory.createFromUrl`, JSON-RPC, blocking `SendMessage` with `metadata.skill`), timed from
 * the call to the completed task with the answer; and, the reference, the hub's own API: `POST /api/v1/ask` over a
 * keep-alive connection, then `hub.waitForCompletion` on a hub the child opens on the same database (the built
 * library, so that it expects the schema the service made), timed from the POST to the completed reply.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SendMessageRequest, type Task, TaskState } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { type Backend, type Cell, isMain, ms, now, ROOT, scratch, spread, startChild, stats, tell } from './support.js';

const WARMUP = 20;
const TIMED = 200;
const MODULE = 'echo';
const BIN = join(ROOT, 'bin/claude-comms.js');
/** How long the service may take to say it listens, a call to be answered, and the measuring child to finish. */
const START_MS = 30_000;
const CALL_MS = 30_000;
const MEASURE_MS = 180_000;

type Way = 'a2a' | 'api';
const WAYS: readonly Way[] = ['a2a', 'api'];

export async function a2aSendMessage(backend: Backend): Promise<Cell[]> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('row 16 starts the built claude-comms (bin/claude-comms.js runs dist/): run npm run build first');
  warnIfStale();
  const database = await backend.fresh();
  const home = mkdtempSync(join(scratch(), 'a2a-home-'));
  writeFileSync(
    join(home, 'config.yaml'),
    `modules:\n  ${MODULE}:\n    description: answers with the question\n    backend: command\n    command: /bin/cat\n    cwd: .\n`,
  );
  const service = await startCliService(home, database);
  let report: Record<string, unknown>;
  try {
    const args = ['measure', service.url, database, join(ROOT, 'dist/index.js')];
    const child = startChild(fileURLToPath(import.meta.url), args, MEASURE_MS);
    report = await child.message('samples');
    await child.exited;
  } finally {
    await service.stop();
  }
  const samples = report.samples as Record<Way, number[]>;
  const failed = report.failed as Record<Way, number>;
  const [a2a, api] = [stats(samples.a2a), stats(samples.api)];
  const wrong = (way: Way) => (failed[way] ? `, ${failed[way]} wrong!` : '');
  return [
    {
      row: '16 A2A SendMessage (SDK client, blocking) to a /bin/cat module: call→completed task p50 / p99 / max',
      target: 'report (no target)',
      value: `${spread(a2a)}${wrong('a2a')} (hub API, POST /ask + wait for completion: ${ms(api.p50)} / ${ms(api.p99)} ms${wrong('api')})`,
    },
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
  if (newer.length) process.stderr.write(`(dist/ is older than src/${newer[0]}: row 16 measures the last build) `);
  warned = true;
}

interface CliService {
  url: string;
  stop(): Promise<void>;
}

/**
 * `claude-comms serve` on a free port with `home` as its data home (its config.yaml), serving `database`. Killed
 * if this process exits first (the run gave up).
 */
async function startCliService(home: string, database: string): Promise<CliService> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('CLAUDE_COMMS_')) env[key] = value;
  }
  const args = [BIN, '--database', database, 'serve', '--port', '0'];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' },
  });
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

/** The text of a task's `answer` artifact. */
const answerOf = (task: Task): string =>
  (task.artifacts.find((a) => a.name === 'answer')?.parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('');

/** The measuring child: the two ways of asking, taking turns, each call awaited before the next. */
async function measure(url: string, database: string, library: string): Promise<void> {
  const client = await new ClientFactory().createFromUrl(url);
  const built: typeof import('../src/index.js') = await import(pathToFileURL(library).href);
  const hub = await built.openHub({ database, config: false, retentionDays: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const a2a = async (question: string): Promise<boolean> => {
    const result = await client.sendMessage(
      SendMessageRequest.fromJSON({
        message: {
          messageId: crypto.randomUUID(),
          role: 'ROLE_USER',
          parts: [{ text: question }],
          metadata: { skill: MODULE },
        },
      }),
      { signal: AbortSignal.timeout(CALL_MS) },
    );
    if (!('status' in result)) return false;
    return result.status?.state === TaskState.TASK_STATE_COMPLETED && answerOf(result) === question;
  };
  const post = (question: string) =>
    new Promise<string>((resolve, reject) => {
      const body = JSON.stringify({ from: 'bench', to: MODULE, prompt: question });
      const req = request(
        `${url}/api/v1/ask`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            text += d;
          });
          res.on('end', () =>
            res.statusCode === 202
              ? resolve((JSON.parse(text) as { messageId: string }).messageId)
              : reject(new Error(`POST /ask answered ${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const api = async (question: string): Promise<boolean> => {
    const { status, message } = await hub.waitForCompletion(await post(question), { timeoutMs: CALL_MS });
    return status === 'complete' && message.content === question;
  };
  const calls: Record<Way, (question: string) => Promise<boolean>> = { a2a, api };

  const samples: Record<Way, number[]> = { a2a: [], api: [] };
  const failed: Record<Way, number> = { a2a: 0, api: 0 };
  try {
    for (let i = 0; i < WARMUP + TIMED; i++) {
      for (const way of WAYS) {
        const start = now();
        const ok = await calls[way](`question ${way} ${i}`);
        const took = now() - start;
        if (i < WARMUP) continue;
        samples[way].push(took);
        if (!ok) failed[way]++;
      }
    }
  } finally {
    agent.destroy();
    await hub.close();
  }
  tell({ samples, failed });
}

if (isMain(import.meta.url)) {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'measure' && args[0] && args[1] && args[2]) await measure(args[0], args[1], args[2]);
  else throw new Error('usage: a2a.ts measure URL DATABASE LIBRARY');
}
