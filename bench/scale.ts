/**
 * `npm run bench -- scale`: what the hub's costs do as its history grows. SQLite databases of 100,000 and
 * 1,000,000 finished asks (bench/scale-fill.ts, cached between runs) are each served by the service in a child
 * process, and the section times every list, filter, statistic and read of the API over HTTP (bench/scale-api.ts),
 * `/health` while the slowest of them runs, the dashboard's first load in chromium (bench/scale-dashboard.ts), the
 * service's start-up and a retention sweep with nothing to prune — each figure beside the same at the smaller size,
 * with the ratio; the target is at most 2×.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import { LeaseStore } from '../src/store/leases.js';
import { openDatabase } from '../src/store/open.js';
import { ensureDashboardBuilt, launchChromium } from '../test/support/browser.js';
import { closeConnections, get, healthUnderLoad, type Probe, probes, timeProbes } from './scale-api.js';
import { firstLoad } from './scale-dashboard.js';
import { CACHE_DIR, type Filled, filled } from './scale-fill.js';
import { noModulesConfig } from './service.js';
import { type Cell, int, ms, now, type Stats, sleep, spread, startChild, stats, type TableRow } from './support.js';

/** The sizes compared, smallest first; `BENCH_SCALE_ASKS=2000,20000` tries the section quickly on small ones. */
const SIZES = (process.env.BENCH_SCALE_ASKS ?? '100000,1000000').split(',').map(Number);
/**
 * The services keep events this many days, longer than any history the cache holds: the sweeps they run at start
 * (and those timed here) find nothing to prune, and the cached databases stay whole.
 */
const RETENTION_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;
const STARTS = 3;
const SWEEPS = 3;
const LOADS = 5;
/**
 * The larger size's median over the smaller's. A figure that grows by less than `FLOOR_MS` passes however small it
 * started: below that, the ratio of two medians measures the machine (a request of 0.3 ms against one of 0.7).
 */
const TARGET_RATIO = 2;
const FLOOR_MS = 1;
const RATIO_TARGET = `≤ ${TARGET_RATIO}× (or + ${FLOOR_MS} ms)`;
const TARGET_HEALTH_MS = 50;
const SERVICE = fileURLToPath(new URL('./scale-service.ts', import.meta.url));

/** One figure at one size: what is shown, and the numbers the ratio is taken of. */
interface Figure {
  row: string;
  target: string;
  shown: string;
  p50: number;
  p99?: number;
  /** An absolute target checked at every size (`/health` under load). */
  within?: boolean;
  /** No ratio target: a figure allowed to grow (text search). */
  reference?: boolean;
}

/** What the section answers run.ts: its table, and lines about the databases for the machine list. */
export interface SectionResult {
  headers: string[];
  rows: TableRow[];
  about: [string, string][];
}

const label = (asks: number) =>
  asks >= 1e6 && asks % 1e6 === 0 ? `${asks / 1e6}M` : asks % 1000 === 0 ? `${asks / 1000}k` : int(asks);

export async function scale(progress: (text: string) => void): Promise<SectionResult> {
  const databases: Filled[] = [];
  for (const asks of SIZES) {
    progress(`${label(asks)} asks: database… `);
    const database = await filled(asks, progress);
    progress(
      database.fresh
        ? `filled in ${database.fillSeconds.toFixed(0)} s\n`
        : `cached (filled in ${database.fillSeconds.toFixed(0)} s on ${database.filledAt.slice(0, 10)})\n`,
    );
    databases.push(database);
  }
  ensureDashboardBuilt();
  const config = noModulesConfig();
  const figures: Figure[][] = databases.map(() => []);
  const add = (each: (k: number) => Figure) => {
    for (const [k, list] of figures.entries()) list.push(each(k));
  };
  const starts: number[][] = databases.map(() => []);
  progress('starting the services… ');
  const services: Served[] = [];
  try {
    for (const [k, database] of databases.entries()) {
      services.push(await serve(database.database, config));
      starts[k]?.push(services[k]?.startMs as number);
    }
    progress('API… ');
    for (const each of await apiFigures(services, progress)) add(each);
    progress('dashboard… ');
    for (const each of await dashboardFigures(services)) add(each);
    add((k) => {
      const memory = rssOf(services[k]?.pid as number);
      return {
        row: 'Service RSS after all the above (peak)',
        target: RATIO_TARGET,
        shown: `${memory.rss.toFixed(0)} MB (peak ${memory.peak.toFixed(0)} MB)`,
        p50: memory.rss,
        p99: memory.peak,
      };
    });
  } finally {
    closeConnections();
    for (const service of services) await service.stop();
  }
  progress('start-up… ');
  for (let i = 1; i < STARTS; i++) {
    for (const [k, database] of databases.entries()) {
      const again = await serve(database.database, config);
      starts[k]?.push(again.startMs);
      await again.stop();
    }
  }
  add((k) => median(`Service start-up, start → /health answered (${STARTS} starts)`, stats(starts[k] ?? [])));
  progress('retention sweeps… ');
  const sweeps = await timeSweeps(databases);
  add((k) => median(`Retention sweep, nothing to prune (${SWEEPS} sweeps)`, stats(sweeps[k] ?? [])));
  progress('done\n');
  return table(databases, figures);
}

