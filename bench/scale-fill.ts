/**
 * The scale benchmarks' databases: SQLite files of N finished asks (bench/scale-data.ts) written by bulk loading
 * (src/store/bulk-load.ts), kept between runs in `CACHE_DIR` — shared by every checkout on the machine — under
 * a name carrying the size, `FILL_VERSION` and the schema version, so that a change to the rows or to the schema
 * fills them anew. A fill goes to a file of its own and takes the cache's name only once complete; one process
 * fills a given file at a time (the others wait for it), and a file not used for a week gives way to a new one.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BulkLoader } from '../src/store/bulk-load.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { history, moduleRows } from './scale-data.js';
import { int, now, sleep } from './support.js';

/** Where the filled databases live (about 600 MB per 100,000 asks). */
export const CACHE_DIR = join(os.tmpdir(), 'claude-comms-bench-scale');
/** Raise when bench/scale-data.ts or src/store/bulk-load.ts write other rows: the cached files are then refilled. */
const FILL_VERSION = 1;
/** A cached file unused this long is removed when another is filled. */
const UNUSED_MS = 7 * 24 * 60 * 60 * 1000;

/** A filled database, and how it came to be. */
export interface Filled {
  asks: number;
  /** `sqlite:PATH` */
  database: string;
  path: string;
  /** How long the fill took, in seconds, and when it ran (it may have been an earlier run's). */
  fillSeconds: number;
  filledAt: string;
  events: number;
  bytes: number;
  /** True when this run filled it. */
  fresh: boolean;
}

type FillRecord = Omit<Filled, 'database' | 'path' | 'fresh'>;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The database of `asks` finished asks, filled now unless the cache has it. */
export async function filled(asks: number, progress: (text: string) => void): Promise<Filled> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const name = `asks-${asks}-fill${FILL_VERSION}-schema${SCHEMA_VERSION}`;
  const path = join(CACHE_DIR, `${name}.db`);
  const record = join(CACHE_DIR, `${name}.json`);
  const lock = join(CACHE_DIR, `${name}.lock`);
  for (;;) {
    if (existsSync(record)) {
      const at = new Date();
      utimesSync(record, at, at); // used: kept another week
      return {
        ...(JSON.parse(readFileSync(record, 'utf8')) as FillRecord),
        database: `sqlite:${path}`,
        path,
        fresh: false,
      };
    }
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8'));
      if (holder && alive(holder)) {
        progress(`(process ${holder} is filling ${name}; waiting) `);
        await sleep(5_000);
      } else rmSync(lock, { force: true });
    }
  }
  try {
    removeUnused();
    const partial = join(CACHE_DIR, `${name}.partial-${process.pid}.db`);
    const start = now();
    const events = await fill(`sqlite:${partial}`, asks, progress);
    const fillSeconds = (now() - start) / 1000;
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    linkSync(partial, path);
    rmSync(partial);
    const done: FillRecord = {
      asks,
      fillSeconds,
      filledAt: new Date().toISOString(),
      events,
      bytes: statSync(path).size,
    };
    writeFileSync(record, JSON.stringify(done));
    return { ...done, database: `sqlite:${path}`, path, fresh: true };
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Loads the history of `asks` asks into a new database in chunks (memory stays flat); answers the events written. */
async function fill(database: string, asks: number, progress: (text: string) => void): Promise<number> {
  const plan = { asks, end: Date.now() };
  const loader = await BulkLoader.open(database);
  let [events, done, shown] = [0, 0, 0];
  try {
    await loader.insert(moduleRows(plan));
    for (const chunk of history(plan)) {
      await loader.insert(chunk);
      events += chunk.events?.length ?? 0;
      done += chunk.tasks?.length ?? 0;
      if (done / asks >= shown + 0.1) {
        shown = Math.floor((done / asks) * 10) / 10;
        progress(`${Math.round(shown * 100)} % `);
      }
    }
  } catch (err) {
    await loader.close();
    throw err;
  }
  await loader.finish();
  progress(`(${int(events)} events) `);
  return events;
}

/**
 * Removes what no run will use again: fills given up (their process gone) and cached files unused for a week (a
 * newer fill version or schema took their place). Another checkout may still use an older schema's file, so a
 * file in use stays.
 */
function removeUnused(): void {
  for (const file of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, file);
    const partial = /\.partial-(\d+)\.db/.exec(file);
    if (partial && !alive(Number(partial[1]))) rmSync(path, { force: true });
    const cached = /^(asks-.*)\.json$/.exec(file);
    if (cached && Date.now() - statSync(path).mtimeMs > UNUSED_MS) {
      for (const suffix of ['.json', '.db', '.db-wal', '.db-shm'])
        rmSync(join(CACHE_DIR, `${cached[1]}${suffix}`), { force: true });
    }
  }
}
