/** The counters of a task a change reports (progress, iterations, cost, tokens, files), checked. */
import { checkLimits } from '../domain/budget.js';
import type { TaskUpdate } from '../domain/inputs.js';
import { list, number, optionalText, text } from '../domain/validate.js';

/** Counters checked and turned into columns, with the file lists to merge into the stored ones. */
export interface Counters {
  fields: Record<string, unknown>;
  created: string[] | undefined;
  modified: string[] | undefined;
}

/** Checks the counters of a change (`validation` naming the first bad one). */
export function countersOf(change: TaskUpdate): Counters {
  const fields: Record<string, unknown> = {};
  if (change.progress !== undefined) fields.progress = number(change.progress, 'progress', 0, 100);
  if (change.iteration !== undefined) fields.iteration = number(change.iteration, 'iteration', 0, 1e9, true);
  if (change.costUsd !== undefined) fields.cost_usd = number(change.costUsd, 'costUsd', 0, 1e9);
  if (change.tokensIn !== undefined) fields.tokens_in = number(change.tokensIn, 'tokensIn', 0, 1e15, true);
  if (change.tokensOut !== undefined) fields.tokens_out = number(change.tokensOut, 'tokensOut', 0, 1e15, true);
  if (change.sessionId !== undefined) fields.session_id = optionalText(change.sessionId, 'sessionId', 200);
  // A limit changed while the task runs applies from the next figure the agent reports (see runtime/agent-run.ts).
  const limits = checkLimits(change);
  if (change.maxIterations !== undefined) fields.max_iterations = limits.maxIterations;
  if (change.maxCostUsd !== undefined) fields.max_cost_usd = limits.maxCostUsd;
  return {
    fields,
    created: change.filesCreated === undefined ? undefined : fileList(change.filesCreated, 'filesCreated'),
    modified: change.filesModified === undefined ? undefined : fileList(change.filesModified, 'filesModified'),
  };
}

function fileList(value: unknown, field: string): string[] {
  return list(value, field, 10_000, (v, f) => text(v, f, 4096));
}
