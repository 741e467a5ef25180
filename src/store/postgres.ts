/**
 * The PostgreSQL backend: many processes on many hosts share one database.
 *
 * Sequence numbers are assigned at insert, not at commit, so a reader following `seq > cursor` could skip an
 * event whose transaction commits after a later one. Every write transaction therefore appends its events last,
 * under a transaction-scoped advisory lock held until commit: events commit in sequence order, and the
 * committed log is always a prefix. The lock is held only for the insert and the commit (well under a
 * millisecond on loopback), not for the transaction's other work.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { HubError } from '../domain/errors.js';
import type { HubEvent, NewEvent } from '../domain/types.js';
import type { Database, Query, Row, SqlClient, WriteTx } from './database.js';
import { type AppendEvents, EVENT_INSERT_COLUMNS, insertEvents, notify, outboxTx } from './event-rows.js';
import { maskPassword } from './location.js';
import { queryBuilder } from './schema.js';
import { storageError } from './storage-fault.js';
import { StorageHealth } from './storage-health.js';

/** The advisory lock every event append takes (an arbitrary constant, "cc" in its high bytes). */
const EVENT_APPEND_LOCK = 0x63630001;
/**
 * The NOTIFY channel. A notification carries only the id of the backend that wrote (PostgreSQL folds identical
 * ones within a transaction), so a hub skips its own: those commits were already dispatched from memory.
 */
const CHANNEL = 'claude_comms_events';

/** Events per append statement: 8 parameters each, well inside PostgreSQL's 65,535. */
const APPEND_CHUNK = 1000;

/**
 * A transaction's events are appended by one statement that takes the advisory lock, queues the NOTIFY and
 * inserts the rows, in that order (each CTE feeds the next, so the lock is held before a sequence number is
 * drawn). One round trip instead of one per event shortens the time the lock is held: it is the critical
 * section every writer shares. Rows are inserted in the order given, so their sequence numbers ascend in it.
 */
function appendStatement(count: number, lock: boolean): string {
  const values = Array.from(
    { length: count },
    (_, i) => `(${Array.from({ length: 8 }, (_, j) => `$${i * 8 + j + 1}`).join(', ')}, ${i})`,
  ).join(', ');
  const columns = EVENT_INSERT_COLUMNS.split(', ');
  // The last parameter is the notification's payload: the writing hub's origin.
  const origin = `$${count * 8 + 1}::text`;
  const head = lock
    ? `WITH locked AS (SELECT pg_advisory_xact_lock(${EVENT_APPEND_LOCK})),
    notified AS (SELECT pg_notify('${CHANNEL}', ${origin}) FROM locked) `
    : `WITH notified AS (SELECT pg_notify('${CHANNEL}', ${origin})) `;
  return `${head}INSERT INTO events (${EVENT_INSERT_COLUMNS})
    SELECT ${columns.map((c) => `v.${c}`).join(', ')} FROM notified, (VALUES ${values}) AS v (${EVENT_INSERT_COLUMNS}, n)
    ORDER BY v.n RETURNING seq`;
}

/**
 * Statements are prepared once per connection under a generated name, which spares the server parsing and
 * planning them on every execution. The SQL of this code base is a fixed set; past this many distinct texts
 * (queries built with a variable number of parameters) the rest run unnamed, so no connection grows without
 * bound.
 */
const MAX_PREPARED = 500;
const prepared = new Map<string, string>();
/** Bumped when a schema change invalidates prepared statements, so that every text is prepared anew. */
let generation = 0;

function statementName(text: string): string | undefined {
  let name = prepared.get(text);
  if (name === undefined && prepared.size < MAX_PREPARED) {
    name = `cc${generation}_${prepared.size}`;
    prepared.set(text, name);
  }
  return name;
}

/**
 * A prepared `SELECT *` or `RETURNING *` fails once its table changed shape (a newer hub added a column while this
 * one runs). The statement is then prepared again under a new name — on every connection, each of which may hold
 * the old one — and the query, or the whole transaction, is run once more.
 */
