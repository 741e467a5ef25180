/**
 * The one status vocabulary shared by messages, tasks and runs, and the pure state machine that guards it.
 * Illegal transitions raise `invalid_transition` before anything is written.
 */
import { HubError } from './errors.js';

/** Every status a stored message, task or run can have. `paused` exists only for runs. */
export const STATUSES = ['pending', 'processing', 'paused', 'complete', 'failed', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];

/** What `messages.get` answers for an id that has no row (yet): watchers may start before the row exists. */
export type ObservedStatus = Status | 'unknown';

/** The statuses after which nothing changes. */
export const TERMINAL_STATUSES: readonly Status[] = ['complete', 'failed', 'cancelled'];

/** What kind of record a transition applies to; runs alone may pause. */
export type StatefulKind = 'message' | 'task' | 'run';

const MOVES: Record<Status, readonly Status[]> = {
  pending: ['processing', 'cancelled', 'failed'],
  // `processing → pending` is a requeue: work whose worker died goes back to the queue once.
  processing: ['complete', 'failed', 'cancelled', 'paused', 'pending'],
  paused: ['processing', 'cancelled', 'failed'],
  complete: [],
  failed: [],
  cancelled: [],
};

/** True for `complete`, `failed` and `cancelled`. */
export function isTerminal(status: ObservedStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** True when `value` is one of the stored statuses. */
export function isStatus(value: unknown): value is Status {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

/** True when `kind` may move from `from` to `to`. */
export function canTransition(kind: StatefulKind, from: Status, to: Status): boolean {
  if ((from === 'paused' || to === 'paused') && kind !== 'run') return false;
  return MOVES[from].includes(to);
}

/** Throws `invalid_transition` (naming the record, both statuses and the allowed moves) unless the move is legal. */
export function assertTransition(kind: StatefulKind, id: string, from: Status, to: Status): void {
  if (!isStatus(to)) {
    throw new HubError('validation', `'${String(to)}' is not a status; expected one of ${STATUSES.join(', ')}`);
  }
  if (canTransition(kind, from, to)) return;
  const allowed = MOVES[from].filter((s) => canTransition(kind, from, s));
  throw new HubError(
    'invalid_transition',
    `${kind} ${id} cannot move from ${from} to ${to}` +
      (allowed.length ? ` (allowed from ${from}: ${allowed.join(', ')})` : ` (${from} is final)`),
    { details: { kind, id, from, to } },
  );
}

/**
 * A workflow step's statuses: the shared vocabulary (without `paused`, which is a run's) and two of steps' own —
 * `waiting` (for an approval) and `skipped` (its condition did not hold, or a step it depends on was skipped).
 */
export const STEP_STATUSES = [
  'pending',
  'processing',
  'waiting',
  'complete',
  'failed',
  'cancelled',
  'skipped',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

const STEP_MOVES: Record<StepStatus, readonly StepStatus[]> = {
  pending: ['processing', 'waiting', 'skipped', 'failed', 'cancelled'],
  // `processing → pending`: a failed attempt waits for its retry.
  processing: ['complete', 'failed', 'cancelled', 'pending'],
  // Approved, rejected (or timed out), or the run ended.
  waiting: ['complete', 'failed', 'cancelled'],
  complete: [],
  // Retried by request.
  failed: ['pending'],
  cancelled: ['pending'],
  skipped: [],
};

/** True when a step's status is one of its final ones (`skipped` included); failed and cancelled may be retried. */
export function isStepDone(status: StepStatus): boolean {
  return status === 'complete' || status === 'failed' || status === 'cancelled' || status === 'skipped';
}

/** True when a step may move from `from` to `to`. */
export function canStepMove(from: StepStatus, to: StepStatus): boolean {
  return STEP_MOVES[from]?.includes(to) ?? false;
}

/** Throws `invalid_transition` (naming the step, both statuses and the allowed moves) unless the move is legal. */
export function assertStepTransition(id: string, from: StepStatus, to: StepStatus): void {
  if (!(STEP_STATUSES as readonly string[]).includes(to))
    throw new HubError(
      'validation',
      `'${String(to)}' is not a step status; expected one of ${STEP_STATUSES.join(', ')}`,
    );
  if (canStepMove(from, to)) return;
  const allowed = STEP_MOVES[from] ?? [];
  throw new HubError(
    'invalid_transition',
    `step ${id} cannot move from ${from} to ${to}` +
      (allowed.length ? ` (allowed from ${from}: ${allowed.join(', ')})` : ` (${from} is final)`),
    { details: { kind: 'step', id, from, to } },
  );
}
