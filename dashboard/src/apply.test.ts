// The rules that keep the dashboard right without reloading: events applied to loaded messages, tasks and
// threads, including those that arrive while a snapshot loads (already in it, new, or after a gap).
import { describe, expect, it } from 'vitest';
import type { HubEvent, Task } from './api';
import {
  applyToMessages,
  applyToTask,
  applyToTasks,
  applyToThreads,
  codePoints,
  type LiveMessage,
  toReread,
  withReread,
} from './apply';
import { describeEvent } from './format';

let seq = 0;
function event(type: HubEvent['type'], ids: Partial<HubEvent>, data: Record<string, unknown> = {}): HubEvent {
  seq++;
  return {
    seq,
    cursor: `c1.${seq.toString(36)}`,
    at: `2025-06-01T10:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    type,
    threadId: null,
    messageId: null,
    taskId: null,
    runId: null,
    module: null,
    data,
    ...ids,
  } as HubEvent;
}

const reply = (content: string, status: LiveMessage['status'] = 'processing'): LiveMessage => ({
  id: 'm1',
  threadId: 't1',
  author: 'arangodb',
  role: 'assistant',
  content,
  chars: codePoints(content),
  status,
  error: null,
  createdAt: '2025-06-01T10:00:00.000Z',
  startedAt: '2025-06-01T10:00:00.000Z',
  completedAt: null,
  updatedAt: '2025-06-01T10:00:00.000Z',
  schema: null,
  retryOf: null,
  value: null,
  validation: null,
});

const append = (delta: string, length: number) =>
  event('message.content_updated', { threadId: 't1', messageId: 'm1' }, { delta, length });

describe('applying content appends', () => {
  it('appends a delta that follows what is loaded', () => {
    const after = applyToMessages([reply('Hello')], append(', world', 12));
    expect(after).not.toBe('gap');
    expect((after as LiveMessage[])[0]).toMatchObject({ content: 'Hello, world', chars: 12 });
  });

  it('skips a delta the snapshot already holds, so a replay never doubles text', () => {
    const loaded = [reply('Hello, world')];
    expect(applyToMessages(loaded, append(', world', 12))).toBe(loaded);
    expect(applyToMessages(loaded, append('Hello', 5))).toBe(loaded);
  });

  it('reports a gap when a delta does not follow what is loaded', () => {
    expect(applyToMessages([reply('Hello')], append('!', 20))).toBe('gap');
    expect(applyToMessages([], append('!', 1))).toBe('gap');
  });

  it('empties the content on a reset, so a lost run’s text gives way to the next run’s answer', () => {
    const reset = event(
      'message.content_updated',
      { threadId: 't1', messageId: 'm1' },
      { delta: '', length: 0, reset: true },
    );
    // Seen live: the lost run's deltas, the reset, then the new answer.
    let live = applyToMessages([reply('')], append('Half an', 7)) as LiveMessage[];
    for (const e of [reset, append('The answer', 10)]) live = applyToMessages(live, e) as LiveMessage[];
    expect(live[0]).toMatchObject({ content: 'The answer', chars: 10 });
    // Replayed over a snapshot read after the new answer began: the same end.
    let replayed = applyToMessages([reply('The ans')], reset) as LiveMessage[];
    for (const e of [append('The ', 4), append('answer', 10)]) replayed = applyToMessages(replayed, e) as LiveMessage[];
    expect(replayed[0]).toMatchObject({ content: 'The answer', chars: 10 });
    expect(describeEvent(reset)).toBe('content cleared: the run was lost and starts again');
  });

  it('counts lengths in code points, as the database does', () => {
    expect(codePoints('a😀b')).toBe(3);
    const after = applyToMessages([reply('😀')], append('😀 ok', 5));
    expect((after as LiveMessage[])[0]?.content).toBe('😀😀 ok');
  });
});

describe('applying status changes and new messages', () => {
  it('sets status, times and error', () => {
    const done = event(
      'message.status_changed',
      { threadId: 't1', messageId: 'm1' },
      { from: 'processing', to: 'failed', error: 'boom' },
    );
    const [m] = applyToMessages([reply('x')], done) as LiveMessage[];
    expect(m).toMatchObject({ status: 'failed', error: 'boom', completedAt: done.at });
  });

  it('adds a created message once, whatever the replay', () => {
    const created = event(
      'message.created',
      { threadId: 't1', messageId: 'm2', module: 'marker' },
      { author: 'marker', role: 'user', status: 'complete', content: 'Why?', length: 4 },
    );
    const once = applyToMessages([reply('x')], created) as LiveMessage[];
    expect(once.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect(applyToMessages(once, created)).toBe(once);
  });
});

describe('a structured reply’s checking', () => {
  const structured = (content: string): LiveMessage => ({
    ...reply(content),
    schema: { type: 'object' },
    validation: { schema: 'needs@1.0.0', maxRepairs: 2, valid: null, rounds: [] },
  });
  const issue = {
    path: '/keyPattern',
    message: 'is missing',
    expected: 'a string',
    found: '(missing)',
    rule: 'required',
  };
  const validated = (round: number, valid: boolean, repairing: boolean) =>
    event(
      'message.validated',
      { threadId: 't1', messageId: 'm1' },
      { round, valid, issues: valid ? [] : [issue], issueCount: valid ? 0 : 1, repairing },
    );

  it('adds each round with the answer it judged, once, and settles the verdict', () => {
    let live = applyToMessages([structured('{"x": 1}')], validated(0, false, true)) as LiveMessage[];
    expect(live[0]?.validation).toMatchObject({
      valid: null,
      rounds: [{ round: 0, valid: false, answer: '{"x": 1}' }],
    });
    expect(applyToMessages(live, validated(0, false, true))).toBe(live);
    const reset = event(
      'message.content_updated',
      { threadId: 't1', messageId: 'm1' },
      { delta: '', length: 0, reset: true },
    );
    for (const e of [reset, append('{"keyPattern": "a"}', 19), validated(1, true, false)])
      live = applyToMessages(live, e) as LiveMessage[];
    expect(live[0]?.validation?.valid).toBe(true);
    expect(live[0]?.validation?.rounds.map((r) => [r.round, r.valid, r.answer])).toEqual([
      [0, false, '{"x": 1}'],
      [1, true, '{"keyPattern": "a"}'],
    ]);
    expect(describeEvent(validated(0, false, true))).toBe('answer invalid (1 issue): asking again');
    expect(describeEvent(validated(1, true, false))).toBe('repair round 1 valid');
  });

  it('reads a reply again for what its events do not carry: its checking, and its value as it completes', () => {
    const created = event(
      'message.created',
      { threadId: 't1', messageId: 'm2' },
      { author: 'arangodb', role: 'assistant', status: 'pending', content: '', length: 0 },
    );
    expect(toReread(applyToMessages([], created) as LiveMessage[], created)).toBe('m2');
    // A round for a reply held without its checking, and a structured reply completing without its value.
    expect(toReread([reply('x')], validated(0, true, false))).toBe('m1');
    const complete = event(
      'message.status_changed',
      { threadId: 't1', messageId: 'm1' },
      { from: 'processing', to: 'complete' },
    );
    const done = applyToMessages([structured('x')], complete) as LiveMessage[];
    expect(toReread(done, complete)).toBe('m1');
    // Nothing to read for a plain reply completing, nor for a round applied to a held checking.
    expect(toReread(applyToMessages([reply('x')], complete) as LiveMessage[], complete)).toBeUndefined();
    expect(toReread([structured('x')], validated(0, true, false))).toBeUndefined();
    // A value once read is kept by a read that overlapped and saw none yet.
    const withValue = withReread(done, { ...done[0], value: { x: 1 } } as LiveMessage);
    expect(withReread(withValue, done[0] as LiveMessage)[0]?.value).toEqual({ x: 1 });
  });
});

const task: Task = {
  id: 'k1',
  name: 'Extract',
  module: 'marker',
  kind: 'manual',
  messageId: null,
  workflowRunId: null,
  parentId: null,
  dependsOn: [],
  status: 'processing',
  progress: 10,
  iteration: 1,
  maxIterations: 5,
  criteria: [
    { text: 'a', verified: false, verifiedAt: null },
    { text: 'b', verified: false, verifiedAt: null },
  ],
  costUsd: 0.1,
  maxCostUsd: 2,
  tokensIn: 0,
  tokensOut: 0,
  filesCreated: [],
  filesModified: [],
  sessionId: null,
  error: null,
  createdAt: '2025-06-01T10:00:00.000Z',
  startedAt: '2025-06-01T10:00:00.000Z',
  completedAt: null,
  updatedAt: '2025-06-01T10:00:00.000Z',
  retryOf: null,
};

describe('applying task events', () => {
  it('takes the absolute values a progress event carries, so replayed events end at the latest', () => {
    const first = event(
      'task.progressed',
      { taskId: 'k1' },
      { progress: 40, iteration: 2, costUsd: 0.3, changed: ['progress'] },
    );
    const second = event(
      'task.progressed',
      { taskId: 'k1' },
      { progress: 60, iteration: 3, costUsd: 0.5, changed: ['progress'], filesCreated: ['out.json'] },
    );
    const latest = applyToTask(applyToTask(applyToTask(task, second), first), second);
    expect(latest).toMatchObject({ progress: 60, iteration: 3, costUsd: 0.5, filesCreated: ['out.json'] });
  });

  it('marks a criterion verified and a completed task at 100 %', () => {
    const verified = applyToTask(task, event('task.criterion_verified', { taskId: 'k1' }, { index: 1, text: 'b' }));
    expect(verified.criteria.map((c) => c.verified)).toEqual([false, true]);
    const done = applyToTask(
      task,
      event('task.status_changed', { taskId: 'k1' }, { from: 'processing', to: 'complete' }),
    );
    expect(done).toMatchObject({ status: 'complete', progress: 100 });
  });

  it('adds a criterion an agent reported met that the task did not list, once', () => {
    const added = event('task.criterion_verified', { taskId: 'k1' }, { index: 2, text: 'c', added: true });
    const after = applyToTask(applyToTask(task, added), added);
    expect(after.criteria.map((c) => [c.text, c.verified])).toEqual([
      ['a', false],
      ['b', false],
      ['c', true],
    ]);
  });

  it('leaves a list alone (same array) when the event concerns none of its tasks', () => {
    const list = [task];
    expect(applyToTasks(list, event('task.progressed', { taskId: 'other' }, { progress: 5 }))).toBe(list);
    expect(applyToTasks(list, event('task.progressed', { taskId: 'k1' }, { progress: 5 }))[0]?.progress).toBe(5);
  });
});

describe('applying thread events', () => {
  it('puts a new thread first, once, with no replies yet; leaves reply changes to a reload', () => {
    const created = event('thread.created', { threadId: 't2' }, { title: 'New', createdBy: 'marker' });
    const old = {
      id: 't1',
      title: 'Old',
      createdBy: null,
      createdAt: 'x',
      updatedAt: 'x',
      asked: ['arangodb'],
      replies: { pending: 0, processing: 0, complete: 1, failed: 0, cancelled: 0 },
      latestReply: { module: 'arangodb', status: 'complete' as const, createdAt: 'x' },
    };
    const threads = applyToThreads([old], created);
    expect(threads.map((t) => t.id)).toEqual(['t2', 't1']);
    expect(threads[0]).toMatchObject({ title: 'New', createdBy: 'marker', asked: [], latestReply: null });
    expect(applyToThreads(threads, created)).toBe(threads);
    expect(applyToThreads(threads, event('message.created', { threadId: 't1', messageId: 'm9' }, {}))).toBe(threads);
  });
});

describe('the event feed', () => {
  it('says what changed in one line, merged content appends included', () => {
    expect(describeEvent(event('task.status_changed', { taskId: 'k1' }, { from: 'pending', to: 'processing' }))).toBe(
      'pending → processing',
    );
    expect(describeEvent(append('abc', 10), { appends: 4, added: 12 })).toBe('+12 characters in 4 appends (10 in all)');
    expect(describeEvent(event('task.logged', { taskId: 'k1' }, { level: 'error', text: 'boom' }))).toBe('error: boom');
  });
});
