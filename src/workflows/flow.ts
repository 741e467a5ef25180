/**
 * Whether a step whose dependencies are done runs or is skipped — the one rule: a step is skipped when a step it
 * depends on was skipped (unless it says `runIfSkipped`), or when its `when` does not hold; a condition that
 * cannot be decided (comparing what cannot be compared) fails the step. Decided once, before its first attempt.
 * And when a failed attempt (of a step, or of a forEach item) is tried again. Pure.
 */
import type { StepRun, WorkflowRun } from '../domain/workflow-types.js';
import { evaluateCondition, parseCondition } from './conditions.js';
import type { RetryPolicy, StepDefinition } from './definition.js';
import type { Scope } from './paths.js';

/** Why the step is skipped, or why it fails, or neither (it runs). */
export interface SkipDecision {
  reason?: string;
  fails?: string;
}

export function skipReason(
  stepDef: StepDefinition,
  s: StepRun,
  upstream: readonly StepRun[],
  run: WorkflowRun,
  scope: Scope = scopeFrom(run),
): SkipDecision {
  const skipped = upstream.find((d) => d.status === 'skipped');
  if (skipped && !stepDef.runIfSkipped) return { reason: `step ${skipped.stepId} was skipped` };
  if (stepDef.when === undefined || s.attempt > 0) return {};
  try {
    return evaluateCondition(parseCondition(stepDef.when), scope)
      ? {}
      : { reason: `when ${stepDef.when} does not hold` };
  } catch (err) {
    return { fails: `when: ${(err as Error).message}` };
  }
}

/** The scope a run's templates and conditions see: its inputs, its finished steps' outputs, its skipped steps. */
export function scopeFrom(run: WorkflowRun): Scope {
  // No prototype: a step may be called `__proto__` or `constructor` and still be a step.
  const steps: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const s of run.steps) if (s.status === 'complete') steps[s.stepId] = s.output;
  const skipped = new Set(run.steps.filter((s) => s.status === 'skipped').map((s) => s.stepId));
  return { inputs: run.inputs, steps, skipped };
}

/**
 * How long to wait before attempt `attempt + 1` of a step (or item) whose attempt `attempt` failed for `reason`,
 * under `retry`: `backoffMs × factor^(attempt-1)`; undefined when there is to be none (attempts spent, a reason it
 * is not retried on, the run cancelled).
 */
export function retryWait(
  retry: RetryPolicy | undefined,
  attempt: number,
  reason: string,
  runStatus: string,
): number | undefined {
  const policy = retry ?? {};
  if (attempt >= (policy.attempts ?? 1) || (policy.notOn ?? []).includes(reason) || runStatus === 'cancelled')
    return undefined;
  return Math.round((policy.backoffMs ?? 1000) * (policy.factor ?? 2) ** (attempt - 1));
}
