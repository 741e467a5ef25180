/**
 * When a backend starts committing a group of writes. A write that follows the end of the last group within
 * `FOLLOW_ON_MS` comes from a writer that awaited its previous write, and starts the next group at once (waiting
 * would cost it a turn of the event loop, ~20 µs here, a quarter of a SQLite transition). Any other write waits for
 * the end of the event loop's current turn, so that the writes of that turn's other callbacks — HTTP requests read
 * together, timers due together — join its group. With SQLite's synchronous driver a group started at once commits
 * before any of them runs, and every request would commit alone.
 */

const FOLLOW_ON_MS = 0.1;

/** Tells, from when the last group ended, whether a new write may start the next group at once. */
export class WriteTurn {
  private endedAt = Number.NEGATIVE_INFINITY;

  /** A group ended now. */
  ended(): void {
    this.endedAt = performance.now();
  }

  /** Whether a write arriving now follows on from the last group (start at once) or waits for the turn's end. */
  followsOn(): boolean {
    return performance.now() - this.endedAt < FOLLOW_ON_MS;
  }
}

/** Resolves at the end of the event loop's current turn. */
export function endOfTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
