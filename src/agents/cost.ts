/**
 * Cost and token accounting for Claude Code runs, pure.
 *
 * The CLI reports `total_cost_usd` cumulatively over a session, across `--resume` (observed 0.00072 → 0.00144 →
 * 0.00216 over three resumed runs), while older CLIs reset it per process. Summing those totals inflates cost
 * quadratically; a run's own cost is the difference from the last total stored for the session, and a total
 * lower than that one means the counter restarted.
 *
 * Usage is repeated on every content-block line of one API message (same `message.id`), so tokens are counted
 * once per message id.
 */

/** The cost of one run, given the session's last stored total (undefined for a new session) and the new one. */
export function runCost(previousTotal: number | undefined, total: number): number {
  if (!Number.isFinite(total) || total < 0) return 0;
  if (previousTotal === undefined || total < previousTotal) return total;
  // Rounded to 1e-10 dollars: the difference of two binary fractions would otherwise show float noise.
  return Math.round((total - previousTotal) * 1e10) / 1e10;
}

/** Token usage of an API message as the CLI reports it. */
export interface MessageUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

/** Counts tokens once per API message, however many lines repeat its usage. */
export class UsageCounter {
  private readonly byMessage = new Map<string, { tokensIn: number; tokensOut: number }>();

  /** Records the usage carried by a line of message `messageId` (a later line of the same message replaces it). */
  record(messageId: string, usage: MessageUsage | undefined): void {
    if (!usage) return;
    const tokensIn =
      (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
    this.byMessage.set(messageId, { tokensIn, tokensOut: usage.output_tokens ?? 0 });
  }

  /** Totals over every message seen. */
  totals(): { tokensIn: number; tokensOut: number } {
    let tokensIn = 0;
    let tokensOut = 0;
    for (const u of this.byMessage.values()) {
      tokensIn += u.tokensIn;
      tokensOut += u.tokensOut;
    }
    return { tokensIn, tokensOut };
  }
}
