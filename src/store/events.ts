/** Queries over the event log: pages by cursor and filter, the head, and retention. */
import { HubError } from '../domain/errors.js';
import { expandTypes } from '../domain/filter.js';
import type { Status } from '../domain/status.js';
import type { EventFilter, HubEvent } from '../domain/types.js';
import type { Database } from './database.js';
import { type EventRow, eventFromRow } from './event-rows.js';
import { visibleTo } from './visibility.js';

const PRUNED_KEY = 'events_pruned_through';
const PRUNE_CHUNK = 10_000;

/** Reads the event log and prunes it. */
export class EventStore {
  constructor(private readonly db: Database) {}

  /** The newest committed sequence number (0 for an empty log). */
  async head(): Promise<number> {
    const row = await this.db.read.get<{ seq: number | null }>('SELECT max(seq) AS seq FROM events');
    return Number(row?.seq ?? 0);
  }

  /**
   * The log's head and a message's status (null when there is no such message), read in one statement so that
   * no change falls between the two: events after that head are the message's changes since that status.
   */
  async headWithStatus(messageId: string): Promise<{ head: number; status: Status | null }> {
    const row = await this.db.read.get<{ head: number | null; status: Status | null }>(
      'SELECT (SELECT max(seq) FROM events) AS head, m.status AS status FROM (SELECT 1 AS one) AS x LEFT JOIN messages m ON m.id = ?',
      [messageId],
    );
    return { head: Number(row?.head ?? 0), status: row?.status ?? null };
  }

  /** Events after `afterSeq` (and at most `upTo`) that pass `filter`, in order, at most `limit`. */
  async page(afterSeq: number, filter: EventFilter, limit: number, upTo?: number): Promise<HubEvent[]> {
    let q = this.filtered(filter).where('seq', '>', afterSeq);
    if (upTo !== undefined) q = q.where('seq', '<=', upTo);
    const rows = await this.db.read.all<EventRow>(q.orderBy('seq').limit(limit).compile());
    return rows.map(eventFromRow);
  }

  /** The newest `limit` events (at most `upTo`, after `from`) that pass `filter`, in order. */
  async latest(filter: EventFilter, limit: number, upTo?: number, from?: number): Promise<HubEvent[]> {
    let q = this.filtered(filter);
    if (upTo !== undefined) q = q.where('seq', '<=', upTo);
    if (from !== undefined) q = q.where('seq', '>', from);
    const rows = await this.db.read.all<EventRow>(q.orderBy('seq', 'desc').limit(limit).compile());
    return rows.reverse().map(eventFromRow);
  }

  private filtered(filter: EventFilter) {
    let q = this.db.builder.selectFrom('events').selectAll();
    if (filter.threadId !== undefined) q = q.where('thread_id', '=', filter.threadId);
    if (filter.messageId !== undefined) q = q.where('message_id', '=', filter.messageId);
    if (filter.taskId !== undefined) q = q.where('task_id', '=', filter.taskId);
    if (filter.module !== undefined) q = q.where('module', '=', filter.module);
    if (filter.visibleTo !== undefined) q = q.where(visibleTo.events(this.db.builder, filter.visibleTo));
    const types = expandTypes(filter.types);
    if (types) q = q.where('type', 'in', types);
    return q;
  }

  /**
   * Like `page`, but `cursor_expired` when retention removed events after `afterSeq` — checked after the read,
   * so a prune that commits while a replay pages through the log cannot open a silent gap.
   */
  async retainedPage(afterSeq: number, filter: EventFilter, limit: number, upTo?: number): Promise<HubEvent[]> {
    const events = await this.page(afterSeq, filter, limit, upTo);
    await this.assertRetained(afterSeq);
    return events;
  }

  /** The highest sequence number pruned so far (0 when nothing was). */
  async prunedThrough(): Promise<number> {
    const row = await this.db.read.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [PRUNED_KEY]);
    return row ? Number(row.value) : 0;
  }

  /** Throws `cursor_expired` when events right after `afterSeq` have been pruned. */
  async assertRetained(afterSeq: number): Promise<void> {
    const pruned = await this.prunedThrough();
    if (afterSeq < pruned) {
      throw new HubError(
        'cursor_expired',
        `the cursor points before event ${pruned + 1}, the oldest kept; re-read the state you need and subscribe again without a cursor`,
        { details: { oldestKept: pruned + 1 } },
      );
    }
  }

  /**
   * Deletes events older than `before` (ISO time), never the newest one, and remembers how far it went so
   * older cursors fail loudly. Deletes in chunks of 10,000, each its own transaction, so a first prune after a
   * long time neither holds the write lock nor (on SQLite) blocks the event loop for long. Answers how many
   * were deleted. Finding where to stop costs a few lookups however long the log is (see `lastBefore`).
   */
  async prune(before: string): Promise<number> {
    const through = await this.lastBefore(before);
    if (!through) return 0;
    let deleted = 0;
    for (let chunk = 0; ; chunk++) {
      const n = await this.db.write(async (tx) => {
        // The mark moves first: from the first deletion on, cursors before it fail instead of skipping.
        // Upsert: two hubs pruning for the first time at once must not collide; the mark only moves forward.
        if (chunk === 0) {
          await tx.run(
            `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
             WHERE CAST(meta.value AS bigint) < CAST(excluded.value AS bigint)`,
            [PRUNED_KEY, String(through)],
          );
        }
        return tx.run(
          `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ${PRUNE_CHUNK})`,
          [through],
        );
      });
      deleted += n;
      if (n < PRUNE_CHUNK) return deleted;
    }
  }

  /**
   * The sequence number of the newest event older than `before`, never the newest event of all (0 when there is
   * none). Events are appended in time order, so `at` rises with `seq` (on PostgreSQL to within the clock
   * difference between writers, milliseconds in a retention of days): halving the range of sequence numbers
   * over the primary key finds the boundary in about 25 lookups for 10M events, where reading `at` of every
   * event took seconds at start-up and every hour.
   */
  private async lastBefore(before: string): Promise<number> {
    const ends = await this.db.read.get<{ lo: number | null; hi: number | null }>(
      // Two subqueries: each is one step down the primary key, where min and max in one query read every row.
      'SELECT (SELECT min(seq) FROM events) AS lo, (SELECT max(seq) FROM events) AS hi',
    );
    if (ends?.lo == null || ends.hi == null) return 0;
    /** The first event at or after `seq`. */
    const from = (seq: number) =>
      this.db.read.get<{ seq: number; at: string }>('SELECT seq, at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1', [
        seq,
      ]);
    const oldest = await from(Number(ends.lo));
    // Invariant: event `lo` is older than `before`; nothing at or after `hi` is to go.
    let hi = Number(ends.hi);
    if (!oldest || oldest.at >= before || Number(oldest.seq) >= hi) return 0;
    let lo = Number(oldest.seq);
    for (;;) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid <= lo) return lo;
      const e = await from(mid);
      if (e && Number(e.seq) < hi && e.at < before) lo = Number(e.seq);
      else hi = mid;
    }
  }
}
