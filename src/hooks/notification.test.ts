import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../domain/cursor.js';
import type { HubEvent, Message } from '../domain/types.js';
import { hookEnvironment, MAX_NOTIFIED_CONTENT_BYTES, notification, webhookSignature } from './notification.js';

const event: HubEvent = {
  seq: 42,
  cursor: encodeCursor(42),
  at: '2025-01-01T00:00:00.000Z',
  type: 'message.status_changed',
  threadId: '0190a000-0000-7000-8000-000000000001',
  messageId: '0190a000-0000-7000-8000-000000000002',
  taskId: null,
  runId: null,
  module: 'arangodb',
  data: { from: 'processing', to: 'complete' },
};

function message(content: string): Message {
  return {
    id: event.messageId as string,
    threadId: event.threadId as string,
    author: 'arangodb',
    role: 'assistant',
    content,
    status: 'complete',
    error: null,
    createdAt: event.at,
    startedAt: event.at,
    completedAt: event.at,
    updatedAt: event.at,
    schema: null,
    retryOf: null,
    value: null,
    validation: null,
  };
}

describe('a hook notification', () => {
  it('names the watch, the delivery (the event’s cursor), the event and the message', () => {
    const n = notification('w1', event, message('The answer'));
    expect(n).toEqual({
      watchId: 'w1',
      deliveryId: event.cursor,
      event,
      message: {
        id: event.messageId,
        threadId: event.threadId,
        author: 'arangodb',
        status: 'complete',
        error: null,
        contentLength: 10,
        content: 'The answer',
        contentTruncated: false,
      },
    });
  });

  it('cuts long content to 64 KiB of UTF-8 on a character boundary and still tells the whole length', () => {
    const long = 'é'.repeat(40_000) + '🙂'.repeat(10_000);
    const n = notification('w1', event, message(long));
    const bytes = Buffer.byteLength(n.message.content, 'utf8');
    expect(bytes).toBeLessThanOrEqual(MAX_NOTIFIED_CONTENT_BYTES);
    expect(bytes).toBeGreaterThan(MAX_NOTIFIED_CONTENT_BYTES - 4);
    expect(long.startsWith(n.message.content)).toBe(true);
    expect(n.message.contentTruncated).toBe(true);
    expect(n.message.contentLength).toBe(50_000);
  });

  it('gives a command its CLAUDE_COMMS_* variables', () => {
    expect(hookEnvironment(notification('w1', event, message('')))).toEqual({
      CLAUDE_COMMS_WATCH_ID: 'w1',
      CLAUDE_COMMS_DELIVERY_ID: event.cursor,
      CLAUDE_COMMS_EVENT: 'message.status_changed',
      CLAUDE_COMMS_MESSAGE_ID: event.messageId,
      CLAUDE_COMMS_THREAD_ID: event.threadId,
      CLAUDE_COMMS_MODULE: 'arangodb',
      CLAUDE_COMMS_STATUS: 'complete',
      CLAUDE_COMMS_CURSOR: event.cursor,
    });
  });

  it('signs a webhook body with HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
    expect(webhookSignature('k', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
    expect(webhookSignature('k', '1700000001', '{"a":1}')).not.toBe(`sha256=${expected}`);
  });
});
