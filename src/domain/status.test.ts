import { describe, expect, it } from 'vitest';
import { HubError } from './errors.js';
import {
  assertStepTransition,
  assertTransition,
  canStepMove,
  canTransition,
  isStepDone,
  isTerminal,
  STATUSES,
  STEP_STATUSES,
  type Status,
  type StepStatus,
} from './status.js';

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

describe('step status machine', () => {
  it('keeps skipped and waiting for steps: no message, task or run has them', () => {
    expect(STATUSES as readonly string[]).not.toContain('skipped');
    expect(STATUSES as readonly string[]).not.toContain('waiting');
    expect(STEP_STATUSES).toContain('skipped');
    expect(STEP_STATUSES).toContain('waiting');
    expect(STEP_STATUSES as readonly string[]).not.toContain('paused');
  });

  it('skips or makes wait only a pending step, and ends a waiting one by approval, rejection or the run', () => {
    for (const from of STEP_STATUSES) expect([from, canStepMove(from, 'skipped')]).toEqual([from, from === 'pending']);
    for (const from of STEP_STATUSES) expect([from, canStepMove(from, 'waiting')]).toEqual([from, from === 'pending']);
    expect(STEP_STATUSES.filter((to) => canStepMove('waiting', to))).toEqual(['complete', 'failed', 'cancelled']);
  });

  it('lets only failed and cancelled steps be retried, and nothing leave complete or skipped', () => {
    for (const from of ['complete', 'skipped'] as StepStatus[])
      for (const to of STEP_STATUSES) expect(canStepMove(from, to)).toBe(false);
    expect(canStepMove('failed', 'pending')).toBe(true);
    expect(canStepMove('cancelled', 'pending')).toBe(true);
    expect(canStepMove('failed', 'complete')).toBe(false);
  });

  it('counts skipped among the final statuses, and not waiting', () => {
    expect(STEP_STATUSES.filter(isStepDone)).toEqual(['complete', 'failed', 'cancelled', 'skipped']);
  });

  it('raises invalid_transition naming the step and what is allowed', () => {
    expect(() => assertStepTransition('check', 'skipped', 'processing')).toThrow(
      'step check cannot move from skipped to processing (skipped is final)',
    );
    expect(() => assertStepTransition('ok', 'waiting', 'processing')).toThrow(
      expect.objectContaining({
        code: 'invalid_transition',
        message: 'step ok cannot move from waiting to processing (allowed from waiting: complete, failed, cancelled)',
      }),
    );
    expect(() => assertStepTransition('ok', 'pending', 'paused' as StepStatus)).toThrow(
      expect.objectContaining({ code: 'validation' }),
    );
  });
});
