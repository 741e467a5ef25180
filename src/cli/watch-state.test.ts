import { describe, expect, it } from 'vitest';
import type { EventType, HubEvent, Message, Task } from '../domain/types.js';
import { WatchedWork } from './watch-state.js';

const MESSAGE = '01a1fd12-27ee-763e-a42a-adeb69553c57';
const TASK = '01a1fd12-27ee-763e-a42a-b2a816ebf146';

function message(content: string, status: Message['status'] = 'processing'): Message {
  return {
    id: MESSAGE,
    threadId: 'thread',
    author: 'arangodb',
    role: 'assistant',
    content,
    status,
    error: null,
    createdAt: '2026-05-01T12:00:00.000Z',
    startedAt: '2026-05-01T12:00:01.000Z',
    completedAt: null,
    updatedAt: '2026-05-01T12:00:01.000Z',
    schema: null,
    retryOf: null,
    value: null,
    validation: null,
  };
}

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: TASK,
    name: 'arangodb answers marker',
    module: 'arangodb',
    kind: 'ask',
    messageId: MESSAGE,
    workflowRunId: null,
    parentId: null,
    dependsOn: [],
    status: 'processing',
    progress: 0,
    iteration: 0,
    maxIterations: null,
    criteria: [{ text: 'tables kept', verified: false, verifiedAt: null }],
    costUsd: 0,
    maxCostUsd: null,
    tokensIn: 0,
    tokensOut: 0,
    filesCreated: [],
    filesModified: [],
    sessionId: null,
    error: null,
    createdAt: '2026-05-01T12:00:00.000Z',
    startedAt: null,
    completedAt: null,
    updatedAt: '2026-05-01T12:00:00.000Z',
    retryOf: null,
    ...overrides,
  };
}

let seq = 0;
function event(type: EventType, data: Record<string, unknown>): HubEvent {
  seq++;
  return {
    seq,
    cursor: `c1.${seq.toString(36)}`,
    at: '2026-05-01T12:00:05.000Z',
    type,
    threadId: 'thread',
    messageId: MESSAGE,
    taskId: type.startsWith('task.') ? TASK : null,
    runId: null,
    module: 'arangodb',
    data,
  } as HubEvent;
}

describe('WatchedWork', () => {
  it('drops content the snapshot already holds and keeps only the new part of an overlapping delta', () => {
    const work = new WatchedWork(message('Sections wi'), task());
    // Committed before the snapshot was read: already in it.
    expect(work.apply(event('message.content_updated', { delta: 'Sections ', length: 9 }))).toBeUndefined();
    // Straddles the snapshot: half of it is news.
    const change = work.apply(event('message.content_updated', { delta: 'with page', length: 18 }));
    expect(change).toMatchObject({ kind: 'content', text: 'th page', event: { data: { delta: 'th page' } } });
    expect(work.apply(event('message.content_updated', { delta: ' spans.', length: 25 }))).toMatchObject({
      text: ' spans.',
    });
    expect(work.message?.content).toBe('Sections with page spans.');
  });

  it('starts the content over on a reset: the lost run’s text gives way to the next run’s answer', () => {
    const work = new WatchedWork(message('Half an'), task());
    expect(work.apply(event('message.content_updated', { delta: ' answer', length: 14 }))).toMatchObject({
      kind: 'content',
    });
    const reset = work.apply(event('message.content_updated', { delta: '', length: 0, reset: true }));
    expect(reset).toMatchObject({ kind: 'reset' });
    expect(work.apply(event('message.content_updated', { delta: 'The answer', length: 10 }))).toMatchObject({
      text: 'The answer',
    });
    expect(work.message?.content).toBe('The answer');
  });

  it('tells a repair round from a lost run: the check that asks again comes first, then the reset', () => {
    const work = new WatchedWork(message('{"titel": 1}'), task());
    const checked = work.apply(
      event('message.validated', { round: 0, valid: false, issues: [], issueCount: 2, repairing: true }),
    );
    expect(checked).toMatchObject({ kind: 'validated', round: 0, valid: false, issueCount: 2, repairing: true });
    expect(work.apply(event('message.content_updated', { delta: '', length: 0, reset: true }))).toMatchObject({
      kind: 'reset',
      repair: true,
    });
    // A later reset with no check before it is a lost run again.
    work.apply(event('message.content_updated', { delta: 'x', length: 1 }));
    const lost = work.apply(event('message.content_updated', { delta: '', length: 0, reset: true }));
    expect(lost).toMatchObject({ kind: 'reset' });
    expect(lost).not.toHaveProperty('repair');
    // Another reply's check is not this one's.
    expect(
      work.apply({
        ...event('message.validated', { round: 0, valid: true, issues: [], issueCount: 0, repairing: false }),
        messageId: 'other',
      } as HubEvent),
    ).toBeUndefined();
  });

  it('measures content in code points, as the store does', () => {
    const work = new WatchedWork(message('👍'), task());
    expect(work.apply(event('message.content_updated', { delta: '👍', length: 1 }))).toBeUndefined();
    expect(work.apply(event('message.content_updated', { delta: 'é!', length: 3 }))).toMatchObject({ text: 'é!' });
  });

  it('reports a status change once, ends at a final status and keeps its error', () => {
    const work = new WatchedWork(message(''), task());
    expect(work.apply(event('message.status_changed', { from: 'pending', to: 'processing' }))).toBeUndefined();
    expect(work.finished).toBe(false);
    const failed = work.apply(
      event('message.status_changed', { from: 'processing', to: 'failed', error: 'exited with status 3' }),
    );
    expect(failed).toMatchObject({ kind: 'status', of: 'message', from: 'processing', to: 'failed' });
    expect(work.finished).toBe(true);
    expect(work.message?.error).toBe('exited with status 3');
    expect(work.apply(event('message.status_changed', { from: 'processing', to: 'cancelled' }))).toBeUndefined();
  });

  it('follows a task alone: progress, criteria, log lines, and its own final status', () => {
    const work = new WatchedWork(undefined, task({ messageId: null, kind: 'manual' }));
    expect(work.apply(event('task.progressed', { progress: 40, iteration: 2, costUsd: 0.01 }))).toMatchObject({
      kind: 'progress',
    });
    expect(work.task).toMatchObject({ progress: 40, iteration: 2, costUsd: 0.01 });
    expect(work.apply(event('task.progressed', { progress: 40, iteration: 2, costUsd: 0.01 }))).toBeUndefined();
    expect(work.apply(event('task.criterion_verified', { index: 0, verified: 1, total: 1 }))).toMatchObject({
      kind: 'criterion',
      text: 'tables kept',
      verified: 1,
    });
    expect(work.apply(event('task.criterion_verified', { index: 0, verified: 1, total: 1 }))).toBeUndefined();
    expect(work.apply(event('task.logged', { level: 'warn', text: 'page 12 is blank' }))).toMatchObject({
      kind: 'log',
      level: 'warn',
    });
    expect(work.apply(event('task.status_changed', { from: 'processing', to: 'complete' }))).toMatchObject({
      of: 'task',
      to: 'complete',
    });
    expect(work.finished).toBe(true);
    expect(work.task?.progress).toBe(100);
  });

  it('is finished at once when the snapshot already is', () => {
    expect(new WatchedWork(message('done', 'complete'), task({ status: 'complete' })).finished).toBe(true);
  });
});
