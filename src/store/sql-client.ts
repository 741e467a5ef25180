/** What runs statements: the read client and write transactions every backend gives. */
import type { CompiledQuery } from 'kysely';
import type { NewEvent } from '../domain/types.js';

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/** SQL text with `?` placeholders (rewritten for PostgreSQL), or a query compiled by Kysely for this dialect. */
export type Query = string | CompiledQuery;

/** Runs statements. Values may be strings, numbers, booleans (stored as 0/1), null or undefined (null). */
export interface SqlClient {
  all<T = Row>(query: Query, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(query: Query, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement that returns no rows; answers the number of rows changed. */
  run(query: Query, params?: readonly unknown[]): Promise<number>;
}

/** A write transaction: statements plus the events to append atomically with them. */
export interface WriteTx extends SqlClient {
  /** Queues an event; it is written in this transaction, and dispatched only once the transaction commits. */
  emit(event: NewEvent): void;
}
