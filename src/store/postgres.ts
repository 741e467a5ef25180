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
import type { HubEvent } from '../domain/types.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import { type AppendEvents, EVENT_INSERT_COLUMNS, insertEvents, notify } from './event-rows.js';
import { maskPassword } from './location.js';
import { InFlight, PgClient, types } from './postgres-client.js';
import { GroupCommit } from './postgres-commit.js';
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

/** Describes a connection string without its password. */
export function redactUrl(url: string): string {
  return maskPassword(url) ?? 'postgres://(unparsable URL)';
}

/** Turns a connection failure into `unavailable` with the address and the driver's reason. */
function connectionError(location: string, err: unknown): HubError {
  const reason = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || 'error' : String(err);
  return new HubError('unavailable', `cannot connect to PostgreSQL at ${location}: ${reason}`, { cause: err });
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
  /** Write transactions (groups of writes, see postgres-commit.ts) committing side by side (default 3). */
  writeLanes?: number;
}

/** Groups committing side by side by default: enough to keep both ends busy, few enough to leave room for reads. */
const WRITE_LANES = 3;

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
  private readonly group: GroupCommit;

  private constructor(
    private readonly url: string,
    options: PostgresOptions,
  ) {
    this.location = redactUrl(url);
    this.guard = options.sequenceGuard ?? true;
    // allowExitOnIdle: like a SQLite hub, an idle PostgreSQL hub does not by itself keep the process alive.
    // pipeline: a statement goes out without waiting for the answer to the one before (see postgres-commit.ts).
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      types,
      allowExitOnIdle: true,
      pipeline: true,
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.read = new PgClient(this.pool, { inFlight: this.inFlight, failed: (err) => this.failed(err) });
    this.group = new GroupCommit(
      {
        connect: () => this.connection(),
        append: (client, events) => insertEvents(client, events, this.appendEvents),
        committed: (events) => notify(this.listeners, events),
      },
      options.writeLanes ?? WRITE_LANES,
    );
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
    return this.storage.outcome(
      this.inFlight.track(() => this.group.write(fn)),
      this,
    );
  }

  /** A storage fault as its HubError, reported to `storage`; anything else as it is. */
  private failed(err: unknown): unknown {
    return this.storage.mapped(err, this);
  }

  /** Group commit's connections: a pooled one, or the storage fault or connection failure that prevents it. */
  private async connection(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw storageError(err, this) ?? connectionError(this.location, err);
    }
  }

  /**
   * Sends the statements appending a transaction's events, at most `APPEND_CHUNK` per statement, all at once (the
   * connection is pipelined, so a `COMMIT` sent next goes out behind them); answers the events with their seqs.
   */
  private readonly appendEvents: AppendEvents = async (client, rows) => {
    const sent: Promise<{ seq: number }[]>[] = [];
    for (let i = 0; i < rows.length; i += APPEND_CHUNK) {
      const chunk = rows.slice(i, i + APPEND_CHUNK);
      let sql = this.appends.get(chunk.length);
      if (sql === undefined) {
        sql = appendStatement(chunk.length, this.guard);
        if (this.appends.size < 100) this.appends.set(chunk.length, sql);
      }
      sent.push(client.all<{ seq: number }>(sql, [...chunk.flat(), this.origin]));
    }
    const seqs: number[] = [];
    for (const inserted of await Promise.all(sent))
      seqs.push(...inserted.map((r) => Number(r.seq)).sort((a, b) => a - b));
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
