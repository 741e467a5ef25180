import { describe, expect, it } from 'vitest';
import { HubError } from './errors.js';
import { assertTransition, canTransition, isTerminal, STATUSES, type Status } from './status.js';

describe('status machine', () => {
  it('allows the lifecycle pending → processing → complete | failed | cancelled, and pending → cancelled', () => {
    for (const to of ['complete', 'failed', 'cancelled'] as Status[])
      expect(canTransition('message', 'processing', to)).toBe(true);
    expect(canTransition('message', 'pending', 'processing')).toBe(true);
    expect(canTransition('message', 'pending', 'cancelled')).toBe(true);
  });

  it('lets nothing leave a final status', () => {
    for (const from of ['complete', 'failed', 'cancelled'] as Status[]) {
      for (const to of STATUSES) expect(canTransition('task', from, to)).toBe(false);
    }
  });

  it('keeps paused for runs only', () => {
    expect(canTransition('run', 'processing', 'paused')).toBe(true);
    expect(canTransition('run', 'paused', 'processing')).toBe(true);
    expect(canTransition('message', 'processing', 'paused')).toBe(false);
    expect(canTransition('task', 'processing', 'paused')).toBe(false);
  });

  it('refuses moving to the same status and skipping processing to complete', () => {
    expect(canTransition('message', 'processing', 'processing')).toBe(false);
    expect(canTransition('message', 'pending', 'complete')).toBe(false);
  });

  it('raises invalid_transition naming the record, both statuses and what is allowed', () => {
    let error: unknown;
    try {
      assertTransition('message', 'm1', 'pending', 'complete');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HubError);
    expect((error as HubError).code).toBe('invalid_transition');
    expect((error as HubError).message).toBe(
      'message m1 cannot move from pending to complete (allowed from pending: processing, cancelled, failed)',
    );
    expect(() => assertTransition('task', 't1', 'complete', 'failed')).toThrow('complete is final');
  });

  it('rejects a value that is no status as validation', () => {
    expect(() => assertTransition('message', 'm1', 'pending', 'done' as Status)).toThrow(
      expect.objectContaining({ code: 'validation' }),
    );
  });

  it('knows the final statuses', () => {
    expect(STATUSES.filter(isTerminal)).toEqual(['complete', 'failed', 'cancelled']);
    expect(isTerminal('unknown')).toBe(false);
  });
});
