/**
 * Row 3: latency across processes. A child process (its own hub on the same database) writes paced
 * transitions stamped with the time just before each call, and reports when each call resolved (its commit); this process subscribes with the
 * default 1 s backstop poll, so prompt delivery can only come from the wake-up (fs.watch on the SQLite WAL,
 * LISTEN/NOTIFY on PostgreSQL). Both clocks are `performance.timeOrigin + performance.now()` on one machine.
 * Every transition is on its own message, so missed and duplicated deliveries are counted by message id.
 */
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import { payload } from '../test/support/payload.js';
import {
  type Backend,
  type Cell,
  commitToCallback,
  createMessages,
  heard,
  isMain,
  now,
  paced,
  sleep,
  spread,
  startChild,
  stats,
  tell,
} from './support.js';

const RATE = 500;
const COUNT = 1_500;
const WARMUP = 250;
const TARGET_P99 = 5;

export async function latencyCross(backend: Backend): Promise<Cell[]> {
  const database = await backend.fresh();
  const hub = await openHub({ database, retentionDays: 0 });
  try {
    const samples: number[] = [];
    const heardAt = new Map<string, number>();
    const seen = new Set<string>();
    let duplicates = 0;
    const sub = await hub.events.subscribe({ types: ['message.status_changed'] }, (event) => {
      const at = now();
      const stamp = Number(payload(event).reason);
      if (!Number.isFinite(stamp) || !event.messageId) return;
      if (seen.has(event.messageId)) duplicates++;
      seen.add(event.messageId);
      samples.push(at - stamp);
      heardAt.set(event.messageId, at);
    });
    const child = startChild(fileURLToPath(import.meta.url), ['writer', database], 60_000);
    await child.message('ready');
    await sleep(300); // let this hub read past the child's setup events
    child.send('go');
    const report = await child.message('written');
    const written = Number(report.written);
    const committedAt = new Map(Object.entries(report.committedAt as Record<string, number>));
    // Stragglers would arrive by the 1 s backstop poll at the latest; wait a little longer than that.
    const deadline = now() + 2_500;
    while (seen.size < written && now() < deadline) await sleep(10);
    await child.exited;
    sub.close();
    const s = stats(samples);
    const c = stats(commitToCallback(heardAt, committedAt));
    const missed = written - seen.size;
    return [
      {
        row: '3a Commit→callback, other process: p50 / p99 / max',
        target: `p99 ≤ ${TARGET_P99} ms`,
        value: spread(c),
        ok: c.p99 <= TARGET_P99,
      },
      {
        row: '3b Write-call→callback, other process: p50 / p99 / max',
        target: 'reference (includes the write)',
        value: spread(s),
      },
      {
        row: '3c …of which missed / duplicated',
        target: '0 / 0',
        value: `${missed} / ${duplicates} of ${written}`,
        ok: missed === 0 && duplicates === 0,
      },
    ];
  } finally {
    await hub.close();
  }
}

/** The child: creates its messages, then on "go" writes the paced, stamped transitions and reports the count. */
async function writer(database: string): Promise<void> {
  const hub = await openHub({ database, retentionDays: 0, pollIntervalMs: 60_000 });
  const ids = await createMessages(hub, WARMUP + COUNT);
  tell({ ready: true });
  await heard();
  const writes: Promise<unknown>[] = [];
  const committedAt: Record<string, number> = {};
  await paced(WARMUP + COUNT, RATE, (i) => {
    const id = ids[i] as string;
    const write = hub.messages.transition(id, 'processing', { reason: i < WARMUP ? 'warm-up' : String(now()) });
    writes.push(write.then(() => (committedAt[id] = now())));
  });
  await Promise.all(writes);
  await hub.close();
  tell({ written: COUNT, committedAt });
}

if (isMain(import.meta.url)) {
  const [role, database] = process.argv.slice(2);
  if (role !== 'writer' || !database) throw new Error('usage: latency-cross.ts writer DATABASE');
  await writer(database);
}
