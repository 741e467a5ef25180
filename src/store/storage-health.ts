/**
 * Whether the database can store anything: `ok`, or the storage fault reads and writes last met (disk full,
 * read-only, failing, out of reach) and since when. Shown by `/health` and `poll status`; the worker waits on it
 * to write what a fault held back.
 *
 * A fault is set by the failing read or write itself and cleared only by a probe: a write transaction that
 * needs fresh space (a 64 KiB row, 16 SQLite pages, inserted and deleted). Other writes succeeding prove little —
 * on a full disk an update in place, or a commit into a WAL file that already has room, still works — so one
 * succeeding while faulted only brings the next probe forward. Probes run every second while faulted: a fault
 * that clears is seen within about a second, at the cost of one small write per second while it lasts.
 */
import { HubError, isStorageFault } from '../domain/errors.js';
import type { WriteTx } from './sql-client.js';
import { type StorageWhere, storageError } from './storage-fault.js';

/** The database's condition. */
export interface StorageState {
  status: 'ok' | 'faulted';
  /** While faulted: `storage_full` or `storage_unavailable`. */
  code?: 'storage_full' | 'storage_unavailable';
  /** While faulted: what is wrong and what to do, in a sentence. */
  detail?: string;
  /** While faulted: when the fault was first met (ISO-8601). */
  since?: string;
}

/** How often a faulted database is probed. */
const PROBE_INTERVAL_MS = 1000;
/** The probe's row: 64 KiB, more than any page or WAL slack a full disk may still have. */
const PROBE_VALUE = 'x'.repeat(64 * 1024);
const PROBE_KEY = 'storage_probe';

/** The condition of one database, set by its faults and cleared by its probe. */
export class StorageHealth {
  private fault: Required<Omit<StorageState, 'status'>> | undefined;
  private readonly listeners = new Set<(state: StorageState) => void>();
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: unknown) => void }>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  /** Faults met so far: a probe that succeeds clears the fault only if no other write met one meanwhile. */
  private failures = 0;

  /** `write`: the database's own write path, through which the probe runs (and reports its outcome here). */
  constructor(private readonly write: <T>(fn: (tx: WriteTx) => Promise<T>) => Promise<T>) {}

  /** The condition now. */
  get state(): StorageState {
    return this.fault ? { status: 'faulted', ...this.fault } : { status: 'ok' };
  }

  /**
   * A read or write met a storage fault (`storage_full` or `storage_unavailable`): the database is faulted from
   * now, or still, with the newest reason.
   */
  failed(err: HubError): void {
    if (this.closed) return;
    this.failures++;
    const code = err.code === 'storage_full' ? 'storage_full' : 'storage_unavailable';
    const changed = this.fault?.code !== code || this.fault.detail !== err.message;
    this.fault = { code, detail: err.message, since: this.fault?.since ?? new Date().toISOString() };
    if (!this.timer) {
      this.timer = setInterval(() => this.probe(), PROBE_INTERVAL_MS);
      this.timer.unref();
    }
    if (changed) this.tell();
  }

  /** `err` as the HubError of its storage fault, reported here; anything else as it is. */
  mapped(err: unknown, where: StorageWhere): unknown {
    const fault = storageError(err, where) ?? err;
    if (isStorageFault(fault)) this.failed(fault);
    return fault;
  }

  /** The outcome of a write transaction: a success noted (see `wrote`), a failure `mapped`. */
  outcome<T>(write: Promise<T>, where: StorageWhere): Promise<T> {
    return write.then(
      (result) => {
        this.wrote();
        return result;
      },
      (err: unknown) => {
        throw this.mapped(err, where);
      },
    );
  }

  /** A write succeeded: while faulted, probe now rather than at the next tick. */
  wrote(): void {
    if (this.fault) this.probe();
  }

  /**
   * Resolves once the database is not faulted (at once when it is not now). Rejects with `closed` when the
   * database closes or `signal` aborts first.
   */
  recovered(signal?: AbortSignal): Promise<void> {
    if (!this.fault) return Promise.resolve();
    if (this.closed || signal?.aborted) return Promise.reject(new HubError('closed', 'the hub is closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', abort);
          reject(err);
        },
      };
      const abort = () => {
        this.waiters.delete(waiter);
        waiter.reject(new HubError('closed', 'stopped waiting for the database to recover'));
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` with each change of condition; answers a function that stops it. */
  onChange(listener: (state: StorageState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops probing; whoever waits for recovery is told the database closed. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w.reject(new HubError('closed', 'the hub is closed'));
    this.waiters.clear();
  }

  private probe(): void {
    if (this.probing || this.closed) return;
    this.probing = true;
    const failures = this.failures;
    // A failure reports itself through the write path (`failed`); a busy database is simply probed again.
    this.write(async (tx) => {
      await tx.run(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [PROBE_KEY, PROBE_VALUE],
      );
      await tx.run('DELETE FROM meta WHERE key = ?', [PROBE_KEY]);
    })
      .then(
        () => {
          if (this.failures === failures) this.clear();
        },
        () => undefined,
      )
      .finally(() => {
        this.probing = false;
      });
  }

  private clear(): void {
    if (!this.fault || this.closed) return;
    this.fault = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
    this.tell();
  }

  private tell(): void {
    const state = this.state;
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch {
        // A listener that throws must not break the write path that reported the change.
      }
    }
  }
}