/** Per API request, and for `/health` under the slowest: a function from a size's index to its figure. */
async function apiFigures(
  services: readonly Served[],
  progress: (text: string) => void,
): Promise<((k: number) => Figure)[]> {
  const sets = await Promise.all(services.map((service) => probes(`${service.url}/api/v1`)));
  const timed = await timeProbes(sets);
  const figures = (sets[0] ?? []).map((probe, i) => (k: number): Figure => {
    const s = timed[k]?.[i] as Stats;
    return {
      row: `GET ${probe.name}: p50 / p99`,
      target: probe.reference ?? RATIO_TARGET,
      shown: `${ms(s.p50)} / ${ms(s.p99)} ms${s.n < 100 ? ` (${s.n} requests)` : ''}`,
      p50: s.p50,
      p99: s.p99,
      reference: probe.reference !== undefined,
    };
  });
  progress('/health under load… ');
  const loaded: ({ heavy: Probe } & Awaited<ReturnType<typeof healthUnderLoad>>)[] = [];
  for (const [k, service] of services.entries()) {
    const list = timed[k] as Stats[];
    const slowest = list.reduce((a, s, i) => (s.p50 > (list[a] as Stats).p50 ? i : a), 0);
    const heavy = sets[k]?.[slowest] as Probe;
    loaded.push({ heavy, ...(await healthUnderLoad(`${service.url}/api/v1`, heavy)) });
  }
  figures.push((k) => {
    const { heavy, stats: s, runs, failed } = loaded[k] as (typeof loaded)[number];
    return {
      row: 'GET /health every 20 ms while the slowest request above runs back to back: p50 / p99 / max',
      target: `p99 ≤ ${TARGET_HEALTH_MS} ms`,
      shown: `${spread(s)} (during ${heavy.name}, ${runs} runs${failed ? `; ${failed} failed!` : ''})`,
      p50: s.p50,
      p99: s.p99,
      within: s.p99 <= TARGET_HEALTH_MS && !failed,
    };
  });
  return figures;
}

/** `LOADS` first loads of the dashboard from each service, alternating between them. */
async function dashboardFigures(services: readonly Served[]): Promise<((k: number) => Figure)[]> {
  const browser = await launchChromium();
  const loads = services.map(() => ({ overview: [] as number[], tasks: [] as number[], cpuMs: [] as number[] }));
  try {
    for (let i = 0; i < LOADS; i++) {
      for (const [k, service] of services.entries()) {
        const load = await firstLoad(browser, service.url, service.pid);
        for (const key of ['overview', 'tasks', 'cpuMs'] as const) loads[k]?.[key].push(load[key]);
      }
    }
  } finally {
    await browser.close();
  }
  return [
    (k) => median('Dashboard first load: overview (totals, active work) shown', stats(loads[k]?.overview ?? [])),
    (k) => median('Dashboard first load: task list shown', stats(loads[k]?.tasks ?? [])),
    (k) => median('Dashboard first load: service CPU per view', stats(loads[k]?.cpuMs ?? [])),
  ];
}

