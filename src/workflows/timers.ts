/**
 * The engine's timers in this process, by `run/step` (or `run/step#index` for an item): wake-ups for retries'
 * back-off and approvals' time limits, which advance the run; ask steps' time limits, which cancel the reply (the
 * step then fails with `timeout`). A new holder sets them again from what is stored.
 */
export class Timers {
  private readonly wakes = new Map<string, NodeJS.Timeout>();
  private readonly limits = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly wake: (runId: string) => void,
    private readonly cancelReply: (messageId: string, reason: string) => void,
  ) {}

  /** Advances `runId` in `ms` (replacing a wake-up set for the same step). */
  wakeAt(runId: string, stepId: string, ms: number): void {
    const key = `${runId}/${stepId}`;
    clearTimeout(this.wakes.get(key));
    const t = setTimeout(
      () => {
        this.wakes.delete(key);
        this.wake(runId);
      },
      Math.max(0, ms),
    );
    t.unref();
    this.wakes.set(key, t);
  }

  waking(runId: string, stepId: string): boolean {
    return this.wakes.has(`${runId}/${stepId}`);
  }

  /** Cancels the reply `messageId` of an ask step in `ms`. */
  limitAsk(runId: string, stepId: string, messageId: string, ms: number): void {
    const key = `${runId}/${stepId}`;
    clearTimeout(this.limits.get(key));
    const t = setTimeout(
      () => {
        this.limits.delete(key);
        this.cancelReply(messageId, `the workflow step ${stepId} timed out`);
      },
      Math.max(0, ms),
    );
    t.unref();
    this.limits.set(key, t);
  }

  limited(runId: string, stepId: string): boolean {
    return this.limits.has(`${runId}/${stepId}`);
  }

  clearLimit(key: string): void {
    clearTimeout(this.limits.get(key));
    this.limits.delete(key);
  }

  clear(): void {
    for (const t of [...this.wakes.values(), ...this.limits.values()]) clearTimeout(t);
    this.wakes.clear();
    this.limits.clear();
  }
}
