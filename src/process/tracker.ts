/**
 * Keeps the processes of a hub's runs (agents and hook commands): the hub's reaper (`process/reaper.ts`) kills
 * the groups still registered, and the processes carrying a registered run marker, when the hub's process dies,
 * however it dies.
 */
export interface ProcessTracker {
  /**
   * A run is about to start processes that carry `RUN_MARKER=<run>` (see `process/process-group.ts`). Told before
   * the first of them starts, so there is no moment at which the hub's death would leave one behind.
   */
  runStarting(run: string): void;
  /** A process group (its leader's pid) has started. */
  started(pgid: number): void;
  /** That group has ended (or been killed). */
  ended(pgid: number): void;
  /** Nothing carrying the run's marker is left (or the run gave up on it). */
  runEnded(run: string): void;
}
