/**
 * Row 7: how fast a worker drains a queue. 1,000 questions are asked first (not timed), then a worker starts
 * with one command-backend module of concurrency 4 whose agent is `/bin/cat` (the answer is the question); the
 * time runs from starting the worker to a subscriber hearing the 1,000th reply finish. Every reply is then read
 * back and checked against its question. Like row 6, all of it runs in one child process on compiled code.
 */
import { fileURLToPath } from 'node:url';
import { isTerminal, type ObservedStatus, openHub } from '../src/index.js';
import { payload } from '../test/support/payload.js';
import { type Backend, type Cell, int, isMain, lanes, now, scratch, sleep, startChild, tell } from './support.js';

const COUNT = 1_000;
const CONCURRENCY = 4;
const TARGET = 200;
const MODULE = 'echo';
/** Far beyond the target's 5 s: a slow drain is reported, not abandoned. */
const LIMIT_MS = 120_000;

export async function workerThroughput(backend: Backend): Promise<Cell[]> {
  const child = startChild(fileURLToPath(import.meta.url), ['drain', await backend.fresh(), scratch()], 240_000);
  const report = await child.message('perSecond');
  await child.exited;
  const [rate, correct] = [Number(report.perSecond), Number(report.correct)];
  return [
    {
      row: `7 Worker: queue of ${int(COUNT)} drained, /bin/cat × ${CONCURRENCY}: answers/s`,
      target: `≥ ${TARGET}/s, all correct`,
      value: `${int(rate)}/s, ${int(correct)} of ${int(COUNT)} correct`,
      ok: rate >= TARGET && correct === COUNT,
    },
  ];
}

/** The child: queues the questions, starts the worker, times the drain and checks every answer. */
async function drain(database: string, cwd: string): Promise<void> {
  const hub = await openHub({ database, retentionDays: 0, config: false });
  try {
    await hub.modules.register({
      name: MODULE,
      description: 'answers with the question',
      config: { backend: 'command', cwd, command: '/bin/cat', concurrency: CONCURRENCY },
    });
    const prompts = new Map<string, string>();
    await lanes(
      Array.from({ length: COUNT }, (_, i) => `question ${i}`),
      16,
      async (prompt) => {
        prompts.set((await hub.ask({ from: 'bench', to: MODULE, prompt })).messageId, prompt);
      },
    );
    let finished = 0;
    let lastAt = Number.NaN;
    const sub = await hub.events.subscribe({ types: ['message.status_changed'] }, (event) => {
      if (!event.messageId || !prompts.has(event.messageId)) return;
      if (isTerminal(String(payload(event).to) as ObservedStatus)) {
        finished++;
        lastAt = now();
      }
    });
    const start = now();
    await hub.startWorker();
    while (finished < COUNT && now() - start < LIMIT_MS) await sleep(5);
    sub.close();
    let correct = 0;
    await lanes([...prompts], 16, async ([id, prompt]) => {
      const message = await hub.messages.get(id);
      if (message.status === 'complete' && message.content === prompt) correct++;
    });
    tell({ perSecond: finished / ((lastAt - start) / 1000), correct });
  } finally {
    await hub.close();
  }
}

if (isMain(import.meta.url)) {
  const [role, database, cwd] = process.argv.slice(2);
  if (role !== 'drain' || !database || !cwd) throw new Error('usage: worker-throughput.ts drain DATABASE CWD');
  await drain(database, cwd);
}
