/**
 * The port every backend implements: a client for reads, write transactions that carry their events (the
 * transactional outbox), commit notifications for in-process subscribers, and cross-process wake-ups.
 */
import type { Kysely } from 'kysely';
import type { HubEvent } from '../domain/types.js';
import type { Dialect, Schema } from './schema.js';
import type { SqlClient, WriteTx } from './sql-client.js';
import type { StorageHealth } from './storage-health.js';

export type { Query, Row, SqlClient, WriteTx } from './sql-client.js';

/** A backend: SQLite (one file, many processes) or PostgreSQL (many hosts). */
export interface Database {
  readonly dialect: Dialect;
  /** Where the data lives, safe to print (no password). */
  readonly location: string;
  /** A compile-only Kysely for building dynamic queries in this dialect. */
  readonly builder: Kysely<Schema>;
  /**
   * Whether the database can store anything now: set by the storage faults its reads and writes meet (which reach
   * callers as `storage_full` / `storage_unavailable`), cleared by a probe once it can again.
   */
  readonly storage: StorageHealth;
  /** Reads committed data (never another transaction's uncommitted writes). */
  readonly read: SqlClient;
  /** Runs `fn` in a write transaction with its events; commits, then tells commit listeners. */
  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T>;
  /** Called after each commit that appended events, with them in log order. */
  onCommit(listener: (events: HubEvent[]) => void): void;
  /**
   * Calls `onChange` soon after another process commits (SQLite: a WAL file notification checked with
   * `PRAGMA data_version`; PostgreSQL: LISTEN/NOTIFY), and at least every `intervalMs` as a backstop.
   * Answers a function that stops watching.
   */
  watchChanges(onChange: () => void, intervalMs: number): () => void;
  /** Finishes the work in flight, stops watching for changes and releases the connections. */
  close(): Promise<void>;
}
