/**
 * Row 1: durable transitions per second, each committed with its event. Messages are created beforehand (not
 * timed); each timed call moves one message pending → processing and counts once its commit has resolved.
 * 1c runs two hubs in two processes on the same database at once, 64 writers each, and sums them over the time
 * both wrote. Each figure is the median of three trials (the range shows the spread on a shared machine).
 */
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import {
  type Backend,
  type Cell,
  createMessages,
  heard,
  int,
  isMain,
  lanes,
  now,
  startChild,
  stats,
  tell,
} from './support.js';

/** Targets: SQLite's from the first version, PostgreSQL's for the scale-out path (one writer, many, two hubs). */
const TARGETS = {
  sqlite: { one: 10_000, many: 10_000, two: undefined },
  postgres: { one: 3_000, many: 10_000, two: 10_000 },
} as const;
/** Transitions per trial: a second or two each on this machine (PostgreSQL also creates its messages slower). */
const SIZES = { sqlite: { one: 5_000, many: 15_000 }, postgres: { one: 2_000, many: 6_000 } };
const TRIALS = 3;
const WARMUP = 1_000;
const WRITERS = 64;

function cell(row: string, trials: number[], target: number | undefined): Cell {
  const { p50, max } = stats(trials);
  return {
    row,
    target: row.startsWith('1c') ? '≥ 10,000/s (PostgreSQL)' : '≥ 10,000/s (SQLite), ≥ 3,000 / 10,000/s (PostgreSQL)',
    value: `${int(p50)}/s (${int(Math.min(...trials))}–${int(max)})`,
    ok: target === undefined ? undefined : p50 >= target,
  };
}

/** Two child processes on a database of their own, each a hub transitioning `count` messages with 64 writers; the summed rate. */
async function twoHubs(database: string, count: number): Promise<number> {
  const file = fileURLToPath(import.meta.url);
  const children = [0, 1].map(() => startChild(file, ['writer', database, String(count)], 120_000));
  await Promise.all(children.map((c) => c.message('ready')));
  for (const c of children) c.send('go');
  const reports = await Promise.all(children.map((c) => c.message('written')));
  await Promise.all(children.map((c) => c.exited));
  const start = Math.min(...reports.map((r) => Number(r.start)));
  const end = Math.max(...reports.map((r) => Number(r.end)));
  return (2 * count) / ((end - start) / 1000);
}

/** A child of 1c: its messages created and a warm-up done, then on "go" the timed transitions. */
async function writer(database: string, count: number): Promise<void> {
  const hub = await openHub({ database, retentionDays: 0, pollIntervalMs: 60_000 });
  const warm = await createMessages(hub, WARMUP);
  await lanes(warm, WRITERS, (id) => hub.messages.transition(id, 'processing'));
  const ids = await createMessages(hub, count);
  tell({ ready: true });
  await heard();
  const start = now();
  await lanes(ids, WRITERS, (id) => hub.messages.transition(id, 'processing'));
  const end = now();
  await hub.close();
  tell({ written: count, start, end });
}

export async function throughput(backend: Backend): Promise<Cell[]> {
  const hub = await openHub({ database: await backend.fresh(), retentionDays: 0 });
  try {
    const size = SIZES[backend.name];
    /** Transitions per second over fresh pending messages, `writers` at a time. */
    const rate = async (count: number, writers: number) => {
      const ids = await createMessages(hub, count);
      const start = now();
      await lanes(ids, writers, (id) => hub.messages.transition(id, 'processing'));
      return count / ((now() - start) / 1000);
    };
    await rate(WARMUP, WRITERS);
    const cells: Cell[] = [];
    for (const [row, count, writers, target] of [
      ['1a Transitions/s, 1 writer awaiting each', size.one, 1, TARGETS[backend.name].one],
      [`1b Transitions/s, ${WRITERS} concurrent writers`, size.many, WRITERS, TARGETS[backend.name].many],
    ] as const) {
      const trials: number[] = [];
      for (let t = 0; t < TRIALS; t++) trials.push(await rate(count, writers));
      cells.push(cell(row, trials, target));
    }
    const trials: number[] = [];
    for (let t = 0; t < TRIALS; t++) trials.push(await twoHubs(await backend.fresh(), size.many));
    cells.push(
      cell(`1c Transitions/s, two hubs in two processes, ${WRITERS} writers each`, trials, TARGETS[backend.name].two),
    );
    return cells;
  } finally {
    await hub.close();
  }
}

if (isMain(import.meta.url)) {
  const [role, database, count] = process.argv.slice(2);
  if (role !== 'writer' || !database || !count) throw new Error('usage: throughput.ts writer DATABASE COUNT');
  await writer(database, Number(count));
}
