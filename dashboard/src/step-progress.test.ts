// What a running step shows of its program's reports: its task's progress and latest log line, read once and
// kept by the task's events, and shown only while the step runs and once it has reported something.
import { describe, expect, it } from 'vitest';
import type { HubEvent, StepRun, Task } from './api';
import { isReport, percent, progressOf, shownProgress, withReport } from './step-progress';

function event(type: HubEvent['type'], data: Record<string, unknown>, taskId: string | null = 'k1'): HubEvent {
  return {
    seq: 1,
    cursor: 'c1.1',
    at: '2025-06-01T10:00:00.000Z',
    type,
    threadId: null,
    messageId: null,
    taskId,
    runId: null,
    module: null,
    data,
  } as HubEvent;
}

const progressed = (progress: number) =>
  event('task.progressed', { progress, iteration: 0, costUsd: 0, changed: ['progress'] });
const logged = (text: string) => event('task.logged', { level: 'info', text });

const step = (status: StepRun['status'], taskId: string | null = 'k1') =>
  ({ stepId: 'extract', kind: 'command', status, taskId }) as StepRun;

describe('a step’s reports', () => {
  it('are its task’s progress and log events, not other events or events of no task', () => {
    expect(isReport(progressed(40))).toBe(true);
    expect(isReport(logged('page 4 of 10'))).toBe(true);
    expect(isReport(event('task.status_changed', { from: 'pending', to: 'processing' }))).toBe(false);
    expect(isReport(event('task.logged', { level: 'info', text: 'x' }, null))).toBe(false);
  });

  it('keep the newest progress and log line, whatever arrives first', () => {
    const first = withReport(undefined, logged('page 1 of 4'));
    expect(first).toEqual({ progress: 0, log: 'page 1 of 4' });
    const second = withReport(first, progressed(25));
    expect(second).toEqual({ progress: 25, log: 'page 1 of 4' });
    expect(withReport(second, logged('page 2 of 4'))).toEqual({ progress: 25, log: 'page 2 of 4' });
    // Progress unchanged (a cost report moves the counters too): the same object, so nothing is drawn again.
    expect(withReport(second, progressed(25))).toBe(second);
    expect(withReport(second, event('task.status_changed', { from: 'processing', to: 'complete' }))).toBe(second);
  });

  it('are read from the task: its progress and the text of its newest log line', () => {
    const task = { progress: 50, log: [{ at: 'x', level: 'info', text: 'page 2 of 4' }] } as unknown as Task & {
      log: { at: string; level: 'info'; text: string }[];
    };
    expect(progressOf(task)).toEqual({ progress: 50, log: 'page 2 of 4' });
    expect(progressOf({ ...task, progress: 0, log: [] })).toEqual({ progress: 0, log: null });
  });

  it('show while the step runs and has reported something', () => {
    const reported = { k1: { progress: 25, log: 'page 1 of 4' } };
    expect(shownProgress(step('processing'), reported)).toEqual({ progress: 25, log: 'page 1 of 4' });
    expect(shownProgress(step('complete'), reported)).toBeUndefined();
    expect(shownProgress(step('processing', 'k2'), reported)).toBeUndefined();
    expect(shownProgress(step('processing', null), reported)).toBeUndefined();
    expect(shownProgress(step('processing'), { k1: { progress: 0, log: null } })).toBeUndefined();
    expect(shownProgress(step('processing'), { k1: { progress: 0, log: 'starting' } })).toEqual({
      progress: 0,
      log: 'starting',
    });
  });

  it('count whole percents from 0 to 100', () => {
    expect(percent({ progress: 33.4, log: null })).toBe(33);
    expect(percent({ progress: 140, log: null })).toBe(100);
    expect(percent({ progress: -5, log: null })).toBe(0);
  });
});
