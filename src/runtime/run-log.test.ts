// One run's log allowance, on strings: what is kept, in entries of a size the task log accepts, and the count of
// what was dropped.
import { describe, expect, it } from 'vitest';
import { MAX_LOG_ENTRY_CHARS, RunLogBudget } from './run-log.js';

describe('RunLogBudget', () => {
  it('keeps text up to the allowance, then counts what it drops and says so once', () => {
    const budget = new RunLogBudget(10);
    expect(budget.take('abcdef')).toEqual(['abcdef']);
    expect(budget.notice).toBeUndefined();
    expect(budget.take('ghijkl')).toEqual(['ghij']);
    expect(budget.take('mnop')).toEqual([]);
    expect(budget.dropped).toBe(6);
    expect(budget.notice).toBe('… log output truncated: 6 more characters of this run were dropped (a run keeps 10)');
  });

  it('splits a long text into entries the task log accepts, never between the halves of a surrogate pair', () => {
    const text = `${'x'.repeat(MAX_LOG_ENTRY_CHARS - 1)}😀${'y'.repeat(5)}`;
    const entries = new RunLogBudget().take(text);
    expect(entries.join('')).toBe(text);
    expect(entries.map((e) => e.length)).toEqual([MAX_LOG_ENTRY_CHARS - 1, 7]);
    expect(new RunLogBudget(MAX_LOG_ENTRY_CHARS).take(text)).toEqual(['x'.repeat(MAX_LOG_ENTRY_CHARS - 1)]);
  });
});
