/**
 * Applying one event to the lists the dashboard has loaded, with the hub's one event applier
 * (src/domain/apply.ts) for each record: pure functions, so the rules that keep the page right are tested without
 * a browser. A change the applier cannot make to what is loaded (`'gap'`) makes the caller reload.
 */
import {
  applyToMessage,
  applyToTask,
  codePoints,
  createdMessage,
  type MessageView,
  messageView,
} from '../../src/domain/apply.js';
import { isTerminal } from '../../src/domain/status.js';
import type { HubEvent, Task, ThreadSummary } from './api';

/** A message with its content's length in code points, as the event log counts it. */
export type LiveMessage = MessageView;

export { applyToMessage, applyToTask, codePoints, isTerminal, messageView as liveMessage };

/**
 * A thread's messages after event `e`: the same array when `e` changes none of them, or `'gap'` when `e` cannot
 * be applied to what is loaded (a change to a message not loaded, content after a missing delta): reload.
 */
export function applyToMessages(messages: readonly LiveMessage[], e: HubEvent): readonly LiveMessage[] | 'gap' {
  if (!e.messageId) return messages;
  const index = messages.findIndex((m) => m.id === e.messageId);
  if (e.type === 'message.created') {
    const created = index >= 0 ? undefined : createdMessage(e);
    return created ? [...messages, created] : messages;
  }
  const { type } = e;
  if (type !== 'message.status_changed' && type !== 'message.content_updated' && type !== 'message.validated')
    return messages;
  const message = messages[index];
  if (!message) return 'gap';
  const next = applyToMessage(message, e);
  if (next === 'gap' || next === message) return next === 'gap' ? 'gap' : messages;
  const copy = messages.slice();
  copy[index] = next;
  return copy;
}

/**
 * The reply of `messages` that event `e` leaves short of what only the API holds, to be read again: a structured
 * reply's checking (`validation`) — `message.created` does not carry it, so a reply created while its thread is
 * open is read once, and so is one that a round arrives for without it — and its value, stored as it completes
 * (the status change does not carry it). Undefined when nothing needs reading.
 */
export function toReread(messages: readonly LiveMessage[], e: HubEvent): string | undefined {
  const m = e.messageId ? messages.find((x) => x.id === e.messageId) : undefined;
  if (!m) return undefined;
  const reread =
    e.type === 'message.created'
      ? m.role === 'assistant' && m.validation === null && !isTerminal(m.status)
      : e.type === 'message.validated'
        ? m.validation === null
        : e.type === 'message.status_changed' && m.status === 'complete' && m.validation !== null && m.value == null;
  return reread ? m.id : undefined;
}

/**
 * `messages` with `fresh` (a reply read again) in place of its older copy; a value already held is kept, since
 * reads may overlap and a value is only ever set once. The same array when the reply is not among them.
 */
export function withReread(messages: readonly LiveMessage[], fresh: LiveMessage): readonly LiveMessage[] {
  const index = messages.findIndex((m) => m.id === fresh.id);
  const current = messages[index];
  if (!current) return messages;
  const copy = messages.slice();
  copy[index] = { ...fresh, value: fresh.value ?? current.value };
  return copy;
}

/** A list of tasks after event `e` (the same array when no task in it changes). */
export function applyToTasks(tasks: readonly Task[], e: HubEvent): readonly Task[] {
  if (!e.taskId || !e.type.startsWith('task.')) return tasks;
  let changed = false;
  const next = tasks.map((t) => {
    const after = applyToTask(t, e);
    changed ||= after !== t;
    return after;
  });
  return changed ? next : tasks;
}

/**
 * The thread list (newest first, as the API orders it: by creation) after event `e`: a new thread on top, with
 * no replies yet. Changes to replies move tallies that only a reload can count (events carry no totals).
 */
export function applyToThreads(threads: readonly ThreadSummary[], e: HubEvent): readonly ThreadSummary[] {
  if (e.type !== 'thread.created' || !e.threadId || threads.some((t) => t.id === e.threadId)) return threads;
  const thread: ThreadSummary = {
    id: e.threadId,
    title: e.data.title,
    createdBy: e.data.createdBy,
    createdAt: e.at,
    updatedAt: e.at,
    asked: [],
    replies: { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 },
    latestReply: null,
  };
  return [thread, ...threads];
}
