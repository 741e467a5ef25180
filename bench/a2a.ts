import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SendMessageRequest, type Task, TaskState } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { startCliService, warnIfStale } from './cli-service.js';
import {
  type Backend,
  type Cell,
  isMain,
  ms,
  now,
  postAsk,
  ROOT,
  scratch,
  spread,
  startChild,
  stats,
  tell,
} from './support.js';

const WARMUP = 20;
const TIMED = 200;
const MODULE = 'echo';
/** How long the service may take to say it listens, a call to be answered, and the measuring child to finish. */
const CALL_MS = 30_000;
const MEASURE_MS = 180_000;

type Way = 'a2a' | 'api';
const WAYS: readonly Way[] = ['a2a', 'api'];

export async function a2aSendMessage(backend: Backend): Promise<Cell[]> {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('row 16 starts the built claude-comms (bin/claude-comms.js runs dist/): run npm run build first');
  warnIfStale('16');
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
  const post = async (question: string) => {
    const { status, text } = await postAsk(url, agent, { from: 'bench', to: MODULE, prompt: question });
    if (status !== 202) throw new Error(`POST /ask answered ${status}: ${text}`);
    return (JSON.parse(text) as { messageId: string }).messageId;
  };
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
