/**
 * Row 2: latency in one process. Each transition carries, as its reason, the time just before `transition()`
 * was called; a subscriber of the same hub notes when it hears the event. Two figures: from the write call
 * (including the write itself: one SQLite transaction, or five PostgreSQL round trips), and from the commit —
 * taken as the moment `transition()` resolved, so a callback that ran before the writer resumed counts as 0.
 * Paced (not a flood), so the figure is the path's latency rather than time spent queueing.
 */
import { openHub } from '../src/index.js';
import { payload } from '../test/support/payload.js';
import {
  type Backend,
  type Cell,
  commitToCallback,
  createMessages,
  now,
  paced,
  sleep,
  spread,
  stats,
} from './support.js';

const RATE = 500;
const COUNT = 1_500;
const WARMUP = 250;
const TARGET_P99 = 1;

export async function latencyLocal(backend: Backend): Promise<Cell[]> {
  const hub = await openHub({ database: await backend.fresh(), retentionDays: 0 });
  try {
    const ids = await createMessages(hub, WARMUP + COUNT);
    const samples: number[] = [];
    const heardAt = new Map<string, number>();
    const committedAt = new Map<string, number>();
    const sub = await hub.events.subscribe({ types: ['message.status_changed'] }, (event) => {
      const heard = now();
      const stamp = Number(payload(event).reason);
      if (Number.isFinite(stamp) && event.messageId) {
        samples.push(heard - stamp);
        heardAt.set(event.messageId, heard);
      }
    });
    const writes: Promise<unknown>[] = [];
    await paced(WARMUP + COUNT, RATE, (i) => {
      const id = ids[i] as string;
      const write = hub.messages.transition(id, 'processing', { reason: i < WARMUP ? 'warm-up' : String(now()) });
      writes.push(write.then(() => committedAt.set(id, now())));
    });
    await Promise.all(writes);
    // A commit resolves before its event is necessarily delivered (PostgreSQL may deliver it from a re-read).
    const deadline = now() + 2_000;
    while (samples.length < COUNT && now() < deadline) await sleep(5);
    sub.close();
    const s = stats(samples);
    const c = stats(commitToCallback(heardAt, committedAt));
    const lost = s.n === COUNT ? '' : ` (${COUNT - s.n} never arrived)`;
    return [
      {
        row: '2a Commit→callback, same process: p50 / p99 / max',
        target: `p99 ≤ ${TARGET_P99} ms`,
        value: `${spread(c)}${lost}`,
        ok: c.p99 <= TARGET_P99 && s.n === COUNT,
      },
      {
        row: '2b Write-call→callback, same process: p50 / p99 / max',
        target: 'reference (includes the write)',
        value: `${spread(s)}${lost}`,
      },
    ];
  } finally {
    await hub.close();
  }
}
