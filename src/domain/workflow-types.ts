/** Workflow runs and their steps as every surface shows them (see workflows/ and store/workflow-runs.ts). */
import type { Status } from './status.js';

/** A run's status: the shared vocabulary, with `paused` (no new step starts). */
export type RunStatus = Status;

export interface StepRun {
  stepId: string;
  kind: string;
  /** The steps it waits for (from the definition the run started with). */
  after: string[];
  status: Status;
  /** Attempts started (0 before the first). */
  attempt: number;
  /** The step's output once complete: what `{{ steps.ID }}` resolves to. */
  output: unknown;
  error: string | null;
  reason: string | null;
  /** The task that represents the step (kind `workflow_step`). */
  taskId: string | null;
  /** For an ask step: the reply it waits for. */
  messageId: string | null;
  costUsd: number;
  /** A retry waits until then. */
  notBefore: string | null;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
}

export interface WorkflowRun {
  id: string;
  workflow: string;
  /** sha256 of the definition the run started with (which it keeps, whatever the workflow becomes). */
  hash: string;
  inputs: Record<string, unknown>;
  status: RunStatus;
  output: unknown;
  error: string | null;
  costUsd: number;
  createdBy: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  steps: StepRun[];
}
