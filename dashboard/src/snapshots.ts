/**
 * Snapshots that miss nothing: a resource loaded from the API, then brought up to date with the events that
 * arrived from the stream while it loaded.
 */
import type { HubEvent } from './api';

/** Events kept to bring a snapshot up to date; a load outlasting this many events is simply repeated. */
const RECENT = 5000;

/** Loads brought up to date with the events received while they ran. */
export class Snapshots {
  /** Events received so far. */
  private received = 0;
  /** Snapshots loading now, and the events received since the first of them began (at most 2 × RECENT). */
  private loading = 0;
  private recent: HubEvent[] = [];

  /** Notes an event from the stream, kept while a snapshot loads. */
  note(e: HubEvent): void {
    this.received++;
    if (this.loading) {
      this.recent.push(e);
      if (this.recent.length > 2 * RECENT) this.recent = this.recent.slice(-RECENT);
    }
  }

  /**
   * Loads with `read`, then applies the events that arrived meanwhile, in order. `apply` returns undefined for
   * an event it cannot apply: the load is repeated once, then such events are left out (a thread longer than
   * the API returns has replies the snapshot cannot hold).
   */
  async take<T>(read: () => Promise<T>, apply: (data: T, e: HubEvent) => T | undefined): Promise<T> {
    this.loading++;
    try {
      for (let attempt = 0; ; attempt++) {
        const from = this.received;
        let data: T | undefined = await read();
        const missed = this.received - from;
        if (missed > this.recent.length) continue;
        for (const e of this.recent.slice(this.recent.length - missed)) {
          const next: T | undefined = apply(data, e);
          if (next === undefined && attempt === 0) {
            data = undefined;
            break;
          }
          data = next ?? data;
        }
        if (data !== undefined) return data;
      }
    } finally {
      if (--this.loading === 0) this.recent = [];
    }
  }
}
