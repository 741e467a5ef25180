/** Shared by the benchmarks: clocks, pacing, statistics, child processes, the result table and the machine. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type Agent, request } from 'node:http';
import os from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Hub } from '../src/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Epoch milliseconds with sub-microsecond resolution; comparable between processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

let scratchDir: string | undefined;

/** A temporary directory for this run (SQLite files, id lists), made on first use. */
export function scratch(): string {
  scratchDir ??= mkdtempSync(join(os.tmpdir(), 'cc-bench-'));
  return scratchDir;
}

export function removeScratch(): void {
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  scratchDir = undefined;
}

/** One database backend under test; `fresh()` answers the URL of a new, empty database. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(): Promise<string>;
  /** PostgreSQL only: the server processes serving `database` (to charge their CPU to the client). */
  serverPids?(database: string): Promise<number[]>;
}

/** One benchmark's result on one backend: a row of the table. */
export interface Cell {
  row: string;
  target: string;
  value: string;
  /** Whether the target is met; undefined when the row has no target on this backend. */
  ok?: boolean;
}

/** Runs `fn(i)` for i < count at `perSecond`, on schedule (late calls are not bunched up to catch up). */
export async function paced(count: number, perSecond: number, fn: (i: number) => void): Promise<void> {
  const gap = 1000 / perSecond;
  let due = now();
  for (let i = 0; i < count; i++) {
    if (due > now()) await sleep(due - now());
    fn(i);
    due = Math.max(due + gap, now());
  }
}

/** Runs `fn` over `items` with `concurrency` lanes, each awaiting its call before taking the next item. */
export async function lanes<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Creates `count` pending replies in a new thread (not timed) and answers their ids. */
export async function createMessages(hub: Hub, count: number): Promise<string[]> {
  const thread = await hub.threads.create({ title: 'bench', createdBy: 'bench' });
  const ids: string[] = [];
  await lanes(Array.from({ length: count }), 64, async () => {
    ids.push((await hub.messages.create({ threadId: thread.id, author: 'bench' })).id);
  });
  return ids;
}

export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function stats(samples: readonly number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, mean, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? Number.NaN };
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export const int = (value: number): string => Math.round(value).toLocaleString('en-US');

