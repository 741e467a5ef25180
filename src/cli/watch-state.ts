/**
 * What a watcher knows about a reply (and its task) or a task alone: a snapshot read once, brought up to date
 * by the events that follow. The watcher subscribes before it reads the snapshot, so no change is missed, and
 * events the snapshot already includes are recognised and dropped: content by its length, statuses by value.
 * A content reset (a lost run's answer cleared) always applies, and the deltas after it rebuild the text.
 * Pure: no I/O, tested on records and events.
 */
import { applyToMessage, applyToTask, type MessageView, messageView } from '../domain/apply.js';
import { isTerminal, type Status } from '../domain/status.js';
import type { EventOf, HubEvent, Message, Task } from '../domain/types.js';

/** What an event changed, for the renderer. `event` is what `--json` prints (a content delta cut to its news). */
export type WatchChange = { event: HubEvent } & (
  | { kind: 'content'; text: string }
  /** The content was emptied: its run was lost and the reply runs again, or (`repair`) a repair round begins. */
  | { kind: 'reset'; repair?: true }
  /** A structured answer was checked: valid, or not (and asked again when `repairing`). */
  | { kind: 'validated'; round: number; valid: boolean; issueCount: number; repairing: boolean }
  | { kind: 'status'; of: 'message' | 'task'; from: Status; to: Status; reason?: string; error?: string }
  | { kind: 'progress' }
  | { kind: 'criterion'; text: string; verified: number; total: number }
  | { kind: 'log'; level: string; text: string; action?: string; target?: string }
);

/** A reply with its task, or a task on its own, as the events move it on (by the hub's one event applier). */
export class WatchedWork {
  private view: MessageView | undefined;
  /** A repair round was announced: the content reset that follows starts it (nothing was lost). */
  private repairing = false;

  constructor(
    message: Message | undefined,
    public task: Task | undefined,
  ) {
    this.view = message ? messageView(message) : undefined;
  }

  /** The reply as it stands now. */
  get message(): Message | undefined {
    if (!this.view) return undefined;
    const { chars: _, ...message } = this.view;
    return message;
  }

  set message(message: Message | undefined) {
    this.view = message ? messageView(message) : undefined;
  }

  /** The status that decides when watching ends: the reply's, or the task's when there is no reply. */
  get status(): Status | undefined {
    return this.view?.status ?? this.task?.status;
  }

  /** True once the reply (or the task alone) has finished. */
  get finished(): boolean {
    const status = this.status;
    return status !== undefined && isTerminal(status);
  }

  /** Applies one event; answers what it changed, or undefined when the snapshot already had it. */
  apply(event: HubEvent): WatchChange | undefined {
    const message = this.view;
    const task = this.task;
    switch (event.type) {
      case 'message.content_updated': {
        if (!message) return undefined;
        const after = applyToMessage(message, event);
        if (after === message) return undefined;
        if (event.data.reset) {
          this.view = after as MessageView;
          const repair = this.repairing;
          this.repairing = false;
          return repair ? { kind: 'reset', repair: true, event } : { kind: 'reset', event };
        }
        // A delta after a missing one cannot happen here (the watcher subscribes before it reads the snapshot);
        // were it to, the delta is shown rather than lost.
        const next =
          after === 'gap'
            ? { ...message, content: message.content + event.data.delta, chars: event.data.length }
            : after;
        const news = next.content.slice(message.content.length);
        this.view = next;
        return { kind: 'content', text: news, event: { ...event, data: { ...event.data, delta: news } } };
      }
      case 'message.validated': {
        if (!message || event.messageId !== message.id) return undefined;
        const { round, valid, issueCount, repairing } = event.data;
        this.repairing = repairing;
        return { kind: 'validated', round, valid, issueCount, repairing, event };
      }
      case 'message.status_changed': {
        if (!message) return undefined;
        const after = applyToMessage(message, event) as MessageView;
        if (after === message) return undefined;
        this.view = after;
        return statusChange('message', message.status, event);
      }
      case 'task.status_changed':
      case 'task.progressed':
      case 'task.criterion_verified': {
        if (!task) return undefined;
        const after = applyToTask(task, event);
        if (after === task || JSON.stringify(after) === JSON.stringify(task)) return undefined;
        this.task = after;
        if (event.type === 'task.status_changed') return statusChange('task', task.status, event);
        if (event.type === 'task.progressed') return { kind: 'progress', event };
        const criterion = after.criteria[event.data.index];
        return {
          kind: 'criterion',
          text: criterion?.text ?? event.data.text,
          verified: after.criteria.filter((c) => c.verified).length,
          total: after.criteria.length,
          event,
        };
      }
      case 'task.logged': {
        if (!task || event.taskId !== task.id) return undefined;
        const { level, text, action, target } = event.data;
        return { kind: 'log', level, text, ...(action ? { action } : {}), ...(target ? { target } : {}), event };
      }
      default:
        return undefined;
    }
  }
}

/** The change a status event made to a record that was at `from`. */
function statusChange(
  of: 'message' | 'task',
  from: Status,
  event: EventOf<'message.status_changed'> | EventOf<'task.status_changed'>,
): Extract<WatchChange, { kind: 'status' }> {
  const { to, reason, error } = event.data;
  return { kind: 'status', of, from, to, ...(reason ? { reason } : {}), ...(error ? { error } : {}), event };
}
