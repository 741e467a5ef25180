/**
 * Running statements on PostgreSQL: `?` placeholders rewritten, statements prepared once per connection, numbers
 * parsed as numbers, and the work in flight counted so that closing can wait for it.
 */
import pg from 'pg';
import { HubError } from '../domain/errors.js';
import type { Query, Row, SqlClient } from './database.js';
import { connectionLost } from './storage-fault.js';

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
export function planChanged(err: unknown): boolean {
  // `routine` names the server function that raised it, whatever the server's language.
  const e = err as { code?: string; routine?: string } | null;
  if (e?.code !== '0A000' || e.routine !== 'RevalidateCachedQuery') return false;
  generation++;
  prepared.clear();
  return true;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
export const types = {
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

/** Work in flight, so that closing waits for it: pg's pool never answers a query still queued when it ends. */
export class InFlight {
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
export class PgClient implements SqlClient {
  constructor(
    private readonly q: pg.Pool | pg.PoolClient,
    private readonly pool?: { inFlight: InFlight; failed: (err: unknown) => unknown },
  ) {}
  private query(query: Query, params?: readonly unknown[]): Promise<pg.QueryResult> {
    const run = () => this.q.query(normalize(query, params));
    if (!this.pool) return run();
    const { inFlight, failed } = this.pool;
    // Outside a transaction a read that failed on a stale prepared statement, or on a pooled connection the server
    // had ended (a restart, an administrator ending its sessions), can simply run again, once.
    return inFlight.track(() =>
      run()
        .catch((err: unknown) => (planChanged(err) || connectionLost(err) ? run() : Promise.reject(err)))
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
