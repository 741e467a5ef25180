/**
 * Group commit on PostgreSQL. Write transactions that queue up while others run are committed together, each
 * inside its own savepoint so that one failing rolls back only itself (as on SQLite, see sqlite.ts). A group's
 * events are appended by one statement at its end, so the advisory lock every append takes (postgres.ts) is
 * taken once per group rather than once per write, and `BEGIN`, the append and `COMMIT` are shared.
 *
 * A few groups run side by side, each on its own pooled connection (`lanes`): one writer awaiting each write
 * never waits for another, and the statements of one group overlap with another's round trips. The connections
 * are pipelined (pg's `pipeline` option): statements whose answers nobody needs before the next one — `BEGIN`,
 * the savepoints, `COMMIT` behind the append — are sent without waiting, so a write costs the round trips of its
 * own statements and little more.
 *
 * A group holds the row locks of its finished writes until it commits, so two groups (or two hubs) can wait for
 * each other where two single writes would not. PostgreSQL breaks such a deadlock by failing one statement; the
 * write it belonged to is rolled back to its savepoint and run again, alone, once its group has committed. A
 * write whose prepared statement went stale (a schema change by a newer hub) is run again the same way.
 */
import type { Socket } from 'node:net';
import type pg from 'pg';
import { HubError } from '../domain/errors.js';
import type { HubEvent, NewEvent } from '../domain/types.js';
import type { WriteTx } from './database.js';
import { outboxTx } from './event-rows.js';
import { PgClient, planChanged } from './postgres-client.js';
import { endOfTurn, WriteTurn } from './write-turn.js';

interface Job {
  fn: (tx: WriteTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** Runs in a transaction of its own: it is being run again after failing inside a group. */
  alone?: boolean;
}

/** What the group commit needs from its backend. */
export interface GroupCommitPort {
  /** A pooled connection (pipelined); failures as the caller should see them. */
  connect(): Promise<pg.PoolClient>;
  /** Sends the statements appending `events` at once, and answers them with their sequence numbers. */
  append(client: PgClient, events: readonly NewEvent[]): Promise<HubEvent[]>;
  /** Tells commit listeners, after the commit. */
  committed(events: HubEvent[]): void;
}

/** Most writes committed together (bounds how long a group holds its locks). */
const MAX_GROUP = 128;

/** PostgreSQL's deadlock_detected and serialization_failure: a write that met them may succeed when run again. */
const TRANSIENT = new Set(['40P01', '40001']);

/** Whether a write that failed inside a group should run again alone. */
function runAgain(err: unknown): boolean {
  return TRANSIENT.has(String((err as { code?: string } | null)?.code)) || planChanged(err);
}

/** A statement sent without waiting for its answer: a failure shows in the next statement that is awaited. */
function pipelined(sent: Promise<unknown>): void {
  sent.catch(() => undefined);
}

/**
 * Holds the connection's writes until the end of the current tick, so that a statement sent without waiting and
 * the statements sent right after it leave in one write to the socket instead of one each (a system call each,
 * the larger part of a statement's cost in the hub's process).
 */
function corked(conn: pg.PoolClient): void {
  const socket = (conn as unknown as { connection?: { stream?: Partial<Socket> } }).connection?.stream;
  if (!socket?.cork || !socket.uncork || (socket.writableCorked ?? 0) > 0) return;
  socket.cork();
  process.nextTick(() => socket.uncork?.());
}

export class GroupCommit {
  private readonly jobs: Job[] = [];
  private running = 0;
  /** A lane is to start at the end of this turn of the event loop. */
  private starting = false;
  private readonly turn = new WriteTurn();

