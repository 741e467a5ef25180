/**
 * How much of an agent's log output one run keeps in its task's log. A program that writes without pause
 * (seen: 30 MB of stderr without a newline) would otherwise fill the event log — 492 `task.logged` events,
 * 9.8 MB — and every read of the task with it. The first `MAX_RUN_LOG_CHARS` characters are kept; what follows
 * is counted, and the run ends its log with one line saying how much was dropped. Pure: tested on strings.
 */

/** Log text one run keeps: 256 Ki characters, a few thousand lines — enough to see why it failed. */
export const MAX_RUN_LOG_CHARS = 262_144;

/** The longest text of one log entry (what `tasks.log` accepts). */
export const MAX_LOG_ENTRY_CHARS = 20_000;

/** The first `n` UTF-16 units of `text` (fewer by one rather than half a surrogate pair). */
function cut(text: string, n: number): string {
  if (text.length <= n) return text;
  return text.slice(0, /[\uD800-\uDBFF]/.test(text[n - 1] ?? '') ? n - 1 : n);
}

/** One run's log allowance. */
export class RunLogBudget {
  private used = 0;
  /** Characters of log output dropped so far. */
  dropped = 0;

  constructor(private readonly max = MAX_RUN_LOG_CHARS) {}

  /**
   * What to keep of `text`, cut at the allowance, in entries of at most `MAX_LOG_ENTRY_CHARS` (none when nothing
   * of it fits any more).
   */
  take(text: string): string[] {
    const room = this.max - this.used;
    const kept = text.length <= room ? text : cut(text, Math.max(room, 0));
    this.used += kept.length;
    this.dropped += text.length - kept.length;
    const entries: string[] = [];
    for (let rest = kept; rest !== ''; ) {
      const entry = cut(rest, MAX_LOG_ENTRY_CHARS);
      entries.push(entry);
      rest = rest.slice(entry.length);
    }
    return entries;
  }

  /** The line that closes a run's log when something was dropped. */
  get notice(): string | undefined {
    return this.dropped
      ? `… log output truncated: ${this.dropped} more characters of this run were dropped (a run keeps ${this.max})`
      : undefined;
  }
}
