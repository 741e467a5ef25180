/**
 * Row 5: the original design's watcher, for comparison. Every 500 ms it re-reads each watched message's row
 * (`SELECT status, length(content) FROM messages WHERE id = ?`, one statement per row, straight through
 * better-sqlite3 or pg, not through the hub) and reports what changed since the last sweep.
 *
 * 5a/5b: its CPU and RSS watching the same 10,000 idle messages as row 4 (in a child process).
 * 5c: write-call-to-detection latency over 100 watched messages changed at 100/s, each change ≥ 500 ms from the
 *     message's next one (so none is skipped): about half the interval on average, by construction.
 * 5d/5e: 100 messages each driven pending → processing → complete 1 ms apart; how many `processing` states the
 *     poller never saw, and (for contrast) how many `hub.monitor` never reported.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openHub } from '../src/index.js';
import { WATCHED as IDLE_WATCHED } from './idle-monitor.js';
import {
  type Backend,
  type Cell,
  cpu,
  createMessages,
  idleChild,
  idleWindow,
  int,
  isMain,
  lanes,
  ms,
  now,
  paced,
  rss,
  sleep,
  stats,
} from './support.js';

const INTERVAL = 500;
const WATCHED = 100;
const RATE = 100;
const SQL = 'SELECT status, length(content) AS length FROM messages WHERE id = ?';

interface Poller {
  /** Resolves once the first sweep has read every row. */
  ready: Promise<void>;
  /** How long each sweep took, in ms. */
  sweeps: number[];
  stop(): Promise<void>;
}

type Row = { status: string; length: number } | undefined;

/** One connection that reads the rows of `ids`, one statement per row. */
async function connect(database: string): Promise<{ sweep(ids: readonly string[]): Promise<Row[]>; close(): void }> {
  if (database.startsWith('sqlite:')) {
    const db = new BetterSqlite3(database.slice('sqlite:'.length));
    const stmt = db.prepare(SQL);
    return { sweep: async (ids) => ids.map((id) => stmt.get(id) as Row), close: () => db.close() };
  }
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  const text = SQL.replace('?', '$1');
  return {
    async sweep(ids) {
      const rows: Row[] = [];
      for (const id of ids) rows.push((await client.query({ name: 'poll', text, values: [id] })).rows[0] as Row);
      return rows;
    },
    close: () => void client.end(),
  };
}

/** Starts sweeping `ids` every 500 ms (a slow sweep delays the next), calling `changed` for each new status. */
async function startPoller(
  database: string,
  ids: readonly string[],
  changed: (id: string, status: string) => void,
): Promise<Poller> {
  const conn = await connect(database);
  const last = new Map<string, string>();
  const sweeps: number[] = [];
  let stopped = false;
  let wake: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let first: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    first = resolve;
  });
  const loop = (async () => {
    while (!stopped) {
      const start = now();
      const rows = await conn.sweep(ids);
      rows.forEach((row, i) => {
        const id = ids[i] as string;
        if (row && row.status !== last.get(id)) {
          last.set(id, row.status);
          changed(id, row.status);
        }
      });
      sweeps.push(now() - start);
      first();
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, Math.max(0, start + INTERVAL - now()));
      });
    }
    conn.close();
  })();
  return {
    ready,
    sweeps,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake();
      await loop;
    },
  };
}

export async function baselinePoller(backend: Backend): Promise<Cell[]> {
  const database = await backend.fresh();
  const hub = await openHub({ database, retentionDays: 0 });
  try {
    const [idle, quick, latency] = [
      await createMessages(hub, IDLE_WATCHED),
      await createMessages(hub, WATCHED),
      await createMessages(hub, WATCHED),
    ];

    // 5c: paced changes, each message's two changes a second apart.
    const called = new Map<string, number>();
    const detected: number[] = [];
    const poller = await startPoller(database, latency, (id, status) => {
      const at = called.get(`${id} ${status}`);
      if (at !== undefined) detected.push(now() - at);
    });
    await poller.ready;
    for (const to of ['processing', 'complete'] as const) {
      const writes: Promise<unknown>[] = [];
      await paced(WATCHED, RATE, (i) => {
        const id = latency[i] as string;
        called.set(`${id} ${to}`, now());
        writes.push(hub.messages.transition(id, to));
      });
      await Promise.all(writes);
    }
    await sleep(INTERVAL + 100);
    await poller.stop();
    const lat = stats(detected);

    // 5d/5e: processing lasts ~1 ms; the poller watches, and so does hub.monitor.
    const pollerSaw = new Set<string>();
    const monitorSaw = new Set<string>();
    const watcher = await startPoller(database, quick, (id, status) => {
      if (status === 'processing') pollerSaw.add(id);
    });
    await watcher.ready;
    await lanes(quick, 64, (id) =>
      hub.monitor.add(id, {
        status_change: (u) => {
          if (u.status === 'processing') monitorSaw.add(id);
        },
      }),
    );
    for (const id of quick) {
      await hub.messages.transition(id, 'processing');
      await sleep(1);
      await hub.messages.transition(id, 'complete');
    }
    await sleep(INTERVAL + 100);
    await watcher.stop();

    await hub.close();
    // 5a/5b: the idle cost, in a child of its own.
    const usage = await idleChild(fileURLToPath(import.meta.url), backend, database, idle);
    return [
      {
        row: `5a Baseline poller idle, ${int(IDLE_WATCHED)} msgs: CPU, % of a core`,
        target: 'reference (4a)',
        value: `${cpu(usage)}, sweep ${ms(Number(usage.sweepMs))} ms`,
      },
      {
        row: `5b Baseline poller idle, ${int(IDLE_WATCHED)} msgs: RSS`,
        target: 'reference (4b)',
        value: rss(usage),
      },
      {
        row: `5c Baseline write-call→detection, ${WATCHED} msgs: mean / p50 / p99`,
        target: `≈ ${INTERVAL / 2} ms mean by design`,
        value: `${ms(lat.mean)} / ${ms(lat.p50)} / ${ms(lat.p99)} ms${lat.n === 2 * WATCHED ? '' : ` (${lat.n} of ${2 * WATCHED})`}`,
      },
      {
        row: `5d 'processing' missed, 1 ms long, ${WATCHED} msgs: baseline`,
        target: 'reference',
        value: `${WATCHED - pollerSaw.size} of ${WATCHED}`,
      },
      {
        row: `5e 'processing' missed, 1 ms long, ${WATCHED} msgs: hub.monitor`,
        target: '0',
        value: `${WATCHED - monitorSaw.size} of ${WATCHED}`,
        ok: monitorSaw.size === WATCHED,
      },
    ];
  } finally {
    await hub.close();
  }
}

/** The child: poll every message, settle, then sit through the idle window. */
async function idle(database: string, idsFile: string): Promise<void> {
  const ids = JSON.parse(readFileSync(idsFile, 'utf8')) as string[];
  const poller = await startPoller(database, ids, () => undefined);
  await poller.ready;
  await sleep(1_000);
  const skip = poller.sweeps.length;
  await idleWindow(() => ({ sweepMs: stats(poller.sweeps.slice(skip)).mean }));
  await poller.stop();
}

if (isMain(import.meta.url)) {
  const [role, database, idsFile] = process.argv.slice(2);
  if (role !== 'idle' || !database || !idsFile) throw new Error('usage: baseline-poller.ts idle DATABASE IDS_FILE');
  await idle(database, idsFile);
}
