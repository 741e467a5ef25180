// The one event applier, event type by event type: what each does to a message view and to a task, and that
// every type of the log has its row here (a new type without one fails the last test).
import { describe, expect, it } from 'vitest';
import {
  applyToMessage,
  applyToTask,
  codePoints,
  createdMessage,
  type MessageView,
  messageStatusAfter,
} from './apply.js';
import type { EventData } from './event-data.js';
import { EVENT_TYPES, type EventType, type HubEvent, type Task } from './types.js';

const AT = '2026-06-01T10:00:09.000Z';

function event<T extends EventType>(type: T, data: EventData[T], ids: Partial<HubEvent> = {}): HubEvent {
  return {
    seq: 9,
    cursor: 'c1.9',
    at: AT,
    type,
    threadId: 't1',
    messageId: 'm1',
    taskId: 'k1',
    runId: null,
    module: 'arangodb',
    data,
    ...ids,
  } as HubEvent;
}

const message: MessageView = {
  id: 'm1',
  threadId: 't1',
  author: 'arangodb',
  role: 'assistant',
  content: 'Sections',
  chars: 8,
  status: 'processing',
  error: null,
  createdAt: '2026-06-01T10:00:00.000Z',
  startedAt: '2026-06-01T10:00:01.000Z',
  completedAt: null,
  updatedAt: '2026-06-01T10:00:01.000Z',
  schema: null,
  retryOf: null,
  value: null,
  validation: null,
};

const task: Task = {
  id: 'k1',
  name: 'answer',
  module: 'arangodb',
  kind: 'ask',
  messageId: 'm1',
  workflowRunId: null,
  parentId: null,
  dependsOn: [],
  status: 'processing',
  progress: 40,
  iteration: 1,
  maxIterations: null,
  criteria: [{ text: 'structure described', verified: false, verifiedAt: null }],
  costUsd: 0.1,
  maxCostUsd: null,
  tokensIn: 5,
  tokensOut: 3,
  filesCreated: [],
  filesModified: [],
  sessionId: null,
  error: null,
  createdAt: '2026-06-01T10:00:00.000Z',
  startedAt: '2026-06-01T10:00:01.000Z',
  completedAt: null,
  updatedAt: '2026-06-01T10:00:01.000Z',
  retryOf: null,
};

/** Per event type: an event, and what it makes of `message` and `task` (`same`: the very object, unchanged). */
const TABLE: Record<
  EventType,
  { event: HubEvent; message: 'same' | Partial<MessageView>; task: 'same' | Partial<Task> }
