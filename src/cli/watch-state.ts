/**
 * What a watcher knows about a reply (and its task) or a task alone: a snapshot read once, brought up to date
 * by the events that follow. The watcher subscribes before it reads the snapshot, so no change is missed, and
 * events the snapshot already includes are recognised and dropped: content by its length, statuses by value.
 * A content reset (a lost run's answer cleared) always applies, and the deltas after it rebuild the text.
 * Pure: no I/O, tested on records and events.
 */
import { isTerminal, type Status } from '../domain/status.js';
import type { HubEvent, Message, Task } from '../domain/types.js';

/** What an event changed, for the renderer. `event` is what `--json` prints (a content delta cut to its news). */
export type WatchChange = { event: HubEvent } & (
  | { kind: 'content'; text: string }
  /** The content was emptied: its run was lost and the reply runs again. */
  | { kind: 'reset' }
  | { kind: 'status'; of: 'message' | 'task'; from: Status; to: Status; reason?: string; error?: string }
  | { kind: 'progress' }
  | { kind: 'criterion'; text: string; verified: number; total: number }
  | { kind: 'log'; level: string; text: string; action?: string; target?: string }
);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** A reply with its task, or a task on its own, as the events move it on. */
export class WatchedWork {
  /** Content length in code points, as the store counts it. */
  private length: number;

  constructor(
    public message: Message | undefined,
    public task: Task | undefined,
  ) {
    this.length = message ? [...message.content].length : 0;
  }

  /** The status that decides when watching ends: the reply's, or the task's when there is no reply. */
  get status(): Status | undefined {
    return this.message?.status ?? this.task?.status;
  }

  /** True once the reply (or the task alone) has finished. */
  get finished(): boolean {
    const status = this.status;
    return status !== undefined && isTerminal(status);
  }

  /** Applies one event; answers what it changed, or undefined when the snapshot already had it. */
  apply(event: HubEvent): WatchChange | undefined {
    const d = event.data;
    const message = this.message;
    const task = this.task;
    switch (event.type) {
      case 'message.content_updated': {
        if (!message || event.messageId !== message.id) return undefined;
        if (d.reset === true) {
          // Applied even when the snapshot was read after it: every delta that followed it comes after it here.
          message.content = '';
          this.length = 0;
          return { kind: 'reset', event };
        }
        const delta = [...(str(d.delta) ?? '')];
        const end = num(d.length) ?? this.length + delta.length;
        if (end <= this.length) return undefined;
        const news = delta.slice(Math.max(0, delta.length - (end - this.length))).join('');
        message.content += news;
        this.length = end;
        return { kind: 'content', text: news, event: { ...event, data: { ...d, delta: news } } };
      }
      case 'message.status_changed': {
        if (!message || event.messageId !== message.id) return undefined;
        const change = moveStatus('message', message, event);
        if (change?.to === 'processing') message.startedAt ??= event.at;
        return change;
      }
      case 'task.status_changed': {
        if (!task || event.taskId !== task.id) return undefined;
        const change = moveStatus('task', task, event);
        if (change?.to === 'complete') task.progress = 100;
        return change;
      }
      case 'task.progressed': {
        if (!task || event.taskId !== task.id) return undefined;
        const before = JSON.stringify(task);
        task.progress = num(d.progress) ?? task.progress;
        task.iteration = num(d.iteration) ?? task.iteration;
        task.costUsd = num(d.costUsd) ?? task.costUsd;
        task.tokensIn = num(d.tokensIn) ?? task.tokensIn;
        task.tokensOut = num(d.tokensOut) ?? task.tokensOut;
        if (Array.isArray(d.filesCreated)) task.filesCreated = d.filesCreated as string[];
        if (Array.isArray(d.filesModified)) task.filesModified = d.filesModified as string[];
        return JSON.stringify(task) === before ? undefined : { kind: 'progress', event };
      }
      case 'task.criterion_verified': {
        const index = num(d.index) ?? -1;
        const text = str(d.text);
        // A criterion an agent reported as met that the task did not list arrives as the next one (`added`).
        if (task && event.taskId === task.id && index === task.criteria.length && d.added === true && text) {
          task.criteria.push({ text, verified: false, verifiedAt: null });
        }
        const criterion = task?.criteria[index];
        if (!task || event.taskId !== task.id || !criterion || criterion.verified) return undefined;
        criterion.verified = true;
        criterion.verifiedAt = event.at;
        const verified = task.criteria.filter((c) => c.verified).length;
        return { kind: 'criterion', text: criterion.text, verified, total: task.criteria.length, event };
      }
      case 'task.logged': {
        if (!task || event.taskId !== task.id) return undefined;
        const action = str(d.action);
        const target = str(d.target);
        return {
          kind: 'log',
          level: str(d.level) ?? 'info',
          text: str(d.text) ?? '',
          ...(action ? { action } : {}),
          ...(target ? { target } : {}),
          event,
        };
      }
      default:
        return undefined;
    }
  }
}

/** Moves `record` to the status a `*.status_changed` event names, unless it is there already or has finished. */
function moveStatus(
  of: 'message' | 'task',
  record: Message | Task,
  event: HubEvent,
): Extract<WatchChange, { kind: 'status' }> | undefined {
  const d = event.data;
  const to = d.to as Status;
  if (record.status === to || isTerminal(record.status)) return undefined;
  const from = record.status;
  record.status = to;
  if (isTerminal(to)) record.completedAt = event.at;
  const error = str(d.error);
  if (error) record.error = error;
  const reason = str(d.reason);
  return { kind: 'status', of, from, to, ...(reason ? { reason } : {}), ...(error ? { error } : {}), event };
}