function planChanged(err: unknown): boolean {
  // `routine` names the server function that raised it, whatever the server's language.
  const e = err as { code?: string; routine?: string } | null;
  if (e?.code !== '0A000' || e.routine !== 'RevalidateCachedQuery') return false;
  generation++;
  prepared.clear();
  return true;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

const rewritten = new Map<string, string>();
/** `?` placeholders become `$1, $2, …` (our SQL never has `?` inside literals). */
function toPostgres(sql: string): string {
  let text = rewritten.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    rewritten.set(sql, text);
  }
  return text;
}

function normalize(
  query: Query,
  params?: readonly unknown[],
): { text: string; values: unknown[]; name?: string | undefined } {
  if (typeof query === 'string') {
    const text = toPostgres(query);
    return { text, values: params ? [...params] : [], name: statementName(text) };
  }
  return { text: query.sql, values: [...query.parameters] };
}

/** Describes a connection string without its password. */
export function redactUrl(url: string): string {
  return maskPassword(url) ?? 'postgres://(unparsable URL)';
}

/** Turns a connection failure into `unavailable` with the address and the driver's reason. */
function connectionError(location: string, err: unknown): HubError {
  const reason = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || 'error' : String(err);
  return new HubError('unavailable', `cannot connect to PostgreSQL at ${location}: ${reason}`, { cause: err });
}

/** Work in flight, so that closing waits for it: pg's pool never answers a query still queued when it ends. */
class InFlight {
  private readonly running = new Set<Promise<unknown>>();
  closed = false;
  track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new HubError('closed', 'the hub is closed'));
    const run = work();
    this.running.add(run);
    const done = () => this.running.delete(run);
    run.then(done, done);
    return run;
  }
  async settle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}

/**
 * Runs statements on the pool (reads, tracked in flight, their errors turned by `failed` into what the caller
 * gets) or on one transaction's connection (errors as they are: the transaction maps them once).
 */
class PgClient implements SqlClient {
  constructor(
    private readonly q: pg.Pool | pg.PoolClient,
    private readonly pool?: { inFlight: InFlight; failed: (err: unknown) => unknown },
  ) {}
  private query(query: Query, params?: readonly unknown[]): Promise<pg.QueryResult> {
    const run = () => this.q.query(normalize(query, params));
    if (!this.pool) return run();
    const { inFlight, failed } = this.pool;
    // Outside a transaction a query that failed on a stale prepared statement can simply run again.
    return inFlight.track(() =>
      run()
        .catch((err: unknown) => (planChanged(err) ? run() : Promise.reject(err)))
        .catch((err: unknown) => Promise.reject(failed(err))),
    );
  }
  async all<T = Row>(query: Query, params?: readonly unknown[]): Promise<T[]> {
    return (await this.query(query, params)).rows as T[];
  }
  async get<T = Row>(query: Query, params?: readonly unknown[]): Promise<T | undefined> {
    return (await this.query(query, params)).rows[0] as T | undefined;
  }
  async run(query: Query, params?: readonly unknown[]): Promise<number> {
    return (await this.query(query, params)).rowCount ?? 0;
  }
}

/** Options of the PostgreSQL backend. */
export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /**
   * Serialize event appends with the advisory lock (default true). Only the sequence-gap test turns it off,
   * to show that the test catches the gap the lock closes.
   */
  sequenceGuard?: boolean;
}

