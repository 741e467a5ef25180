/**
 * What a running step's program has reported, as the run view shows it: its task's progress and latest log line.
 * Read once from the task (`GET /tasks/{id}?logLimit=1`), then kept by its `task.progressed` and `task.logged`
 * events (whose envelope names the task, not the run): pure functions, tested without a browser.
 */
import type { HubEvent, LogLine, StepRun, Task } from './api';

/** A step task's progress (0–100) and the text of its latest log line (null before any). */
export interface StepProgress {
  progress: number;
  log: string | null;
}

/** What the run view knows of its steps' tasks, by task id. */
export type ProgressOf = Readonly<Record<string, StepProgress>>;

/** Nothing reported yet: where a task's first event applies when it arrives before the task was read. */
const NOTHING: StepProgress = { progress: 0, log: null };

/** Whether `e` is a report of a task's progress or log. */
export function isReport(e: HubEvent): e is HubEvent & { taskId: string } {
  return Boolean(e.taskId) && (e.type === 'task.progressed' || e.type === 'task.logged');
}

/** A task as `GET /tasks/{id}?logLimit=1` answers it (its newest log line), as progress. */
export function progressOf(task: Task & { log: LogLine[] }): StepProgress {
  return { progress: task.progress, log: task.log.at(-1)?.text ?? null };
}

/** `p` after event `e` (the same object when `e` changes nothing of it). */
export function withReport(p: StepProgress | undefined, e: HubEvent): StepProgress {
  const current = p ?? NOTHING;
  if (e.type === 'task.progressed' && e.data.progress !== current.progress)
    return { ...current, progress: e.data.progress };
  if (e.type === 'task.logged') return { ...current, log: e.data.text };
  return current;
}

/** What a step shows of its task's reports: only while it runs, and only once it has reported something. */
export function shownProgress(step: StepRun, progress: ProgressOf): StepProgress | undefined {
  const p = step.status === 'processing' && step.taskId ? progress[step.taskId] : undefined;
  return p && (p.progress > 0 || p.log) ? p : undefined;
}

/** A percentage as a box and a row show it: a whole number from 0 to 100. */
export function percent(p: StepProgress): number {
  return Math.round(Math.max(0, Math.min(100, p.progress)));
}
