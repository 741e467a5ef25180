/**
 * Row 13: workflows. (a) Scheduling overhead: a chain of `convert` steps (no process starts), from the time the
 * engine stored step N complete to the time it stored step N+1 started (millisecond times) — its own cost between
 * a step finishing and its dependant starting. (b) A DAG of 10 layers × 10 `command` steps running `/bin/true`: its wall time against its
 * critical path, ten times the wall time of a one-step run of the same command (what a process start costs here).
 */
import { openHub } from '../src/index.js';
import { type Backend, type Cell, now, spread, stats } from './support.js';

const CHAIN = 200;
const TARGET_P99 = 10;
const LAYERS = 10;
const WIDTH = 10;

async function untilDone(hub: Awaited<ReturnType<typeof openHub>>, id: string): Promise<string> {
  for (;;) {
    const run = await hub.workflows.get(id);
    if (['complete', 'failed', 'cancelled'].includes(run.status)) return run.status;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function workflowBench(backend: Backend): Promise<Cell[]> {
  const hub = await openHub({
    database: await backend.fresh(),
    retentionDays: 0,
    config: false,
    commands: { nothing: { argv: ['/bin/true'] } },
  });
  try {
    await hub.startWorkflows();
    // (a) the chain
    const steps = Array.from({ length: CHAIN }, (_, i) => ({
      id: `s${i}`,
      ...(i ? { after: [`s${i - 1}`] } : {}),
      convert: { function: 'collect', args: { i } },
    }));
    const chain = await hub.workflows.start({ name: 'chain', steps });
    const chained = await untilDone(hub, chain.id);
    // The times the engine stored: step N completed, step N+1 started (milliseconds).
    const ran = (await hub.workflows.get(chain.id)).steps;
    const gaps: number[] = [];
    for (let i = 1; i < ran.length; i++)
      gaps.push(Date.parse(ran[i]?.startedAt as string) - Date.parse(ran[i - 1]?.completedAt as string));
    const overhead = stats(gaps.filter(Number.isFinite));
    // (b) one step alone, then the DAG
    const singles: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = now();
      const one = await hub.workflows.start({ name: 'one', steps: [{ id: 'x', command: { name: 'nothing' } }] });
      await untilDone(hub, one.id);
      singles.push(now() - t);
    }
    const single = stats(singles).p50;
    const dag = [];
    for (let l = 0; l < LAYERS; l++)
      for (let w = 0; w < WIDTH; w++)
        dag.push({
          id: `l${l}w${w}`,
          ...(l ? { after: Array.from({ length: WIDTH }, (_, k) => `l${l - 1}w${k}`) } : {}),
          command: { name: 'nothing' },
        });
    const t = now();
    const big = await hub.workflows.start({ name: 'dag', concurrency: WIDTH, steps: dag });
    const status = await untilDone(hub, big.id);
    const wall = now() - t;
    const critical = LAYERS * single;
    const limit = critical * 1.1 + 1000;
    return [
      {
        row: '13a Workflow: step complete→its dependant started (convert steps): p50 / p99 / max',
        target: backend.name === 'sqlite' ? `p99 ≤ ${TARGET_P99} ms (SQLite)` : 'reference',
        value: `${spread(overhead)}${chained === 'complete' ? '' : ` (the chain ${chained}!)`}`,
        ...(backend.name === 'sqlite' ? { ok: overhead.p99 <= TARGET_P99 && chained === 'complete' } : {}),
      },
      {
        row: `13b Workflow: ${LAYERS}×${WIDTH} command steps (/bin/true): wall time vs critical path (${LAYERS} × one step)`,
        target: 'within 10 % + 1 s',
        value: `${(wall / 1000).toFixed(2)} s vs ${(critical / 1000).toFixed(2)} s (one step ${single.toFixed(0)} ms)${status === 'complete' ? '' : ` (${status}!)`}`,
        ok: wall <= limit && status === 'complete',
      },
    ];
  } finally {
    await hub.close();
  }
}
