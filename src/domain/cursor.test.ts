import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('cursors', () => {
  it('round-trip every position, including the start of the log and large numbers', () => {
    for (const seq of [0, 1, 35, 36, 1_000_000, Number.MAX_SAFE_INTEGER])
      expect(decodeCursor(encodeCursor(seq))).toBe(seq);
  });

  it('sort like the positions they stand for when of equal length', () => {
    expect(encodeCursor(10) < encodeCursor(11)).toBe(true);
  });

  it.each([
    ['', "'' is not a cursor"],
    ['42', "'42' is not a cursor"],
    ['c1.', "'c1.' is not a cursor"],
    ['c1.-5', "'c1.-5' is not a cursor"],
    ['c1.ZZ', "'c1.ZZ' is not a cursor"],
    ['c2.10', "'c2.10' is not a cursor"],
    ['c1.zzzzzzzzzzzzzz', 'is not a cursor'],
  ])('refuse %j with invalid_cursor', (bad, message) => {
    expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
    expect(() => decodeCursor(bad)).toThrow(message);
  });

  it('refuse values that are not strings', () => {
    expect(() => decodeCursor(12)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
    expect(() => decodeCursor(null)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});
