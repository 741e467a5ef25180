/** Workflow runs and their steps as every surface shows them (see workflows/ and store/workflow-runs.ts). */
import type { Status, StepStatus } from './status.js';

/** A run's status: the shared vocabulary, with `paused` (no new step starts). */
export type RunStatus = Status;

export interface StepRun {
  stepId: string;
  kind: string;
  /** The steps it waits for (from the definition the run started with). */
  after: string[];
  status: StepStatus;
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
  /** What else is known of the step: why it was skipped, its approval, how its module was chosen, its items. */
  detail: StepDetail | null;
}

/** An approval step's request and, once made, its decision. */
export interface Approval {
  message: string;
  /** Modules whose tokens may decide (any unscoped caller may); null: the module that started the run. */
  approvers: string[] | null;
  timeoutAt: string | null;
  decision?: 'approved' | 'rejected' | 'timed_out';
  /** `user` for an unscoped caller, else the module whose token decided. */
  by?: string;
  note?: string;
  at?: string;
}

/** How an ask step that names a capability chose its module. */
export interface Routing {
  capability: string;
  chosen: string;
  considered: { module: string; busy: number; queued: number; chosen: boolean; why?: string }[];
}

export interface StepDetail {
  skipped?: string;
  approval?: Approval;
  routing?: Routing;
  /** A `forEach` step's items by status. */
  items?: { total: number; complete: number; failed: number; running: number };
}

/** One item of a `forEach` step. */
export interface StepItem {
  index: number;
  status: Status;
  attempt: number;
  /** The item, as the list held it. */
  input: unknown;
  output: unknown;
  error: string | null;
  reason: string | null;
  messageId: string | null;
  costUsd: number;
  notBefore: string | null;
  startedAt: string | null;
  completedAt: string | null;
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