> = {
  'module.registered': { event: event('module.registered', { description: 'graphs' }), message: 'same', task: 'same' },
  'module.updated': { event: event('module.updated', { paused: true }), message: 'same', task: 'same' },
  'instance.created': {
    event: event('instance.created', { instanceId: 'i1', state: 'idle' }),
    message: 'same',
    task: 'same',
  },
  'instance.updated': {
    event: event('instance.updated', { instanceId: 'i1', from: 'idle', state: 'busy' }),
    message: 'same',
    task: 'same',
  },
  'thread.created': {
    event: event('thread.created', { title: 'x', createdBy: 'marker' }),
    message: 'same',
    task: 'same',
  },
  'message.created': {
    event: event('message.created', {
      author: 'arangodb',
      role: 'assistant',
      status: 'pending',
      content: '',
      length: 0,
    }),
    message: 'same',
    task: 'same',
  },
  'message.status_changed': {
    event: event('message.status_changed', { from: 'processing', to: 'failed', error: 'boom' }),
    message: { status: 'failed', error: 'boom', completedAt: AT, updatedAt: AT },
    task: 'same',
  },
  'message.content_updated': {
    event: event('message.content_updated', { delta: ' and pages', length: 18 }),
    message: { content: 'Sections and pages', chars: 18, updatedAt: AT },
    task: 'same',
  },
  'task.created': {
    event: event('task.created', { name: 'x', kind: 'ask', criteria: [], maxIterations: null, maxCostUsd: null }),
    message: 'same',
    task: 'same',
  },
  'task.progressed': {
    event: event('task.progressed', {
      progress: 60,
      iteration: 2,
      costUsd: 0.2,
      changed: ['progress', 'iteration', 'costUsd', 'filesCreated'],
      filesCreated: ['out.json'],
    }),
    message: 'same',
    task: { progress: 60, iteration: 2, costUsd: 0.2, filesCreated: ['out.json'], tokensIn: 5, updatedAt: AT },
  },
  'task.criterion_verified': {
    event: event('task.criterion_verified', { index: 0, text: 'structure described', verified: 1, total: 1 }),
    message: 'same',
    task: { criteria: [{ text: 'structure described', verified: true, verifiedAt: AT }], updatedAt: AT },
  },
  'task.logged': { event: event('task.logged', { level: 'info', text: 'ran' }), message: 'same', task: 'same' },
  'task.status_changed': {
    event: event('task.status_changed', { from: 'processing', to: 'complete' }),
    message: 'same',
    task: { status: 'complete', progress: 100, completedAt: AT, updatedAt: AT },
  },
  'watch.created': {
    event: event('watch.created', {
      watchId: 'w1',
      messageId: 'm1',
      threadId: null,
      module: null,
      on: ['complete'],
      command: true,
      webhook: false,
      createdBy: null,
    }),
    message: 'same',
    task: 'same',
  },
  'watch.removed': {
    event: event('watch.removed', { watchId: 'w1', reason: 'finished' }),
    message: 'same',
    task: 'same',
  },
  // A reply without a schema has no checking to add a round to.
  'message.validated': {
    event: event('message.validated', { round: 0, valid: true, issues: [], issueCount: 0, repairing: false }),
    message: 'same',
    task: 'same',
  },
  'schema.published': {
    event: event('schema.published', { name: 'doc', version: '1.0.0', compatibility: 'BACKWARD' }),
    message: 'same',
    task: 'same',
  },
  'workflow_run.created': {
    event: event('workflow_run.created', { workflow: 'w', hash: 'h', steps: ['a'] }),
    message: 'same',
    task: 'same',
  },
  'workflow_run.status_changed': {
    event: event('workflow_run.status_changed', { from: 'pending', to: 'processing' }),
    message: 'same',
    task: 'same',
  },
  'step_run.status_changed': {
    event: event('step_run.status_changed', { stepId: 'a', from: 'pending', to: 'processing', attempt: 1 }),
    message: 'same',
    task: 'same',
  },
  'step_run.updated': {
    event: event('step_run.updated', {
      stepId: 'a',
      detail: { items: { total: 3, complete: 1, failed: 0, running: 2 } },
    }),
    message: 'same',
    task: 'same',
  },
  'template.published': {
    event: event('template.published', { name: 'q', version: '1.0.0', answerSchema: 'doc@1.0.0' }),
    message: 'same',
    task: 'same',
  },
};

