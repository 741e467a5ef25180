/** How a reply's status reads as an A2A task state (docs/a2a.md lists the same table). */
import { TaskState } from '@a2a-js/sdk';
import type { Status } from '../domain/status.js';

/** pending → submitted, processing (and paused: it goes on) → working, complete → completed, and so on. */
export const A2A_STATES: Readonly<Record<Status, TaskState>> = {
  pending: TaskState.TASK_STATE_SUBMITTED,
  processing: TaskState.TASK_STATE_WORKING,
  paused: TaskState.TASK_STATE_WORKING,
  complete: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  cancelled: TaskState.TASK_STATE_CANCELED,
};
