import { describe, expect, it } from 'vitest';
import { assertFilter, expandTypes, matchesFilter } from './filter.js';
import type { HubEvent } from './types.js';

const event: HubEvent = {
  seq: 7,
  cursor: 'c1.7',
  at: '2026-01-01T00:00:00.000Z',
  type: 'message.status_changed',
  threadId: 't',
  messageId: 'm',
  taskId: null,
  runId: null,
  module: 'arangodb',
  data: { from: 'pending', to: 'processing' },
};

describe('event filters', () => {
  it('expand a family to its exact types', () => {
    expect(expandTypes(['message.*'])).toEqual([
      'message.created',
      'message.status_changed',
      'message.content_updated',
      'message.validated',
    ]);
    expect(expandTypes(undefined)).toBeUndefined();
    expect(expandTypes([])).toBeUndefined();
  });

  it('match on every given field and only those', () => {
    expect(matchesFilter(event, {})).toBe(true);
    expect(matchesFilter(event, { messageId: 'm', threadId: 't', module: 'arangodb' })).toBe(true);
    expect(matchesFilter(event, { messageId: 'other' })).toBe(false);
    expect(matchesFilter(event, { taskId: 'x' })).toBe(false);
    expect(matchesFilter(event, {}, expandTypes(['task.*']))).toBe(false);
    expect(matchesFilter(event, {}, expandTypes(['message.status_changed']))).toBe(true);
  });

  it('refuse an event type that does not exist, naming it', () => {
    expect(() => assertFilter({ types: ['message.updated'] })).toThrow("unknown event type 'message.updated'");
    expect(() => assertFilter({ types: ['nope.*'] })).toThrow(expect.objectContaining({ code: 'validation' }));
    expect(() => assertFilter({ types: ['task.*', 'thread.created'] })).not.toThrow();
  });
});
