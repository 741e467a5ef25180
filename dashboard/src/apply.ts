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

export { applyToTask, codePoints, isTerminal, messageView as liveMessage };

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
  if (e.type !== 'message.status_changed' && e.type !== 'message.content_updated') return messages;
  const message = messages[index];
  if (!message) return 'gap';
  const next = applyToMessage(message, e);
  if (next === 'gap' || next === message) return next === 'gap' ? 'gap' : messages;
  const copy = messages.slice();
  copy[index] = next;
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