describe('the event applier', () => {
  for (const [type, row] of Object.entries(TABLE)) {
    it(`applies ${type}`, () => {
      const m = applyToMessage(message, row.event);
      if (row.message === 'same') expect(m).toBe(message);
      else expect(m).toEqual({ ...message, ...row.message });
      const t = applyToTask(task, row.event);
      if (row.task === 'same') expect(t).toBe(task);
      else expect(t).toEqual({ ...task, ...row.task });
    });
  }

  it('has a row for every event type of the log', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('leaves a finished record as it is, and events of other records alone', () => {
    const failed = { ...message, status: 'failed' as const };
    expect(applyToMessage(failed, event('message.status_changed', { from: 'processing', to: 'complete' }))).toBe(
      failed,
    );
    const done = { ...task, status: 'complete' as const };
    expect(applyToTask(done, event('task.status_changed', { from: 'processing', to: 'failed' }))).toBe(done);
    const other = event('message.status_changed', { from: 'processing', to: 'failed' }, { messageId: 'm2' });
    expect(applyToMessage(message, other)).toBe(message);
    expect(
      applyToTask(
        task,
        event('task.progressed', { progress: 1, iteration: 1, costUsd: 0, changed: [] }, { taskId: 'k2' }),
      ),
    ).toBe(task);
  });

  it('tells content already held, partly held, new and after a gap apart; a reset empties it', () => {
    const append = (delta: string, length: number) => event('message.content_updated', { delta, length });
    expect(applyToMessage(message, append('Sect', 4))).toBe(message);
    expect(applyToMessage(message, append('ions and', 12))).toMatchObject({ content: 'Sections and', chars: 12 });
    expect(applyToMessage(message, append('!', 20))).toBe('gap');
    const reset = event('message.content_updated', { delta: '', length: 0, reset: true });
    expect(applyToMessage(message, reset)).toMatchObject({ content: '', chars: 0 });
    // Lengths are code points, as the database counts them.
    const emoji = { ...message, content: '😀', chars: codePoints('😀') };
    expect(applyToMessage(emoji, append('😀 ok', 5))).toMatchObject({ content: '😀😀 ok', chars: 5 });
  });

  it("adds a structured reply's rounds once each, with the answer they checked, and settles its verdict", () => {
    const checked: MessageView = {
      ...message,
      validation: { schema: 'doc@1.0.0', maxRepairs: 1, valid: null, rounds: [] },
    };
    const issue = {
      path: '/title',
      message: 'missing',
      expected: 'property "title"',
      found: '(missing)',
      rule: 'required',
    };
    const first = event('message.validated', {
      round: 0,
      valid: false,
      issues: [issue],
      issueCount: 1,
      repairing: true,
    });
    const after = applyToMessage(checked, first) as MessageView;
    expect(after.validation).toEqual({
      schema: 'doc@1.0.0',
      maxRepairs: 1,
      valid: null,
      rounds: [{ round: 0, valid: false, answer: 'Sections', issues: [issue], at: AT }],
    });
    expect(applyToMessage(after, first)).toBe(after);
    const last = event('message.validated', {
      round: 1,
      valid: false,
      issues: [issue],
      issueCount: 1,
      repairing: false,
    });
    expect((applyToMessage(after, last) as MessageView).validation?.valid).toBe(false);
    const good = event('message.validated', { round: 1, valid: true, issues: [], issueCount: 0, repairing: false });
    expect((applyToMessage(after, good) as MessageView).validation?.valid).toBe(true);
  });

  it('adds a criterion an agent reported met that the task did not list, once', () => {
    const added = event('task.criterion_verified', {
      index: 1,
      text: 'tests pass',
      verified: 1,
      total: 2,
      added: true,
    });
    const once = applyToTask(task, added);
    expect(once.criteria.map((c) => [c.text, c.verified])).toEqual([
      ['structure described', false],
      ['tests pass', true],
    ]);
    expect(applyToTask(once, added)).toBe(once);
  });

  it('builds a created message and names the status an event leaves its message in', () => {
    const created = event(
      'message.created',
      { author: 'marker', role: 'user', status: 'complete', content: 'Why?', length: 4 },
      { messageId: 'm2' },
    );
    expect(createdMessage(created as Extract<HubEvent, { type: 'message.created' }>)).toMatchObject({
      id: 'm2',
      content: 'Why?',
      chars: 4,
      status: 'complete',
      completedAt: AT,
    });
    expect(messageStatusAfter(created)).toBe('complete');
    // A structured reply is born with its checking, so that its rounds apply to it as they come.
    const structured = event(
      'message.created',
      {
        author: 'arangodb',
        role: 'assistant',
        status: 'pending',
        content: '',
        length: 0,
        checking: { schema: 'doc@1.0.0', maxRepairs: 2 },
      },
      { messageId: 'm3' },
    ) as Extract<HubEvent, { type: 'message.created' }>;
    const view = createdMessage(structured) as MessageView;
    expect(view.validation).toEqual({ schema: 'doc@1.0.0', maxRepairs: 2, valid: null, rounds: [] });
    const round = event(
      'message.validated',
      { round: 0, valid: true, issues: [], issueCount: 0, repairing: false },
      { messageId: 'm3' },
    );
    expect((applyToMessage(view, round) as MessageView).validation?.valid).toBe(true);
    expect(messageStatusAfter(TABLE['message.status_changed'].event)).toBe('failed');
    expect(messageStatusAfter(TABLE['task.logged'].event)).toBeUndefined();
  });
});