  constructor(
    private readonly port: GroupCommitPort,
    private readonly lanes: number,
  ) {}

  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ fn, resolve, reject } as Job);
      this.start();
    });
  }

  /** Starts a group if a lane is free: at once or at the end of this turn of the event loop (see write-turn.ts). */
  private start(): void {
    if (this.running >= this.lanes) return;
    if (this.turn.followsOn()) {
      void this.lane();
      return;
    }
    if (this.starting) return;
    this.starting = true;
    void endOfTurn().then(() => {
      this.starting = false;
      if (this.jobs.length && this.running < this.lanes) void this.lane();
    });
  }

  /** Commits groups from the queue until it is empty. */
  private async lane(): Promise<void> {
    this.running++;
    try {
      while (this.jobs.length) await this.commit(this.take());
    } finally {
      this.running--;
    }
  }

  /** The next group: the queue's head, up to `MAX_GROUP` writes, a write to run alone by itself. */
  private take(): Job[] {
    const first = this.jobs[0] as Job;
    if (first.alone) return this.jobs.splice(0, 1);
    let n = 1;
    while (n < this.jobs.length && n < MAX_GROUP && !this.jobs[n]?.alone) n++;
    return this.jobs.splice(0, n);
  }

  private async commit(group: Job[]): Promise<void> {
    let conn: pg.PoolClient;
    try {
      conn = await this.port.connect();
    } catch (err) {
      for (const job of group) job.reject(err);
      return;
    }
    // A connection that ends while checked out also emits `error`, which the pool hears only while it is idle:
    // unheard, it would end the process. The statement in flight fails on its own; the client is thrown away.
    let broken = false;
    const lost = () => {
      broken = true;
    };
    conn.on('error', lost);
    const client = new PgClient(conn);
    const single = group.length === 1;
    const done: { job: Job; result: unknown; queued: NewEvent[] }[] = [];
    const failed: { job: Job; err: unknown }[] = [];
    const again: Job[] = [];
    // The error that left the transaction unusable, if one did: the writes after it fail with it.
    let aborted: unknown;
    let events: HubEvent[] = [];
    try {
      corked(conn);
      pipelined(conn.query('BEGIN'));
      for (const job of group) {
        if (aborted !== undefined) {
          failed.push({ job, err: aborted });
          continue;
        }
        const queued: NewEvent[] = [];
        if (!single) {
          corked(conn);
          pipelined(conn.query('SAVEPOINT job'));
        }
        try {
          const result = await job.fn(outboxTx(client, queued));
          if (!single) {
            corked(conn);
            pipelined(conn.query('RELEASE SAVEPOINT job'));
          }
          done.push({ job, result, queued });
        } catch (err) {
          // Alone, the write's failure ends the transaction (rolled back below); in a group, its savepoint undoes it.
          let rolledBack = single;
          if (single) aborted = err;
          else {
            pipelined(conn.query('ROLLBACK TO SAVEPOINT job'));
            try {
              await conn.query('RELEASE SAVEPOINT job');
              rolledBack = true;
            } catch {
              // The transaction itself is lost (a dropped connection, a server shutting down).
              aborted = err;
            }
          }
          if (rolledBack && !job.alone && runAgain(err)) again.push({ ...job, alone: true });
          else failed.push({ job, err });
        }
      }
      if (aborted === undefined && done.length) {
        // The append and the COMMIT go out together: the advisory lock is held for one round trip.
        const queued = done.flatMap((d) => d.queued);
        corked(conn);
        const appending = queued.length ? this.port.append(client, queued) : Promise.resolve([]);
        const [appended, commit] = await Promise.all([appending, conn.query('COMMIT')]);
        // PostgreSQL answers COMMIT in a failed transaction by rolling it back, without an error.
        if (commit.command !== 'COMMIT') throw new HubError('unavailable', 'PostgreSQL rolled the transaction back');
        events = appended;
      } else {
        await conn.query('ROLLBACK');
      }
    } catch (err) {
      // The append or the commit failed (or the rollback could not be sent): nothing of the group committed.
      try {
        await conn.query('ROLLBACK');
      } catch {
        broken = true;
      }
      for (const { job } of done) failed.push({ job, err });
      done.length = 0;
      events = [];
    } finally {
      conn.off('error', lost);
      conn.release(broken);
    }
    this.turn.ended();
    if (events.length) this.port.committed(events);
    for (const { job, result } of done) job.resolve(result);
    for (const { job, err } of failed) job.reject(err);
    // Run again once this group's locks are gone, ahead of what queued meanwhile.
    if (again.length) {
      this.jobs.unshift(...again);
      this.start();
    }
  }
}
