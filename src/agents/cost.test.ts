import { describe, expect, it } from 'vitest';
import { runCost, UsageCounter } from './cost.js';

describe('runCost', () => {
  it('turns cumulative totals over resumed runs into per-run amounts', () => {
    // Totals observed over three resumed runs of one session.
    const totals = [0.00072, 0.00144, 0.00216];
    let previous: number | undefined;
    const perRun = totals.map((t) => {
      const cost = runCost(previous, t);
      previous = t;
      return cost;
    });
    expect(perRun).toEqual([0.00072, 0.00072, 0.00072]);
    expect(perRun.reduce((a, b) => a + b)).toBeCloseTo(0.00216, 12);
  });

  it('takes a total that dropped as a restarted counter', () => {
    expect(runCost(0.005, 0.0012)).toBe(0.0012);
  });

  it('counts nothing for a missing or negative total', () => {
    expect(runCost(0.1, Number.NaN)).toBe(0);
    expect(runCost(undefined, -1)).toBe(0);
  });
});

describe('UsageCounter', () => {
  it('counts a message once however many block lines repeat its usage', () => {
    const counter = new UsageCounter();
    const usage = { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50 };
    counter.record('msg_1', usage);
    counter.record('msg_1', usage); // a second content block of the same message
    counter.record('msg_2', { input_tokens: 10, output_tokens: 5 });
    expect(counter.totals()).toEqual({ tokensIn: 160, tokensOut: 25 });
  });

  it('keeps the latest usage of a message', () => {
    const counter = new UsageCounter();
    counter.record('msg_1', { input_tokens: 10, output_tokens: 1 });
    counter.record('msg_1', { input_tokens: 10, output_tokens: 30 });
    expect(counter.totals()).toEqual({ tokensIn: 10, tokensOut: 30 });
  });
});
