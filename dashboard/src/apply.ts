/**
 * Applying one event to what the dashboard has loaded: pure functions, so the rules that keep the page right
 * are tested without a browser. Events carry absolute values (a status, a task's counters, a content length), so
 * applying the events that arrived while a snapshot loaded, in order, ends at the current state. Content deltas
 * are the exception; `data.length` (the length after the append) tells a delta already in the snapshot from one
 * that is new, and from one that follows a gap (then the resource is reloaded). A reset (`data.reset`: a lost
 * run's answer cleared for the next run) empties the content, and the deltas after it rebuild it.
 */
import type { HubEvent, Message, Status, Task, ThreadSummary } from './api';

/** A message with its content's length in code points, as the event log counts it. */
export interface LiveMessage extends Message {
  chars: number;
}

const TERMINAL: readonly string[] = ['complete', 'failed', 'cancelled'];

/** True for `complete`, `failed` and `cancelled`. */
export const isTerminal = (status: string): boolean => TERMINAL.includes(status);

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

export function liveMessage(message: Message): LiveMessage {
  return { ...message, chars: codePoints(message.content) };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The times a status change sets, as the store sets them. */
function statusTimes<T extends { startedAt: string | null; completedAt: string | null }>(
  record: T,
  to: string,
  at: string,
): Pick<T, 'startedAt' | 'completedAt'> {
  return {
    startedAt: to === 'processing' && !record.startedAt ? at : record.startedAt,
    completedAt: isTerminal(to) ? at : record.completedAt,
  };
}

/**
 * A thread's messages after event `e`: the same array when `e` changes none of them, or `'gap'` when `e` cannot
 * be applied to what is loaded (a change to a message not loaded, content after a missing delta): reload.
 */
export function applyToMessages(messages: readonly LiveMessage[], e: HubEvent): readonly LiveMessage[] | 'gap' {
  if (!e.messageId) return messages;
  const index = messages.findIndex((m) => m.id === e.messageId);
  const d = e.data;
  if (e.type === 'message.created') {
    if (index >= 0 || !e.threadId) return messages;
    const status = (str(d.status) ?? 'pending') as Status;
    const content = str(d.content) ?? '';
    const created: LiveMessage = {
      id: e.messageId,
      threadId: e.threadId,
      author: str(d.author) ?? e.module ?? '',
      role: (str(d.role) ?? 'assistant') as Message['role'],
      content,
      chars: num(d.length) ?? codePoints(content),
      status,
      error: null,
      createdAt: e.at,
      startedAt: status === 'processing' ? e.at : null,
      completedAt: isTerminal(status) ? e.at : null,
      updatedAt: e.at,
      schema: null,
    };
    return [...messages, created];
  }
  if (e.type !== 'message.status_changed' && e.type !== 'message.content_updated') return messages;
  const message = messages[index];
  if (!message) return 'gap';
  let next: LiveMessage;
  if (e.type === 'message.status_changed') {
    const to = str(d.to);
    if (!to) return messages;
    next = {
      ...message,
      status: to as Status,
      ...statusTimes(message, to, e.at),
      error: str(d.error) ?? message.error,
      updatedAt: e.at,
    };
  } else if (d.reset === true) {
    // A lost run's answer cleared: always applied, as every delta after it follows it here.
    next = { ...message, content: '', chars: 0, updatedAt: e.at };
  } else {
    const delta = str(d.delta) ?? '';
    const length = num(d.length);
    if (length === undefined) return 'gap';
    if (message.chars >= length) return messages; // already in the snapshot
    const added = codePoints(delta);
    if (message.chars !== length - added) return 'gap';
    next = { ...message, content: message.content + delta, chars: length, updatedAt: e.at };
  }
  const copy = messages.slice();
  copy[index] = next;
  return copy;
}

/** A task after event `e` (the same object when `e` does not concern it). */
export function applyToTask(task: Task, e: HubEvent): Task {
  if (e.taskId !== task.id) return task;
  const d = e.data;
  switch (e.type) {
    case 'task.progressed': {
      const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : undefined);
      return {
        ...task,
        progress: num(d.progress) ?? task.progress,
        iteration: num(d.iteration) ?? task.iteration,
        costUsd: num(d.costUsd) ?? task.costUsd,
        tokensIn: num(d.tokensIn) ?? task.tokensIn,
        tokensOut: num(d.tokensOut) ?? task.tokensOut,
        filesCreated: list(d.filesCreated) ?? task.filesCreated,
        filesModified: list(d.filesModified) ?? task.filesModified,
        updatedAt: e.at,
      };
    }
    case 'task.status_changed': {
      const to = str(d.to);
      if (!to) return task;
      return {
        ...task,
        status: to as Status,
        ...statusTimes(task, to, e.at),
        progress: to === 'complete' ? 100 : task.progress,
        error: str(d.error) ?? task.error,
        updatedAt: e.at,
      };
    }
    case 'task.criterion_verified': {
      const index = num(d.index);
      const text = str(d.text);
      // A criterion an agent reported as met that the task did not list arrives as the next one (`added`).
      if (index === task.criteria.length && d.added === true && text !== undefined) {
        return { ...task, criteria: [...task.criteria, { text, verified: true, verifiedAt: e.at }], updatedAt: e.at };
      }
      if (index === undefined || !task.criteria[index]) return task;
      const criteria = task.criteria.map((c, i) => (i === index ? { ...c, verified: true, verifiedAt: e.at } : c));
      return { ...task, criteria, updatedAt: e.at };
    }
    default:
      return task;
  }
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
  const d = e.data;
  const thread: ThreadSummary = {
    id: e.threadId,
    title: str(d.title) ?? null,
    createdBy: str(d.createdBy) ?? null,
    createdAt: e.at,
    updatedAt: e.at,
    asked: [],
    replies: { pending: 0, processing: 0, complete: 0, failed: 0, cancelled: 0 },
    latestReply: null,
  };
  return [thread, ...threads];
}
