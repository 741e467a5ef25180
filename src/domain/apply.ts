/**
 * The one event applier: what an event of the log does to a message or a task as a watcher holds it. The
 * dashboard, `claude-comms watch` and the MessageMonitor all follow these rules, so they agree on them: a
 * record that has finished changes no more; a status change sets the times the store sets; a completed task
 * reads 100 %; a criterion an agent reports met that the task did not list is added.
 *
 * Events carry absolute values (a status, a task's counters, a content length), so applying, in order, the events
 * that arrived while a snapshot loaded ends at the current state. Content deltas are the exception: `length` (the
 * content's length after the append, in code points) tells a delta already in the snapshot (nothing to do) from
 * one partly in it (its tail is new), from one after a gap (a delta is missing: the caller must reload). A reset
 * (a recovered reply's answer cleared for its next run) empties the content, and the deltas after it rebuild it.
 *
 * Pure, with no Node imports: the dashboard bundles it.
 */
import { isTerminal, type Status } from './status.js';
import type { EventOf, HubEvent, Message, Task } from './types.js';

/** A message as a watcher holds it: the record and its content's length in code points (as the log counts). */
export interface MessageView extends Message {
  chars: number;
}

/** The length of `text` in code points (what SQLite and PostgreSQL `length()` count), without copying it. */
export function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** `message` with its length counted. */
export function messageView(message: Message): MessageView {
  return { ...message, chars: codePoints(message.content) };
}

/** The message a `message.created` event describes, as its writer stored it. */
export function createdMessage(e: EventOf<'message.created'>): MessageView | undefined {
  if (!e.messageId || !e.threadId) return undefined;
  const { status, content } = e.data;
  return {
    id: e.messageId,
    threadId: e.threadId,
    author: e.data.author,
    role: e.data.role,
    content,
    chars: e.data.length,
    status,
    error: null,
    createdAt: e.at,
    startedAt: status === 'processing' ? e.at : null,
    completedAt: isTerminal(status) ? e.at : null,
    updatedAt: e.at,
    schema: null,
    retryOf: e.data.retryOf ?? null,
    value: null,
    validation: e.data.checking ? { ...e.data.checking, valid: null, rounds: [] } : null,
  };
}

/** The status an event puts its message in (`message.created`, `message.status_changed`), or undefined. */
export function messageStatusAfter(e: HubEvent): Status | undefined {
  if (e.type === 'message.created') return e.data.status;
  if (e.type === 'message.status_changed') return e.data.to;
  return undefined;
}

/** The times a move to `to` at `at` sets, as the store sets them: started once, completed on a final status. */
function statusTimes<T extends { startedAt: string | null; completedAt: string | null }>(
  record: T,
  to: Status,
  at: string,
): Pick<T, 'startedAt' | 'completedAt'> {
  return {
    startedAt: to === 'processing' && !record.startedAt ? at : record.startedAt,
    completedAt: isTerminal(to) ? at : record.completedAt,
  };
}

/** Whether a status change to `to` moves a record now at `status`: not when it is there or has finished. */
function moves(status: Status, to: Status): boolean {
  return status !== to && !isTerminal(status);
}

/**
 * `message` after event `e`: the same object when `e` changes nothing in it (another message's, already in the
 * snapshot, or not about messages), or `'gap'` when a content delta cannot be applied because one before it is
 * missing.
 */
export function applyToMessage(message: MessageView, e: HubEvent): MessageView | 'gap' {
  if (e.messageId !== message.id) return message;
  switch (e.type) {
    case 'message.status_changed': {
      const { to, error } = e.data;
      if (!moves(message.status, to)) return message;
      return {
        ...message,
        status: to,
        ...statusTimes(message, to, e.at),
        error: error ?? message.error,
        updatedAt: e.at,
      };
    }
    case 'message.content_updated': {
      // A reset is applied even over a snapshot read after it: every delta that followed it comes after it here.
      if (e.data.reset) return { ...message, content: '', chars: 0, updatedAt: e.at };
      const { delta, length } = e.data;
      if (message.chars >= length) return message;
      const added = [...delta];
      const fresh = length - message.chars;
      if (fresh > added.length) return 'gap';
      const tail = added.slice(added.length - fresh).join('');
      return { ...message, content: message.content + tail, chars: length, updatedAt: e.at };
    }
    case 'message.validated': {
      const v = message.validation;
      const { round, valid, issues, repairing } = e.data;
      if (!v || v.rounds.some((r) => r.round === round)) return message;
      const rounds = [...v.rounds, { round, valid, answer: message.content, issues, at: e.at }];
      return {
        ...message,
        validation: { ...v, rounds, valid: valid ? true : repairing ? null : false },
        updatedAt: e.at,
      };
    }
    default:
      return message;
  }
}

/** `task` after event `e`: the same object when `e` changes nothing in it. */
export function applyToTask(task: Task, e: HubEvent): Task {
  if (e.taskId !== task.id) return task;
  switch (e.type) {
    case 'task.progressed': {
      const d = e.data;
      return {
        ...task,
        progress: d.progress,
        iteration: d.iteration,
        costUsd: d.costUsd,
        tokensIn: d.tokensIn ?? task.tokensIn,
        tokensOut: d.tokensOut ?? task.tokensOut,
        filesCreated: d.filesCreated ?? task.filesCreated,
        filesModified: d.filesModified ?? task.filesModified,
        updatedAt: e.at,
      };
    }
    case 'task.status_changed': {
      const { to, error } = e.data;
      if (!moves(task.status, to)) return task;
      return {
        ...task,
        status: to,
        ...statusTimes(task, to, e.at),
        // A completed task is done: it reads 100 % whatever was last reported.
        progress: to === 'complete' ? 100 : task.progress,
        error: error ?? task.error,
        updatedAt: e.at,
      };
    }
    case 'task.criterion_verified': {
      const { index, text, added } = e.data;
      // A criterion an agent reported met that the task did not list arrives as the next one.
      if (added && index === task.criteria.length) {
        return { ...task, criteria: [...task.criteria, { text, verified: true, verifiedAt: e.at }], updatedAt: e.at };
      }
      const criterion = task.criteria[index];
      if (!criterion || criterion.verified) return task;
      const criteria = task.criteria.map((c, i) => (i === index ? { ...c, verified: true, verifiedAt: e.at } : c));
      return { ...task, criteria, updatedAt: e.at };
    }
    default:
      return task;
  }
}
