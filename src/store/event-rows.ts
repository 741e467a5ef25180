/** Reading and writing rows of the `events` table: the one place that knows its columns. */
import { encodeCursor } from '../domain/cursor.js';
import type { EventType, HubEvent, NewEvent } from '../domain/types.js';
import type { SqlClient, WriteTx } from './database.js';

/** The columns an event insert sets, in parameter order. */
export const EVENT_INSERT_COLUMNS = 'at, type, thread_id, message_id, task_id, run_id, module, data';

/** The columns of `events` in the order every query selects them. */
const EVENT_COLUMNS = 'seq, at, type, thread_id, message_id, task_id, run_id, module, data';

const INSERT_EVENT = `INSERT INTO events (${EVENT_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`;

/** A row of `events` as the drivers return it. */
export interface EventRow {
  seq: number;
  at: string;
  type: string;
  thread_id: string | null;
  message_id: string | null;
  task_id: string | null;
  run_id: string | null;
  module: string | null;
  data: string;
}

/** Turns a stored row into an event. */
export function eventFromRow(row: EventRow): HubEvent {
  const seq = Number(row.seq);
  return {
    seq,
    cursor: encodeCursor(seq),
    at: row.at,
    type: row.type as EventType,
    threadId: row.thread_id,
    messageId: row.message_id,
    taskId: row.task_id,
    runId: row.run_id,
    module: row.module,
    // Written by this store from a typed event (see NewEvent), so its data has its type's shape.
    data: JSON.parse(row.data),
  } as HubEvent;
}

/**
 * How a backend appends a transaction's events: one row of parameters per event (`EVENT_INSERT_COLUMNS`
 * order) in, their sequence numbers out, in the same order.
 */
export type AppendEvents = (client: SqlClient, rows: unknown[][]) => Promise<number[]>;

/** One insert per event. */
const appendEach: AppendEvents = async (client, rows) => {
  const seqs: number[] = [];
  for (const row of rows) seqs.push(Number((await client.get<{ seq: number }>(INSERT_EVENT, row))?.seq));
  return seqs;
};

/** Appends queued events inside the current transaction and answers them with their sequence numbers. */
export async function insertEvents(
  client: SqlClient,
  queued: readonly NewEvent[],
  append: AppendEvents = appendEach,
): Promise<HubEvent[]> {
  const at = new Date().toISOString();
  const data = queued.map((e) => JSON.stringify(e.data));
  const rows = queued.map((e, i) => [
    at,
    e.type,
    e.threadId ?? null,
    e.messageId ?? null,
    e.taskId ?? null,
    e.runId ?? null,
    e.module ?? null,
    data[i],
  ]);
  const seqs = await append(client, rows);
  return queued.map((e, i) => {
    const seq = seqs[i] as number;
    return {
      seq,
      cursor: encodeCursor(seq),
      at,
      type: e.type,
      threadId: e.threadId ?? null,
      messageId: e.messageId ?? null,
      taskId: e.taskId ?? null,
      runId: e.runId ?? null,
      module: e.module ?? null,
      data: JSON.parse(data[i] as string),
    } as HubEvent;
  });
}

/** Reads up to `limit` events after `afterSeq`, in log order. */
export async function readEventsAfter(client: SqlClient, afterSeq: number, limit: number): Promise<HubEvent[]> {
  const rows = await client.all<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, [
    afterSeq,
    limit,
  ]);
  return rows.map(eventFromRow);
}

/** A write transaction over `client` whose emitted events collect in `queued`, for the backend to append. */
export function outboxTx(client: SqlClient, queued: NewEvent[]): WriteTx {
  return {
    all: (q, p) => client.all(q, p),
    get: (q, p) => client.get(q, p),
    run: (q, p) => client.run(q, p),
    emit: (e) => {
      queued.push(e);
    },
  };
}

/** Tells commit listeners about new events; a listener that throws cannot fail the commit that already happened. */
export function notify(listeners: readonly ((events: HubEvent[]) => void)[], events: HubEvent[]): void {
  for (const listener of listeners) {
    try {
      listener(events);
    } catch {
      // The event log catches its subscribers' errors itself; nothing else listens.
    }
  }
}
