/**
 * A structured reply's answer checked, and repaired: once a run ends well, its answer is parsed (exchange/answer.ts)
 * and validated against the reply's schema. A valid answer's value goes with the reply as it completes; an invalid
 * one starts a repair round — the same agent, in the same session where it has one, is given the errors and asked
 * again — up to the reply's `maxRepairs`; after the last, the reply fails with reason `validation` and the errors.
 * Every round (its answer, its issues) is kept on the reply and written to its task's log.
 */
import type { RunDone } from '../agents/types.js';
import type { ValidationIssue, ValidationRound } from '../domain/types.js';
import { parseAnswer, parseIssue, repairPrompt } from '../exchange/answer.js';
import { formatIssues, validateValue } from '../exchange/validator.js';
import type { StructuredReplies } from '../store/structured-replies.js';
import type { TaskStore } from '../store/tasks.js';
import type { AgentRuns, RunningClaim } from './agent-run.js';
import type { WorkerModule } from './backends.js';

/** How a structured run ended: a run's end, with the value when valid. */
export type CheckedDone = RunDone & { value?: unknown };

export interface StructuredContext {
  runs: AgentRuns;
  replies: StructuredReplies;
  tasks: TaskStore;
  stored<T>(write: () => Promise<T>): Promise<T>;
}

/** Checks the answer of a structured reply's run, repairing it as its rounds allow. */
export async function checkAnswer(
  ctx: StructuredContext,
  module: WorkerModule,
  claim: RunningClaim,
  signal: AbortSignal,
  first: RunDone,
): Promise<CheckedDone> {
  const { message } = claim;
  const checking = message.validation;
  if (!checking || !message.schema) return first;
  let done: RunDone = first;
  for (let round = 0; ; round++) {
    if (!done.ok || signal.aborted) return done;
    const answer = await ctx.stored(() => ctx.replies.answer(message.id, claim.run));
    if (answer === undefined) return done; // the run lost its reply: finishing it will say so
    const parsed = parseAnswer(answer);
    const issues: ValidationIssue[] = parsed.ok
      ? validateValue(message.schema, parsed.value, `schema ${checking.schema}`).issues
      : [parseIssue(parsed.error)];
    const valid = issues.length === 0;
    const repairing = !valid && round < checking.maxRepairs;
    const record: ValidationRound = { round, valid, answer, issues, at: new Date().toISOString() };
    if (!(await ctx.stored(() => ctx.replies.record(message.id, claim.run, record, repairing)))) return done;
    await log(ctx, claim, checking.schema, record, repairing);
    if (valid && parsed.ok) return { ...done, value: parsed.value };
    if (!repairing) {
      const rounds = checking.maxRepairs === 1 ? '1 repair round' : `${checking.maxRepairs} repair rounds`;
      return {
        type: 'done',
        ok: false,
        reason: 'validation',
        error: `the answer does not satisfy ${checking.schema} after ${rounds}:\n${formatIssues(issues, 10)}`,
      };
    }
    claim.spent = await spentSoFar(ctx, claim);
    const text = repairPrompt(checking.schema, issues, round + 1, checking.maxRepairs);
    done = await ctx.runs.attempt(module, claim, signal, true, { text, previous: answer });
  }
}

/** The round in the task's log: valid, or its issues (the first ten). */
async function log(
  ctx: StructuredContext,
  claim: RunningClaim,
  schema: string,
  round: ValidationRound,
  repairing: boolean,
): Promise<void> {
  const { taskId } = claim;
  if (!taskId) return;
  const label = round.round === 0 ? 'the answer' : `repair round ${round.round}`;
  const text = round.valid
    ? `${label} satisfies ${schema}`
    : `${label} does not satisfy ${schema} (${round.issues.length} issue${round.issues.length === 1 ? '' : 's'})${repairing ? '; asking again' : ''}:\n${formatIssues(round.issues, 10)}`;
  await ctx
    .stored(() =>
      ctx.tasks.log(taskId, { level: round.valid ? 'info' : 'warn', text, action: 'validate', success: round.valid }),
    )
    .catch(() => undefined);
}

/** What the reply's task has counted so far: the next round adds to it. */
async function spentSoFar(ctx: StructuredContext, claim: RunningClaim): Promise<RunningClaim['spent']> {
  if (!claim.taskId) return undefined;
  const taskId = claim.taskId;
  const task = await ctx.stored(() => ctx.tasks.get(taskId)).catch(() => undefined);
  if (!task) return claim.spent;
  return { costUsd: task.costUsd, tokensIn: task.tokensIn, tokensOut: task.tokensOut, iteration: task.iteration };
}