/** "0.42 / 1.20 / 3.1 ms": p50 / p99 / max, as every latency row shows them. */
export const spread = (s: Stats): string => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)} ms`;

/**
 * Per message heard, from its commit to its callback. The commit is when the write call resolved, so a callback
 * that ran before the writer resumed from it counts as 0.
 */
export function commitToCallback(heardAt: ReadonlyMap<string, number>, committedAt: ReadonlyMap<string, number>) {
  return [...heardAt].map(([id, heard]) => Math.max(0, heard - (committedAt.get(id) ?? heard)));
}

/** How long the idle benchmarks watch a process sit still. */
export const IDLE_MS = 10_000;

export interface IdleUsage {
  /** CPU time of the process (user + system, all threads) over the window, in % of one core. */
  cpuPct: number;
  /** Resident set size at the end of the window, and the part of it that is live JavaScript heap. */
  rssMb: number;
  heapMb: number;
  /** PostgreSQL only: CPU of the server processes serving the database over the same window. */
  serverPct?: number;
}

/** Child side of an idle benchmark: announces the window, sits through it, then reports its usage. */
export async function idleWindow(extra: () => Record<string, unknown> = () => ({})): Promise<void> {
  tell({ idle: true });
  const cpu = process.cpuUsage();
  const start = now();
  await sleep(IDLE_MS);
  const used = process.cpuUsage(cpu);
  const cpuPct = ((used.user + used.system) / 1000 / (now() - start)) * 100;
  const { rss, heapUsed } = process.memoryUsage();
  tell({ ...extra(), cpuPct, rssMb: rss / 2 ** 20, heapMb: heapUsed / 2 ** 20 });
}

/**
 * Parent side: writes `ids` to a file, starts `file idle DATABASE IDS_FILE` and answers what it reported, plus
 * (PostgreSQL) the CPU its server processes used during the window.
 */
export async function idleChild(
  file: string,
  backend: Backend,
  database: string,
  ids: readonly string[],
): Promise<IdleUsage & Record<string, unknown>> {
  const idsFile = join(mkdtempSync(join(scratch(), 'ids-')), 'ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const child = startChild(file, ['idle', database, idsFile], IDLE_MS + 120_000);
  await child.message('idle');
  const pids = (await backend.serverPids?.(database)) ?? [];
  const [before, start] = [cpuSeconds(pids), now()];
  const report = await child.message('cpuPct');
  let serverPct: number | undefined;
  if (backend.serverPids) {
    // Server processes that ended during the window (idle pool connections timing out) are left out.
    let used = 0;
    for (const [pid, seconds] of cpuSeconds(pids)) used += seconds - (before.get(pid) ?? seconds);
    serverPct = (used / ((now() - start) / 1000)) * 100;
  }
  await child.exited;
  return { ...(report as unknown as IdleUsage), serverPct };
}

/** "86 MB (JS heap 14 MB)" */
export const rss = (u: IdleUsage): string => `${u.rssMb.toFixed(0)} MB (JS heap ${u.heapMb.toFixed(0)} MB)`;

/** "0.05 % (+ server 0.01 %)" */
export const cpu = (u: IdleUsage): string =>
  `${u.cpuPct.toFixed(2)} %${u.serverPct === undefined ? '' : ` (+ server ${u.serverPct.toFixed(2)} %)`}`;

/** CPU seconds used so far by each of the given processes (Linux; processes that are gone are left out). */
export function cpuSeconds(pids: readonly number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      // After "pid (comm) ": state is field 3 of stat(5); utime and stime are fields 14 and 15, in 1/100 s.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      used.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {}
  }
  return used;
}

// ---- child processes -------------------------------------------------------------------------------------------

/**
 * True when the module at `url` is the process's entry point (a benchmark file started as a child). A module's
 * URL is its real path, and the compiled children live under node_modules, which may be a symbolic link.
 */
export const isMain = (url: string): boolean =>
  !!process.argv[1] && url === pathToFileURL(realpathSync(process.argv[1])).href;

/** Child side: one JSON line to the parent. */
export const tell = (message: Record<string, unknown>): void =>
  void process.stdout.write(`${JSON.stringify(message)}\n`);

/** Child side: resolves when the parent writes a line. */
export function heard(): Promise<void> {
  return new Promise((resolve) =>
    process.stdin.once('data', () => {
      process.stdin.destroy(); // one line is all a child hears; an open stdin would keep it running
      resolve();
    }),
  );
}

export interface Child {
  /** Resolves with the first JSON line carrying `key`; rejects if the child exits or times out first. */
  message(key: string): Promise<Record<string, unknown>>;
  send(line: string): void;
  /** Resolves once the child has exited. */
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();

/** Kills every child still running (on exit or interruption). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

/**
 * Where `compile()` puts the JavaScript the children run. Children run compiled code with plain `node`, as the
 * hub runs in production: under tsx, its loader thread and esbuild would add some 50 MB to their RSS. Per run,
 * so two runs at once do not pull the files from under each other's children.
 */
const COMPILED = join(ROOT, 'node_modules/.cache/claude-comms-bench', String(process.pid));
process.on('exit', () => rmSync(COMPILED, { recursive: true, force: true }));

/** Compiles src/ and bench/ (no type check: `npm run check` does that) for the children. */
export function compile(): void {
  rmSync(COMPILED, { recursive: true, force: true });
  mkdirSync(COMPILED, { recursive: true });
  const config = {
    extends: relative(COMPILED, join(ROOT, 'tsconfig.json')),
    compilerOptions: { noEmit: false, noCheck: true, rootDir: relative(COMPILED, ROOT), outDir: '.' },
    include: ['src', 'bench'].map((dir) => relative(COMPILED, join(ROOT, dir))),
  };
  writeFileSync(join(COMPILED, 'tsconfig.json'), JSON.stringify(config));
  // The service reads its version from ../../package.json, as it does from dist/, and the dashboard it serves from
  // ../../dist/dashboard (built by `npm run build`).
  copyFileSync(join(ROOT, 'package.json'), join(COMPILED, 'package.json'));
  mkdirSync(join(COMPILED, 'dist'));
  symlinkSync(join(ROOT, 'dist/dashboard'), join(COMPILED, 'dist/dashboard'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', COMPILED], { stdio: 'inherit' });
}

/** Starts the compiled `file` (a bench/*.ts path) with `node`, passing `args`; it is killed after `timeoutMs`. */
export function startChild(file: string, args: string[], timeoutMs: number): Child {
  const compiled = join(COMPILED, relative(ROOT, file)).replace(/\.ts$/, '.js');
  const child = spawn(process.execPath, [compiled, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: Record<string, unknown>[] = [];
  const waiters: { key: string; resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | undefined;
  let out = '';
  let err = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const settle = () => {
    for (const w of [...waiters]) {
      const found = lines.find((l) => w.key in l);
      if (found) w.resolve(found);
      else if (failure) w.reject(failure);
      else continue;
      waiters.splice(waiters.indexOf(w), 1);
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      lines.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
    }
    settle();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      failure = new Error(`${file} ${args[0]} exited (${code ?? signal}) early: ${err.trim() || 'no stderr'}`);
      settle();
      resolve();
    }),
  );
  return {
    message: (key) =>
      new Promise((resolve, reject) => {
        waiters.push({ key, resolve, reject });
        settle();
      }),
    send: (line) => child.stdin?.write(`${line}\n`),
    exited,
  };
}

// ---- results ----------------------------------------------------------------------------------------------------

export interface TableRow {
  row: string;
  target: string;
  cells: (Cell | undefined)[];
}

/** Groups cells into rows (in first-seen order), one column per backend. */
export function tabulate(columns: readonly string[], results: readonly { column: string; cells: Cell[] }[]) {
  const rows = new Map<string, TableRow>();
  for (const { column, cells } of results) {
    for (const cell of cells) {
      let row = rows.get(cell.row);
      if (!row) {
        row = { row: cell.row, target: cell.target, cells: columns.map(() => undefined) };
        rows.set(cell.row, row);
      }
      row.cells[columns.indexOf(column)] = cell;
    }
  }
  return [...rows.values()];
}

const shown = (cell: Cell | undefined): string =>
  cell ? `${cell.value}${cell.ok === undefined ? '' : cell.ok ? ' ✓' : ' ✗'}` : '—';

/** A plain-text table with aligned columns. */
export function textTable(headers: readonly string[], rows: readonly TableRow[]): string {
  const body = rows.map((r) => [r.row, r.target, ...r.cells.map(shown)]);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((line) => (line[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(headers: readonly string[], rows: readonly TableRow[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [
    line(headers),
    line(headers.map(() => '---')),
    ...rows.map((r) => line([r.row, r.target, ...r.cells.map(shown)])),
  ].join('\n');
}

/** What the numbers were measured on (PostgreSQL's version when a cluster is given). */
export async function machine(postgresUrl?: string): Promise<[string, string][]> {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  let distro = os.type();
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {}
  const sqlite = new BetterSqlite3(':memory:');
  const sqliteVersion = (sqlite.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  sqlite.close();
  let pgVersion: string | undefined;
  if (postgresUrl) {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    pgVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
    await client.end();
  }
  const info: [string, string][] = [
    ['CPU', `${cpu ?? 'unknown'}, ${os.availableParallelism()} cores`],
    ['RAM', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `${distro} (Linux ${os.release()})`],
    ['Temp storage', mountOf(os.tmpdir())],
    ['Node.js', process.version],
    ['SQLite', `${sqliteVersion} (better-sqlite3, WAL, synchronous=NORMAL)`],
    ['PostgreSQL', `${pgVersion ?? 'unknown'} (throwaway cluster on 127.0.0.1, fsync=off)`],
    ['Code', revision()],
    ['Date', new Date().toISOString().replace(/\.\d+Z$/, 'Z')],
  ];
  return postgresUrl ? info : info.filter(([key]) => key !== 'PostgreSQL');
}

/** The commit measured, and whether src/ had changes on top of it. */
function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src') ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The filesystem holding `path`, from /proc/mounts. */
function mountOf(path: string): string {
  let best = { point: '', text: 'unknown' };
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, point, type] = line.split(' ');
      if (!device || !point || !type) continue;
      const inside = path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
      if (inside && point.length >= best.point.length) best = { point, text: `${path} on ${type} (${device})` };
    }
  } catch {}
  return best.text;
}

/** `POST {url}/api/v1/ask` with `body` over `agent` (keep-alive): the status and the answer's text. */
export function postAsk(
  url: string,
  agent: Agent,
  body: Record<string, unknown>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const json = JSON.stringify(body);
    const req = request(
      `${url}/api/v1/ask`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(json);
  });
}
