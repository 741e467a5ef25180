/**
 * Row 1: durable transitions per second, each committed with its event. Messages are created beforehand (not
 * timed); each timed call moves one message pending → processing and counts once its commit has resolved.
 * Each figure is the median of three trials (the range shows the spread on a shared machine).
 */
import { openHub } from '../src/index.js';
import { type Backend, type Cell, createMessages, int, lanes, now, stats } from './support.js';

const TARGET = 10_000;
/** Transitions per trial: a second or two each on this machine (PostgreSQL also creates its messages slower). */
const SIZES = { sqlite: { one: 5_000, many: 15_000 }, postgres: { one: 800, many: 2_000 } };
const TRIALS = 3;
const WARMUP = 1_000;
const WRITERS = 64;

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
    for (const [row, count, writers] of [
      ['1a Transitions/s, 1 writer awaiting each', size.one, 1],
      [`1b Transitions/s, ${WRITERS} concurrent writers`, size.many, WRITERS],
    ] as const) {
      const trials: number[] = [];
      for (let t = 0; t < TRIALS; t++) trials.push(await rate(count, writers));
      const { p50, max } = stats(trials);
      cells.push({
        row,
        target: `≥ ${int(TARGET)}/s (SQLite)`,
        value: `${int(p50)}/s (${int(Math.min(...trials))}–${int(max)})`,
        ok: backend.name === 'sqlite' ? p50 >= TARGET : undefined,
      });
    }
    return cells;
  } finally {
    await hub.close();
  }
}
