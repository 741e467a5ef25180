/**
 * A run's budget: the most it may cost and the most iterations (agent turns) it may take, and the one rule by which
 * both are enforced, whatever the backend. An agent may use exactly its limit; a figure past it stops the run, and
 * the reply and its task fail with reason `budget_exceeded` and an error naming the limit and the figure reached.
 * Pure, so the worker, the claude-code backend and the tests all judge by the same lines.
 */
import { number } from './validate.js';

/** The largest cost limit, in dollars (a task's `maxCostUsd`). */
export const MAX_COST_LIMIT_USD = 1_000_000;
/** The largest iteration limit (a task's `maxIterations`). */
export const MAX_ITERATIONS_LIMIT = 1_000_000;

/** A run's limits; null (or absent) is no limit. */
export interface RunLimits {
  maxCostUsd?: number | null;
  maxIterations?: number | null;
}

/** What a run has reached so far: its own cost in dollars and its iterations (turns). */
export interface RunFigures {
  costUsd?: number;
  iterations?: number;
}

/**
 * Costs are compared at a ten-billionth of a dollar, the precision a run's cost is computed to (agents/cost.ts):
 * float noise below it (0.1 + 0.2) neither passes a limit nor shows in the error.
 */
export const COST_STEP_USD = 1e-10;

function inSteps(usd: number): number {
  return Math.round(usd / COST_STEP_USD);
}

/** `$0.50`, `$0.53`, `$0.0465`, `$0.00072`: at least cents, and every digit down to a ten-billionth. */
export function dollars(usd: number): string {
  const [whole, fraction = ''] = usd.toFixed(10).split('.');
  return `$${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/**
 * The error of a run whose figures passed its limits (`budget exceeded: cost $0.53 passed the limit of $0.50`),
 * or undefined while it stays within them. Cost is judged first: it is the limit that costs money.
 */
export function budgetExceeded(limits: RunLimits, figures: RunFigures): string | undefined {
  const { maxCostUsd, maxIterations } = limits;
  const { costUsd, iterations } = figures;
  if (maxCostUsd != null && costUsd !== undefined && inSteps(costUsd) > inSteps(maxCostUsd)) {
    return `budget exceeded: cost ${dollars(costUsd)} passed the limit of ${dollars(maxCostUsd)}`;
  }
  if (maxIterations != null && iterations !== undefined && iterations > maxIterations) {
    return `budget exceeded: iterations ${iterations} passed the limit of ${maxIterations}`;
  }
  return undefined;
}

/**
 * The limits of an ask or a task, checked (`validation` naming the field): a cost from 0 to
 * `MAX_COST_LIMIT_USD` dollars, a whole number of iterations from 1 to `MAX_ITERATIONS_LIMIT`; null is no limit.
 */
export function checkLimits(limits: RunLimits): { maxCostUsd: number | null; maxIterations: number | null } {
  return {
    maxCostUsd: limits.maxCostUsd == null ? null : number(limits.maxCostUsd, 'maxCostUsd', 0, MAX_COST_LIMIT_USD),
    maxIterations:
      limits.maxIterations == null
        ? null
        : number(limits.maxIterations, 'maxIterations', 1, MAX_ITERATIONS_LIMIT, true),
  };
}
