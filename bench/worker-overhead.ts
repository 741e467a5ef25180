/**
 * Row 6: what the worker adds around one run of a command-backend agent. The agent is a `/bin/sh -c` script that
 * prints the wall clock in ns (`date +%s%N`) first, reads the question, prints the answer and the wall clock
 * again as its last line. Two figures per question: from `hub.ask()` resolving (the question committed) to the
 * agent's first stamp, and from its last stamp to a subscriber of the same hub hearing the reply turn
 * `complete`. Questions go one at a time, so neither figure includes queueing. Asker, worker and subscriber
 * share one child process running compiled code, as a hub runs in production: starting an agent forks that
 * process, which costs time in proportion to its resident memory.
 */
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import { payload } from '../test/support/payload.js';
import { type Backend, type Cell, isMain, now, scratch, sleep, spread, startChild, stats, tell } from './support.js';

const COUNT = 200;
const WARMUP = 20;
const TARGET_P99 = 20;
const MODULE = 'stamper';
/** Stamp, answer, stamp; `read` and `printf` are shell built-ins, so the only processes are sh and two `date`s. */
const SCRIPT = 'date +%s%N; read -r question; printf "answer: %s\\n" "$question"; date +%s%N';

export async function workerOverhead(backend: Backend): Promise<Cell[]> {
  const child = startChild(fileURLToPath(import.meta.url), ['ask', await backend.fresh(), scratch()], 120_000);
  const report = await child.message('toStart');
  await child.exited;
  const wrong = Number(report.wrong);
  const problems = wrong ? ` (${wrong} of ${WARMUP + COUNT} wrong or unheard!)` : '';
  const cell = (row: string, samples: number[]): Cell => {
    const s = stats(samples);
    return {
      row,
      target: `p99 ≤ ${TARGET_P99} ms`,
      value: `${spread(s)}${problems}`,
      ok: s.p99 <= TARGET_P99 && !wrong,
    };
  };
  return [
    cell('6a Worker: ask resolved→agent started: p50 / p99 / max', report.toStart as number[]),
    cell('6b Worker: agent done→reply complete: p50 / p99 / max', report.toComplete as number[]),
  ];
}

/** A `date +%s%N` line as epoch milliseconds, comparable with `now()`. */
const stampMs = (line: string | undefined): number =>
  /^\d+$/.test(line ?? '') ? Number(BigInt(line as string) / 1000n) / 1000 : Number.NaN;

/** The child: asks the questions one by one and reports both figures for each, and how many went wrong. */
async function ask(database: string, cwd: string): Promise<void> {
  const hub = await openHub({ database, retentionDays: 0, config: false });
  try {
    await hub.modules.register({
      name: MODULE,
      description: 'prints the time, the answer and the time',
      config: { backend: 'command', cwd, command: '/bin/sh', args: ['-c', SCRIPT], concurrency: 1 },
    });
    const completeAt = new Map<string, number>();
    const sub = await hub.events.subscribe({ types: ['message.status_changed'] }, (event) => {
      if (payload(event).to === 'complete' && event.messageId) completeAt.set(event.messageId, now());
    });
    await hub.startWorker();
    const toStart: number[] = [];
    const toComplete: number[] = [];
    let wrong = 0;
    for (let i = 0; i < WARMUP + COUNT; i++) {
      const { messageId } = await hub.ask({ from: 'bench', to: MODULE, prompt: `question ${i}` });
      const askedAt = now();
      const { status, message } = await hub.waitForCompletion(messageId, { timeoutMs: 10_000 });
      // The subscriber and the wait hear the same event; either may be told first.
      const deadline = now() + 1_000;
      while (!completeAt.has(messageId) && now() < deadline) await sleep(1);
      const [started, answer, ended] = message.content.trimEnd().split('\n');
      const [toStartMs, toCompleteMs] = [stampMs(started) - askedAt, (completeAt.get(messageId) ?? 0) - stampMs(ended)];
      const right =
        status === 'complete' &&
        answer === `answer: question ${i}` &&
        completeAt.has(messageId) &&
        Number.isFinite(toStartMs + toCompleteMs);
      if (!right) wrong++;
      else if (i >= WARMUP) {
        toStart.push(toStartMs);
        toComplete.push(toCompleteMs);
      }
    }
    sub.close();
    tell({ toStart, toComplete, wrong });
  } finally {
    await hub.close();
  }
}

if (isMain(import.meta.url)) {
  const [role, database, cwd] = process.argv.slice(2);
  if (role !== 'ask' || !database || !cwd) throw new Error('usage: worker-overhead.ts ask DATABASE CWD');
  await ask(database, cwd);
}
