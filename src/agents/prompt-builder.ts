/**
 * Builds the system prompt a module's agent answers with: who it is (description, capabilities), who is asking,
 * the thread so far when its session must be started anew, and the JSON Schema its answer must satisfy when the
 * question is structured. Pure, so it is tested without a process.
 */

/** A message of the thread, as the prompt shows it. */
export interface HistoryEntry {
  author: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
}

/** Everything the system prompt is made from. */
export interface PromptContext {
  module: { name: string; description: string; capabilities?: readonly string[] };
  /** The module asking. */
  asker: string;
  /**
   * The thread before this question, given when no agent session can be resumed (new thread excluded): the
   * agent then learns the conversation from the prompt instead of from its session.
   */
  history?: readonly HistoryEntry[];
  /** A JSON Schema the answer must satisfy. */
  schema?: Record<string, unknown>;
  /** Module-specific text appended at the end (its configured system prompt append). */
  append?: string;
}

/** History longer than this many characters keeps only its most recent part (agents have finite context). */
export const HISTORY_LIMIT = 60_000;

function historyBlock(history: readonly HistoryEntry[]): string {
  const lines = history.map((h) => `[${h.author} (${h.role})]\n${h.content}`);
  let text = lines.join('\n\n');
  if (text.length > HISTORY_LIMIT) text = `[… earlier messages omitted …]\n${text.slice(text.length - HISTORY_LIMIT)}`;
  return text;
}

/** The system prompt for one run. */
export function buildSystemPrompt(ctx: PromptContext): string {
  const parts: string[] = [];
  parts.push(
    `You are the agent of the module "${ctx.module.name}", working in its own repository.` +
      (ctx.module.description ? ` ${ctx.module.description.trim()}` : ''),
  );
  if (ctx.module.capabilities?.length) parts.push(`Your capabilities: ${ctx.module.capabilities.join(', ')}.`);
  parts.push(
    `The module "${ctx.asker}" is asking you, through claude-comms. Answer from your repository and your own ` +
      'knowledge of it; your reply is delivered to them as written.',
  );
  if (ctx.history?.length) {
    parts.push(`The conversation so far in this thread:\n\n${historyBlock(ctx.history)}`);
  }
  if (ctx.schema) {
    parts.push(
      'Your answer must be a single JSON document, with no text before or after it, that satisfies this JSON ' +
        `Schema:\n\n${JSON.stringify(ctx.schema, null, 2)}`,
    );
  }
  if (ctx.append?.trim()) parts.push(ctx.append.trim());
  return parts.join('\n\n');
}
