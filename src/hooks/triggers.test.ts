import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../domain/cursor.js';
import type { Status } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import { DEFAULT_WATCH_EVENTS } from '../domain/watch-events.js';
import { finishes, fires, retryDelay } from './triggers.js';

function statusChange(from: Status, to: Status): HubEvent {
  return {
    seq: 7,
    cursor: encodeCursor(7),
    at: '2025-01-01T00:00:00.000Z',
    type: 'message.status_changed',
    threadId: null,
    messageId: null,
    taskId: null,
    runId: null,
    module: null,
    data: { from, to },
  };
}

describe('when a watch fires', () => {
  it('by default, on each way a reply ends and on nothing before', () => {
    expect(fires(DEFAULT_WATCH_EVENTS, statusChange('pending', 'processing'))).toBe(false);
    for (const end of ['complete', 'failed', 'cancelled'] as const) {
      expect(fires(DEFAULT_WATCH_EVENTS, statusChange('processing', end))).toBe(true);
    }
  });

  it('on every status change with `status`, and only on the chosen end otherwise', () => {
    expect(fires(['status'], statusChange('pending', 'processing'))).toBe(true);
    expect(fires(['status'], statusChange('processing', 'pending'))).toBe(true);
    expect(fires(['failed'], statusChange('processing', 'failed'))).toBe(true);
    expect(fires(['failed'], statusChange('processing', 'complete'))).toBe(false);
  });

  it('never on events that are not status changes', () => {
    const created = { ...statusChange('pending', 'complete'), type: 'message.created' } as HubEvent;
    expect(fires(['status', 'complete'], created)).toBe(false);
    expect(finishes(created)).toBe(false);
  });

  it('knows which changes end a message', () => {
    expect(finishes(statusChange('processing', 'complete'))).toBe(true);
    expect(finishes(statusChange('pending', 'cancelled'))).toBe(true);
    expect(finishes(statusChange('pending', 'processing'))).toBe(false);
  });
});

describe('retry waits', () => {
  it('double from the base after each failure up to the cap: 1, 2, 4 … 256 s, then 5 min', () => {
    const policy = { maxAttempts: 12, baseMs: 1000, maxMs: 300_000 };
    const waits = Array.from({ length: 11 }, (_, i) => retryDelay(i + 1, policy) / 1000);
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
  });
});
