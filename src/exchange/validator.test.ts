import { describe, expect, it } from 'vitest';
import { formatIssues, validateValue } from './validator.js';

const schema = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    level: { type: 'integer', minimum: 1 },
    kind: { enum: ['a', 'b'] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { email: { type: 'string', format: 'email' } },
        additionalProperties: false,
      },
    },
  },
  required: ['title'],
  additionalProperties: false,
};

describe('validateValue', () => {
  it('reports every error with path, expectation, what was found and a spelling suggestion', () => {
    const result = validateValue(schema, {
      titel: 'x',
      level: 0,
      kind: 'c',
      items: [{ emial: 'q' }, { email: 'nope' }],
    });
    expect(result.valid).toBe(false);
    const byPath = Object.fromEntries(result.issues.map((i) => [`${i.rule} ${i.path}`, i]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'required /title',
        'additionalProperties /titel',
        'minimum /level',
        'enum /kind',
        'additionalProperties /items/0/emial',
        'format /items/1/email',
      ].sort(),
    );
    expect(byPath['additionalProperties /titel']?.suggestion).toMatch(/title/);
    expect(byPath['additionalProperties /items/0/emial']?.suggestion).toMatch(/email/);
    expect(byPath['minimum /level']).toMatchObject({ found: '0', expected: '>= 1' });
    expect(byPath['enum /kind']).toMatchObject({ found: '"c"', expected: 'one of ["a","b"]' });
    expect(byPath['required /title']?.found).toBe('(missing)');
    expect(formatIssues(result.issues)).toContain('at /items/1/email');
  });

  it('accepts a valid value, and refuses a schema strict mode rejects with the reason', () => {
    expect(validateValue(schema, { title: 't' })).toEqual({ valid: true, issues: [] });
    expect(() => validateValue({ type: 'object', propertys: {} }, {})).toThrow(/strict.*propertys/s);
    expect(() => validateValue({ type: 'strin' }, 'x')).toThrow(/not a valid JSON Schema/);
  });

  it('escapes pointer segments holding / and ~', () => {
    const result = validateValue({ type: 'object', properties: { 'a/b': { type: 'string' } } }, { 'a/b': 1 });
    expect(result.issues[0]?.path).toBe('/a~1b');
  });

  it('runs patterns in RE2: a catastrophic one does not hang, look-around is refused by name', () => {
    // With JavaScript's backtracking engine this check would not end in any useful time.
    const result = validateValue({ type: 'string', pattern: '^(a+)+$' }, `${'a'.repeat(100_000)}b`);
    expect(result.issues[0]).toMatchObject({ rule: 'pattern', path: '' });
    expect(
      validateValue(
        { type: 'object', patternProperties: { '^(x+)+y$': { type: 'string' } } },
        { [`${'x'.repeat(5000)}z`]: 1 },
      ).valid,
    ).toBe(true);
    // An alternation under a quantifier backtracks too; it goes to RE2 as well.
    expect(validateValue({ type: 'string', pattern: '^(a|a)*$' }, `${'a'.repeat(100_000)}b`).valid).toBe(false);
    expect(() => validateValue({ type: 'string', pattern: '^(a+)+(?=b)' }, 'a')).toThrow(/not supported.*RE2/s);
    // A plain pattern keeps its look-ahead (it runs in JavaScript's engine, where it cannot backtrack for long).
    expect(validateValue({ type: 'string', pattern: '^(?=a)a$' }, 'a').valid).toBe(true);
  });
});