/** The PostgreSQL implementation of the store's Database port. */
export class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;
  readonly builder = queryBuilder('postgres');
  readonly storage = new StorageHealth((fn) => this.write(fn));
  readonly read: SqlClient;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly listeners: ((events: HubEvent[]) => void)[] = [];
  private readonly guard: boolean;
  /** Append statements by number of events. */
  private readonly appends = new Map<number, string>();
  /** Carried by this backend's notifications, so its own listener can skip them. */
  private readonly origin = randomUUID();
  private readonly stoppers = new Set<() => void>();
  private readonly inFlight = new InFlight();

  private constructor(
    private readonly url: string,
    options: PostgresOptions,
  ) {
    this.location = redactUrl(url);
    this.guard = options.sequenceGuard ?? true;
    // allowExitOnIdle: like a SQLite hub, an idle PostgreSQL hub does not by itself keep the process alive.
    this.pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types, allowExitOnIdle: true });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.read = new PgClient(this.pool, { inFlight: this.inFlight, failed: (err) => this.failed(err) });
  }

  /** Connects (failing fast with `unavailable`) and answers the backend. */
  static async connect(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const db = new PostgresDatabase(url, options);
    try {
      await db.pool.query('SELECT 1');
    } catch (err) {
      await db.pool.end().catch(() => undefined);
      throw connectionError(db.location, err);
    }
    return db;
  }

  onCommit(listener: (events: HubEvent[]) => void): void {
    this.listeners.push(listener);
  }

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    const written = this.inFlight.track(() =>
      this.transaction(fn).catch((err: unknown) => (planChanged(err) ? this.transaction(fn) : Promise.reject(err))),
    );
    return this.storage.outcome(written, this);
  }

  /** A storage fault as its HubError, reported to `storage`; anything else as it is. */
  private failed(err: unknown): unknown {
    return this.storage.mapped(err, this);
  }

  private async transaction<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    let conn: pg.PoolClient;
    try {
      conn = await this.pool.connect();
    } catch (err) {
      throw storageError(err, this) ?? connectionError(this.location, err);
    }
    const client = new PgClient(conn);
    const queued: NewEvent[] = [];
    const tx = outboxTx(client, queued);
    let events: HubEvent[] = [];
    let result: T;
    let broken = false;
    // A connection that ends while checked out (the server restarted, the backend was terminated) also emits
    // `error` on its client, which the pool listens for only while the client is idle: unheard, it would end the
    // process. The statement in flight fails on its own; the client is thrown away.
    const lost = () => {
      broken = true;
    };
    conn.on('error', lost);
    try {
      await conn.query('BEGIN');
      result = await fn(tx);
      if (queued.length) events = await insertEvents(client, queued, this.appendEvents);
      await conn.query('COMMIT');
    } catch (err) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      conn.off('error', lost);
      conn.release(broken);
    }
    if (events.length) notify(this.listeners, events);
    return result;
  }

  /** Appends a transaction's events, at most `APPEND_CHUNK` per statement; answers their seqs in order. */
  private readonly appendEvents: AppendEvents = async (client, rows) => {
    const seqs: number[] = [];
    for (let i = 0; i < rows.length; i += APPEND_CHUNK) {
      const chunk = rows.slice(i, i + APPEND_CHUNK);
      let sql = this.appends.get(chunk.length);
      if (sql === undefined) {
        sql = appendStatement(chunk.length, this.guard);
        if (this.appends.size < 100) this.appends.set(chunk.length, sql);
      }
      const inserted = await client.all<{ seq: number }>(sql, [...chunk.flat(), this.origin]);
      seqs.push(...inserted.map((r) => Number(r.seq)).sort((a, b) => a - b));
    }
    return seqs;
  };

  watchChanges(onChange: () => void, intervalMs: number): () => void {
    let stopped = false;
    let listener: pg.Client | undefined;
    let attempt = 0;
    let retry: NodeJS.Timeout | undefined;
    const connect = async () => {
      const client = new pg.Client({ connectionString: this.url });
      listener = client;
      const reconnect = () => {
        if (stopped || listener !== client) return;
        listener = undefined;
        client.end().catch(() => undefined);
        // Jittered exponential backoff: 50 ms doubling to 5 s, so a restarting server is not hammered.
        const delay = Math.min(5000, 50 * 2 ** attempt++) * (0.5 + Math.random() / 2);
        retry = setTimeout(() => void connect(), delay);
        retry.unref();
      };
      client.on('error', reconnect);
      client.on('end', reconnect);
      // Our own commits were dispatched from memory; if the reply to a COMMIT was lost, the backstop finds it.
      client.on('notification', (n) => {
        if (n.payload !== this.origin) onChange();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        // The listening socket alone must not keep the process alive (subscribers keep it alive while they exist).
        (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
        attempt = 0;
        // Whatever committed while we were not listening is picked up now.
        if (!stopped) onChange();
      } catch {
        reconnect();
      }
    };
    void connect();
    const timer = setInterval(() => {
      if (!stopped) onChange();
    }, intervalMs);
    timer.unref();
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      if (retry) clearTimeout(retry);
      listener?.end().catch(() => undefined);
      listener = undefined;
      this.stoppers.delete(stop);
    };
    this.stoppers.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    if (this.inFlight.closed) return;
    this.inFlight.closed = true;
    this.storage.close();
    for (const stop of [...this.stoppers]) stop();
    await this.inFlight.settle();
    await this.pool.end();
  }
}
