import { StreamResponse, TaskState } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../domain/cursor.js';
import type { Status } from '../domain/status.js';
import type { HubEvent, Message } from '../domain/types.js';
import type { A2APushTarget } from './a2a-push.js';
import { a2aPushNotification } from './a2a-push.js';

const push: A2APushTarget = {
  configId: 'c1',
  taskId: 'task-1',
  contextId: 'ctx-1',
  url: 'https://me.example/hook',
  token: 'tok',
  authentication: null,
  wireVersion: '1.0',
};

function moved(from: Status, to: Status, reason?: string): HubEvent {
  return {
    seq: 7,
    cursor: encodeCursor(7),
    at: '2026-01-01T00:00:00.000Z',
    type: 'message.status_changed',
    threadId: 'th',
    messageId: 'reply-1',
    taskId: 'hub-task',
    runId: null,
    module: 'beta',
    data: { from, to, ...(reason ? { reason } : {}) },
  };
}

function reply(status: Status, content = '', error: string | null = null): Message {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: 'reply-1',
    threadId: 'th',
    author: 'beta',
    role: 'assistant',
    content,
    status,
    error,
    createdAt: at,
    startedAt: at,
    completedAt: null,
    updatedAt: at,
    schema: null,
    retryOf: null,
    value: null,
    validation: null,
  };
}

describe('an A2A push notification', () => {
  it('is a status update while the task goes on, with the token header and the A2A content type', () => {
    const n = a2aPushNotification(push, moved('pending', 'processing'), reply('processing'));
    expect(n.headers).toEqual({ 'content-type': 'application/a2a+json', 'X-A2A-Notification-Token': 'tok' });
    expect(JSON.parse(n.body)).toEqual({
      statusUpdate: {
        taskId: 'task-1',
        contextId: 'ctx-1',
        status: { state: 'TASK_STATE_WORKING', timestamp: '2026-01-01T00:00:00.000Z' },
      },
    });
  });

  it('is the whole task when it ends: completed with the answer, failed with why', () => {
    const done = StreamResponse.fromJSON(
      JSON.parse(a2aPushNotification(push, moved('processing', 'complete'), reply('complete', 'the answer')).body),
    ).payload;
    if (done?.$case !== 'task') throw new Error('not a task');
    expect(done.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(done.value.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'the answer' });
    expect(done.value.metadata?.claudeComms).toEqual({
      module: 'beta',
      threadId: 'th',
      messageId: 'reply-1',
      taskId: 'hub-task',
    });
    const failed = StreamResponse.fromJSON(
      JSON.parse(a2aPushNotification(push, moved('processing', 'failed'), reply('failed', '', 'exit 3')).body),
    ).payload;
    if (failed?.$case !== 'task') throw new Error('not a task');
    expect(failed.value.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(failed.value.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'exit 3' });
    expect(failed.value.artifacts).toEqual([]);
  });

  it('sends authentication as Authorization, and a v0.3 config the v0.3 event', () => {
    const n = a2aPushNotification(
      { ...push, authentication: { scheme: 'Bearer', credentials: 'xyz' }, wireVersion: '0.3' },
      moved('processing', 'cancelled', 'cancelled over A2A'),
      reply('cancelled'),
    );
    expect(n.headers.authorization).toBe('Bearer xyz');
    expect(n.headers['X-A2A-Notification-Token']).toBeUndefined();
    const body = JSON.parse(n.body);
    expect([body.kind, body.id, body.status.state]).toEqual(['task', 'task-1', 'canceled']);
    expect(body.status.message.parts[0].text).toBe('cancelled over A2A');
  });
});