/** `SWEEPS` retention sweeps of each database, alternating, each finding nothing old enough to prune. */
async function timeSweeps(databases: readonly Filled[]): Promise<number[][]> {
  const hubs = [];
  try {
    for (const database of databases) {
      hubs.push(await openHub({ database: database.database, retentionDays: 0, config: false }));
    }
    const sweeps: number[][] = hubs.map(() => []);
    for (let i = 0; i < SWEEPS; i++) {
      for (const [k, hub] of hubs.entries()) {
        const start = now();
        const pruned = await hub.events.prune(new Date(Date.now() - RETENTION_DAYS * DAY_MS));
        sweeps[k]?.push(now() - start);
        if (pruned) throw new Error(`the retention sweep pruned ${pruned} events of the cached database`);
      }
    }
    return sweeps;
  } finally {
    for (const hub of hubs) await hub.close();
  }
}

/** A figure of few samples (ms): its median and its largest. */
function median(row: string, s: Stats): Figure {
  return {
    row: `${row}: median / max`,
    target: RATIO_TARGET,
    shown: `${ms(s.p50)} / ${ms(s.max)} ms`,
    p50: s.p50,
    p99: s.max,
  };
}

/** The service's resident memory and its peak, in MB (Linux). */
function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The rows: each figure at each size, and the ratio of the largest size's to the smallest's. */
function table(databases: readonly Filled[], figures: readonly Figure[][]): SectionResult {
  const [first, last] = [databases[0] as Filled, databases.at(-1) as Filled];
  const rows: TableRow[] = (figures[0] ?? []).map((figure, i) => {
    const at = figures.map((list) => list[i] as Figure);
    const [base, top] = [at[0] as Figure, at.at(-1) as Figure];
    const cells: (Cell | undefined)[] = at.map((f) => ({
      row: figure.row,
      target: figure.target,
      value: f.shown,
      ...(f.within === undefined ? {} : { ok: f.within }),
    }));
    const ratio = top.p50 / base.p50;
    const tail =
      top.p99 !== undefined && base.p99 !== undefined
        ? ` (${figure.within === undefined ? 'p99' : 'tail'} ×${(top.p99 / base.p99).toFixed(2)})`
        : '';
    const judged = !figure.reference && figure.within === undefined;
    cells.push({
      row: figure.row,
      target: figure.target,
      value: `×${ratio.toFixed(2)}${tail}`,
      ...(judged ? { ok: ratio <= TARGET_RATIO || top.p50 - base.p50 <= FLOOR_MS } : {}),
    });
    return { row: figure.row, target: figure.target, cells };
  });
  const about = databases.map((f): [string, string] => [
    `${label(f.asks)} asks`,
    `${int(f.events)} events, ${(f.bytes / 2 ** 30).toFixed(2)} GB; filled by bulk loading in ${f.fillSeconds.toFixed(0)} s on ${f.filledAt.slice(0, 10)}${f.fresh ? ' (this run)' : ''}; cached in ${CACHE_DIR}`,
  ]);
  const headers = ['Figure', 'Target', ...databases.map((f) => `${label(f.asks)} asks`)];
  return { headers: [...headers, `${label(last.asks)} ÷ ${label(first.asks)}`], rows, about };
}

// ---- the service ------------------------------------------------------------------------------------------------

interface Served {
  url: string;
  pid: number;
  /** From starting the process to `/health` answered. */
  startMs: number;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

/**
 * Starts the service on `database` in a child process and times it until `/health` answers. The retention lease
 * the previous service held is released first, so every start runs its sweep (a service restarted within the hour
 * would skip it; one restarted later, the common case, does not).
 */
async function serve(database: string, config: string): Promise<Served> {
  const db = await openDatabase(database);
  try {
    const leases = new LeaseStore(db);
    const held = await leases.get('retention');
    if (held) await leases.release(held);
  } finally {
    await db.close();
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const once = new Agent({ keepAlive: false });
  const start = now();
  const child = startChild(SERVICE, [database, config, String(port), String(RETENTION_DAYS)], 60 * 60_000);
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  for (;;) {
    try {
      await get(`${url}/api/v1/health`, once, 600_000);
      break;
    } catch (err) {
      if (exited) throw new Error(`the service did not start: ${(err as Error).message}`);
      await sleep(5);
    }
  }
  const startMs = now() - start;
  const { pid } = await child.message('pid');
  return {
    url,
    pid: Number(pid),
    startMs,
    stop: async () => {
      child.send('stop');
      await child.exited;
    },
  };
}
