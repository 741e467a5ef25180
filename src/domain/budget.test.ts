import { describe, expect, it } from 'vitest';
import { budgetExceeded, checkLimits, dollars } from './budget.js';

describe('budget', () => {
  it('lets a run use exactly its limit and stops it past the limit', () => {
    expect(budgetExceeded({ maxCostUsd: 0.5 }, { costUsd: 0.5 })).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: 0.5 }, { costUsd: 0.53 })).toBe(
      'budget exceeded: cost $0.53 passed the limit of $0.50',
    );
    expect(budgetExceeded({ maxIterations: 5 }, { iterations: 5 })).toBeUndefined();
    expect(budgetExceeded({ maxIterations: 5 }, { iterations: 6 })).toBe(
      'budget exceeded: iterations 6 passed the limit of 5',
    );
  });

  it('judges cost at a ten-billionth of a dollar, so float noise passes nothing', () => {
    expect(0.1 + 0.2).toBeGreaterThan(0.3);
    expect(budgetExceeded({ maxCostUsd: 0.3 }, { costUsd: 0.1 + 0.2 })).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: 0.3 }, { costUsd: 0.3000000001 })).toBe(
      'budget exceeded: cost $0.3000000001 passed the limit of $0.30',
    );
  });

  it('has no limit where none is set, and judges only the figures reported', () => {
    expect(budgetExceeded({}, { costUsd: 1e6, iterations: 1e6 })).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: null, maxIterations: null }, { costUsd: 9, iterations: 9 })).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: 0.5, maxIterations: 1 }, {})).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: 0 }, { costUsd: 0 })).toBeUndefined();
    expect(budgetExceeded({ maxCostUsd: 0 }, { costUsd: 0.0001 })).toBe(
      'budget exceeded: cost $0.0001 passed the limit of $0.00',
    );
  });

  it('names cost first when both pass', () => {
    expect(budgetExceeded({ maxCostUsd: 1, maxIterations: 1 }, { costUsd: 2, iterations: 2 })).toBe(
      'budget exceeded: cost $2.00 passed the limit of $1.00',
    );
  });

  it('writes dollars with at least cents and every digit that counts', () => {
    expect(dollars(0.5)).toBe('$0.50');
    expect(dollars(0.0465)).toBe('$0.0465');
    expect(dollars(0.00072)).toBe('$0.00072');
    expect(dollars(12)).toBe('$12.00');
    expect(dollars(0.1 + 0.2)).toBe('$0.30');
  });

  it.each([
    [{ maxCostUsd: -0.01 }, 'maxCostUsd must be between 0 and 1000000, got -0.01'],
    [{ maxCostUsd: Number.NaN }, 'maxCostUsd must be a number, got NaN'],
    [{ maxCostUsd: 1e7 }, 'maxCostUsd must be between 0 and 1000000, got 10000000'],
    [{ maxCostUsd: Number.POSITIVE_INFINITY }, 'maxCostUsd must be between 0 and 1000000, got Infinity'],
    [{ maxIterations: 0 }, 'maxIterations must be between 1 and 1000000, got 0'],
    [{ maxIterations: 2.5 }, 'maxIterations must be a whole number, got 2.5'],
    [{ maxIterations: '5' }, "maxIterations must be a number, got '5'"],
  ])('refuses %o naming the field', (limits, message) => {
    expect(() => checkLimits(limits as never)).toThrow(message);
  });

  it('reads absent and null as no limit', () => {
    expect(checkLimits({})).toEqual({ maxCostUsd: null, maxIterations: null });
    expect(checkLimits({ maxCostUsd: null, maxIterations: 3 })).toEqual({ maxCostUsd: null, maxIterations: 3 });
  });
});
