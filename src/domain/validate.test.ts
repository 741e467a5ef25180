import { describe, expect, it } from 'vitest';
import { findLoneSurrogate, REQUEST_ID, text } from './validate.js';

describe('findLoneSurrogate', () => {
  it('names the first string or key holding half a surrogate pair, in document order', () => {
    expect(findLoneSurrogate({ a: 'fine \ud83d\ude00', b: ['x', { c: 'y\udc00' }], d: '\ud800' }, 'body')).toEqual({
      path: 'body.b[1].c',
      inKey: false,
      index: 1,
      unit: 0xdc00,
    });
    expect(findLoneSurrogate({ ok: 1, 'k\ud83d': 2 }, 'schema')).toMatchObject({ path: 'schema', inKey: true });
    expect(findLoneSurrogate(['\ud83d\ude00', 1, null, true, { '\ud83d\ude00': '\ud83d\ude00' }], 'b')).toBeUndefined();
  });

  it('walks a value nested far deeper than the call stack reaches', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}"\\ud800"${']'.repeat(200_000)}`);
    expect(findLoneSurrogate(deep, 'body')?.path).toMatch(/^body(\[0\]){200000}$/);
  });
});

describe('text', () => {
  it('refuses a lone surrogate, naming the field and where in it', () => {
    expect(() => text('ab\udbff', 'prompt', 100)).toThrow(
      /^prompt: the text holds a lone UTF-16 surrogate \(\\udbff\) at index 2/,
    );
  });
});

describe('REQUEST_ID', () => {
  it('takes 1 to 255 printable ASCII characters, inner spaces only', () => {
    for (const ok of ['a', 'retry 1', '~'.repeat(255), 'f47ac10b-58cc-4372-a567-0e02b2c3d479']) {
      expect(REQUEST_ID.test(ok), ok).toBe(true);
    }
    for (const bad of ['', ' a', 'a ', 'x'.repeat(256), 'é', 'a\tb', 'a\nb']) {
      expect(REQUEST_ID.test(bad), bad).toBe(false);
    }
  });
});
