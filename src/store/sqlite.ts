/**
 * The SQLite backend (default): one file shared by any number of processes.
 *
 * Two connections: writes go through one, queued in-process (and committed in groups) and serialized across
 * processes by `BEGIN IMMEDIATE`; reads go through the other, so a reader never sees a write transaction that has not
 * committed. Statements are prepared once per connection and cached (about 10x cheaper than preparing per call).
 */
import { existsSync, type FSWatcher, mkdirSync, statSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { HubError } from '../domain/errors.js';
import type { HubEvent, NewEvent } from '../domain/types.js';
import type { Database, Query, Row, SqlClient, WriteTx } from './database.js';
import { insertEvents, notify, outboxTx } from './event-rows.js';
import { queryBuilder } from './schema.js';
import { StorageHealth } from './storage-health.js';
import { endOfTurn, WriteTurn } from './write-turn.js';

/** `normal` survives a process crash (WAL, synchronous=NORMAL); `full` also survives power loss at a cost per commit. */
export type Durability = 'normal' | 'full';

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

interface Job {
  fn: (tx: WriteTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Most write transactions committed together (bounds how long one commit holds the file's write lock). */
const MAX_BATCH = 256;
/** How long a writer waits for another process's write transaction before giving up. */
const LOCK_WAIT_MS = 10_000;

function bind(params: readonly unknown[] | undefined): unknown[] {
  if (!params) return [];
  return params.map((p) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

/**
 * A client over one connection with a per-connection statement cache. `failed` turns what a statement throws into
 * what the caller gets (inside a write transaction errors pass as they are: the transaction maps them once).
 */
class SqliteClient implements SqlClient {
  private readonly statements = new Map<string, Statement>();
  constructor(
    readonly connection: BetterSqlite3.Database,
    private readonly isClosed: () => boolean,
    private readonly failed: (err: unknown) => unknown = (err) => err,
  ) {}

  statement(sql: string): Statement {
    if (this.isClosed()) throw new HubError('closed', 'the hub is closed');
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.connection.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private prepared(query: Query, params?: readonly unknown[]): [Statement, unknown[]] {
    return typeof query === 'string'
      ? [this.statement(query), bind(params)]
      : [this.statement(query.sql), bind(query.parameters)];
  }

  async all<T = Row>(query: Query, params?: readonly unknown[]): Promise<T[]> {
    try {
      const [stmt, values] = this.prepared(query, params);
      if (stmt.reader) return stmt.all(...values) as T[];
      stmt.run(...values);
      return [];
    } catch (err) {
      throw this.failed(err);
    }
  }

  async get<T = Row>(query: Query, params?: readonly unknown[]): Promise<T | undefined> {
    try {
      const [stmt, values] = this.prepared(query, params);
      if (stmt.reader) return stmt.get(...values) as T | undefined;
      stmt.run(...values);
      return undefined;
    } catch (err) {
      throw this.failed(err);
    }
  }

  async run(query: Query, params?: readonly unknown[]): Promise<number> {
    try {
      const [stmt, values] = this.prepared(query, params);
      return stmt.run(...values).changes;
    } catch (err) {
      throw this.failed(err);
    }
  }
}

/** Opens `path` and explains in one sentence why when it cannot be. */
function openConnection(path: string): BetterSqlite3.Database {
  try {
    if (existsSync(path) && statSync(path).isDirectory()) throw new Error('it is a directory');
    mkdirSync(dirname(path), { recursive: true });
    return new BetterSqlite3(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new HubError('unavailable', `cannot open SQLite database at ${path}: ${reason}`, { cause: err });
  }
}

/** The SQLite implementation of the store's Database port. */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  readonly builder = queryBuilder('sqlite');
  readonly storage = new StorageHealth((fn) => this.write(fn));
  readonly read: SqliteClient;
  private readonly writer: SqliteClient;
  private readonly jobs: Job[] = [];
  private draining: Promise<void> | undefined;
  private readonly turn = new WriteTurn();
  private readonly listeners: ((events: HubEvent[]) => void)[] = [];
  private closed = false;

  /** `onWriter`: tests only, see `OpenDatabaseOptions.sqliteWriter`. */
  constructor(
    readonly location: string,
    durability: Durability = 'normal',
    onWriter?: (connection: BetterSqlite3.Database) => void,
  ) {
    const writer = openConnection(location);
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('busy_timeout = 5000');
      writer.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
      writer.pragma('foreign_keys = ON');
      // Set last: the pragmas above may wait for a lock; from here on, `begin()` waits without blocking.
      writer.pragma('busy_timeout = 0');
      const reader = openConnection(location);
      // Readers of a WAL database wait only while another process recovers the WAL after a crash; this wait is
      // synchronous, so it is kept short.
      reader.pragma('busy_timeout = 200');
      reader.pragma('query_only = ON');
      this.read = new SqliteClient(
        reader,
        () => this.closed,
        (err) => this.failed(err),
      );
      onWriter?.(writer);
    } catch (err) {
      writer.close();
      if (err instanceof HubError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new HubError('unavailable', `cannot use SQLite database at ${location}: ${reason}`, { cause: err });
    }
    // The writer finishes queued work after close() begins; close() waits for it before closing the connection.
    this.writer = new SqliteClient(writer, () => false);
  }

  onCommit(listener: (events: HubEvent[]) => void): void {
    this.listeners.push(listener);
  }

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new HubError('closed', 'the hub is closed'));
    const written = new Promise<T>((resolve, reject) => {
      this.jobs.push({ fn, resolve, reject } as Job);
      if (!this.draining) this.draining = this.startDrain();
    });
    return this.storage.outcome(written, this);
  }

  /** A storage fault (or a busy database) as its HubError, reported to `storage`; anything else as it is. */
  private failed(err: unknown): unknown {
    return this.storage.mapped(err, this);
  }

  /** The group starts at once or at the end of this turn of the event loop (see write-turn.ts). */
  private startDrain(): Promise<void> {
    return this.turn.followsOn() ? this.drain() : endOfTurn().then(() => this.drain());
  }

  /**
   * Group commit: write transactions that queue up while one runs are committed together, each inside its own
   * savepoint, so one failing rolls back only itself. A commit costs a few WAL writes and file locks whatever it
   * holds; sharing it is what lets concurrent writers go well past what one-commit-per-change allows.
   */
  private async drain(): Promise<void> {
    try {
      while (this.jobs.length) {
        const batch = this.jobs.splice(0, MAX_BATCH);
        try {
          await this.commitBatch(batch);
        } catch (err) {
          // Only SQLite itself failing gets here (a savepoint or rollback statement); nothing of the batch
          // committed, and the lock must not stay held.
          try {
            if (this.writer.connection.inTransaction) this.writer.connection.exec('ROLLBACK');
          } catch {
            // A disk that fails the rollback too: SQLite rolls back from the journal when the file is next used.
          }
          for (const job of batch) job.reject(err);
        }
      }
    } finally {
      this.draining = undefined;
      this.turn.ended();
    }
  }

  /**
   * Takes the file's write lock. SQLite's own busy handler would sleep *synchronously*, freezing the event loop
   * — and with it any other hub in this process that holds the lock mid-transaction, a deadlock until the
   * timeout. So the writer connection has no busy timeout and waits here asynchronously, backing off from
   * 0.25 ms to 16 ms, for at most 10 s.
   */
  private async begin(): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        this.writer.statement('BEGIN IMMEDIATE').run();
        return;
      } catch (err) {
        // SQLITE_BUSY and its extended forms (SQLITE_BUSY_RECOVERY while another process recovers the WAL).
        if (!String((err as { code?: string }).code).startsWith('SQLITE_BUSY')) throw err;
        if (Date.now() > deadline) {
          throw new HubError(
            'unavailable',
            `the SQLite database at ${this.location} stayed locked by another writer for ${LOCK_WAIT_MS / 1000} s`,
            { cause: err },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(16, 0.25 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  private async commitBatch(batch: Job[]): Promise<void> {
    const w = this.writer;
    const single = batch.length === 1;
    const done: { job: Job; result: unknown; events: HubEvent[] }[] = [];
    const failed: { job: Job; err: unknown }[] = [];
    // The error that made SQLite roll the whole transaction back (a full disk or an I/O error may), if one did:
    // the jobs after it fail with it.
    let abortedBy: unknown;
    try {
      await this.begin();
    } catch (err) {
      for (const job of batch) job.reject(err);
      return;
    }
    for (const job of batch) {
      if (!w.connection.inTransaction) {
        failed.push({
          job,
          err: abortedBy ?? new HubError('unavailable', 'the SQLite transaction was aborted by an earlier error'),
        });
        continue;
      }
      const queued: NewEvent[] = [];
      const tx = outboxTx(w, queued);
      try {
        if (!single) w.statement('SAVEPOINT job').run();
        const result = await job.fn(tx);
        const events = queued.length ? await insertEvents(w, queued) : [];
        if (!single) w.statement('RELEASE job').run();
        done.push({ job, result, events });
      } catch (err) {
        if (!single && w.connection.inTransaction) {
          w.statement('ROLLBACK TO job').run();
          w.statement('RELEASE job').run();
        }
        if (!w.connection.inTransaction) abortedBy ??= err;
        failed.push({ job, err });
      }
    }
    try {
      if (!w.connection.inTransaction)
        throw abortedBy ?? new HubError('unavailable', 'the SQLite transaction was aborted');
      if (done.length) w.statement('COMMIT').run();
      else w.statement('ROLLBACK').run();
    } catch (err) {
      if (w.connection.inTransaction) w.statement('ROLLBACK').run();
      for (const { job } of done) failed.push({ job, err });
      done.length = 0;
    }
    const events = done.flatMap((d) => d.events);
    if (events.length) notify(this.listeners, events);
    for (const { job, result } of done) job.resolve(result);
    for (const { job, err } of failed) job.reject(err);
  }

  watchChanges(onChange: () => void, intervalMs: number): () => void {
    // data_version changes when any *other* connection commits, so our own commits cost nothing here.
    let version = this.writer.connection.pragma('data_version', { simple: true });
    const check = () => {
      if (this.closed) return;
      try {
        const now = this.writer.connection.pragma('data_version', { simple: true });
        if (now === version) return;
        version = now;
      } catch {
        // Busy while another process recovers the WAL: read anyway rather than risk missing a commit.
      }
      onChange();
    };
    // Another process's commit writes the WAL file; inotify wakes us within microseconds, far below any poll.
    let watcher: FSWatcher | undefined;
    // The notification comes when the WAL frames are written, microseconds before the commit is visible (SQLite
    // updates the wal-index in the -shm file after the frames, and writes to that memory map notify nobody). A
    // check made in between sees nothing, and no later notification follows for that commit, so the last
    // notification of a burst gets one more check 5 ms later.
    let recheck: NodeJS.Timeout | undefined;
    const notified = () => {
      check();
      if (recheck) {
        recheck.refresh();
        return;
      }
      recheck = setTimeout(() => {
        recheck = undefined;
        check();
      }, 5);
      recheck.unref();
    };
    const wal = `${this.location}-wal`;
    const startWatch = () => {
      try {
        watcher = watch(existsSync(wal) ? wal : dirname(this.location), { persistent: false }, (kind) => {
          notified();
          if (kind === 'rename') {
            watcher?.close();
            startWatch();
          }
        });
        watcher.on('error', () => undefined);
      } catch {
        watcher = undefined;
      }
    };
    startWatch();
    const timer = setInterval(check, intervalMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      if (recheck) clearTimeout(recheck);
      watcher?.close();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.storage.close();
    await this.draining;
    this.read.connection.close();
    this.writer.connection.close();
  }
}
