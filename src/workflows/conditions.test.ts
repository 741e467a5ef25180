import { describe, expect, it } from 'vitest';
import { HubError } from '../domain/errors.js';
import { type ConditionScope, conditionReferences, evaluateCondition, parseCondition } from './conditions.js';

const SCOPE: ConditionScope = {
  inputs: { n: 3, name: 'report.pdf', flag: true, zero: 0, empty: '', none: null, list: [], obj: {}, tags: ['a', 'b'] },
  steps: {
    review: { value: { approved: true, score: 0.75, fields: [{ id: 1 }, { id: 2 }], meta: { a: 1, b: [2, 3] } } },
    lint: null,
  },
};

/** The condition's value in SCOPE (or in `scope`), parsed with item roots allowed. */
const when = (text: string, scope: ConditionScope = SCOPE) =>
  evaluateCondition(parseCondition(text, { itemRoots: true }), scope);

/** The message of the validation error `run` throws. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('validation');
    return (err as HubError).message;
  }
  throw new Error('expected a validation error');
}

describe('parsing conditions', () => {
  it('binds and tighter than or, and not tighter than and', () => {
    expect(parseCondition('inputs.a or inputs.b and inputs.c').root).toMatchObject({
      kind: 'or',
      of: [{ kind: 'truthy' }, { kind: 'and', of: [{ kind: 'truthy' }, { kind: 'truthy' }] }],
    });
    expect(parseCondition('not inputs.a and inputs.b').root).toMatchObject({
      kind: 'and',
      of: [{ kind: 'not', of: { kind: 'truthy' } }, { kind: 'truthy' }],
    });
    expect(parseCondition('(inputs.a or inputs.b) and inputs.c').root).toMatchObject({
      kind: 'and',
      of: [{ kind: 'or' }, { kind: 'truthy' }],
    });
    // true or (false and false) is true; (true or false) and false would be false.
    expect(when('true or false and false')).toBe(true);
    expect(when('(true or false) and false')).toBe(false);
    expect(when('not false and false')).toBe(false);
    expect(when('not (false and false)')).toBe(true);
  });

  it('reads numbers, strings with escapes and the literal words', () => {
    const right = (text: string) => {
      const root = parseCondition(`inputs.x == ${text}`).root;
      return root.kind === 'compare' ? root.right : undefined;
    };
    expect(right('-2.5')).toEqual({ kind: 'literal', value: -2.5 });
    expect(right('1e3')).toEqual({ kind: 'literal', value: 1000 });
    expect(right(String.raw`'it\'s'`)).toEqual({ kind: 'literal', value: "it's" });
    expect(right(String.raw`"say \"hi\" \\o/"`)).toEqual({ kind: 'literal', value: 'say "hi" \\o/' });
    expect(right("'and or not'")).toEqual({ kind: 'literal', value: 'and or not' });
    expect(right('null')).toEqual({ kind: 'literal', value: null });
    expect(right('false')).toEqual({ kind: 'literal', value: false });
    expect(when('inputs.n>-1')).toBe(true);
    expect(when('inputs.n < -1')).toBe(false);
  });

  it('names the column and what was expected for malformed conditions', () => {
    const cases: [string, string][] = [
      ['steps.a.x >', 'when "steps.a.x >": expected a value after ">" at column 12'],
      ['(inputs.a and inputs.b', 'expected ")" to close the "(" of column 1 at column 23'],
      ["inputs.a == 'abc", "expected a closing ' for the string of column 13 at column 17"],
      ['inputs.a # 1', 'unexpected character "#" at column 10'],
      ['inputs.a === 1', 'expected an operator (== != < <= > >= in), found "===" at column 10'],
      ['inputs.a = 1', 'found "=" at column 10'],
      ['and', 'expected a value, found "and" at column 1'],
      ['inputs.a and', 'expected a value after "and" at column 13'],
      ['', 'when "": expected a value at column 1'],
      ['   ', 'expected a value at column 4'],
      ['inputs.a inputs.b', 'expected "and", "or" or the end, found "inputs.b" at column 10'],
      ['inputs.a)', 'found ")" at column 9'],
      ['exists 3', 'expected a path after "exists", found "3" at column 8'],
      ['inputs.a.', 'expected a name after "." at column 10'],
      ['inputs.a[x]', 'expected a whole-number index after "[" at column 10'],
      ['steps == 1', 'expected "." and a step id after "steps" at column 6'],
      ['outputs.a', 'expected a value or a path from inputs or steps, found "outputs" at column 1'],
      ['True', 'found "True" at column 1'],
      ['inputs.n > 1.5.2', 'malformed number "1.5…" at column 12'],
      [String.raw`inputs.a == 'a\n'`, String.raw`expected ', " or \ after "\", found "n" at column 16`],
    ];
    for (const [text, message] of cases) expect(failure(() => parseCondition(text))).toContain(message);
  });

  it('allows item and index only when the caller says so', () => {
    expect(failure(() => parseCondition('item.kind == "pdf"'))).toContain(
      'item exists only in a forEach step at column 1',
    );
    expect(failure(() => parseCondition('index > 0'))).toContain('index exists only in a forEach step at column 1');
    expect(failure(() => parseCondition('index.x > 0', { itemRoots: true }))).toContain(
      'expected nothing after "index" (it is a number) at column 6',
    );
    const scope = { ...SCOPE, item: { kind: 'pdf', pages: [4] }, index: 2 };
    expect(when('item.kind == "pdf" and item.pages[0] == 4 and index == 2', scope)).toBe(true);
    expect(when('index == 0', { ...scope, index: 0 })).toBe(true);
    expect(when('exists item.size', scope)).toBe(false);
  });

  it('refuses nesting deeper than 64 levels and text over 2,000 characters', () => {
    expect(when(`${'('.repeat(64)}true${')'.repeat(64)}`)).toBe(true);
    expect(failure(() => parseCondition(`${'('.repeat(65)}true${')'.repeat(65)}`))).toContain(
      'nesting deeper than 64 levels at column 65',
    );
    expect(when(Array(100).fill('(true)').join(' and '))).toBe(true);
    expect(when(`${'not '.repeat(64)}true`)).toBe(true);
    expect(failure(() => parseCondition(`${'not '.repeat(65)}true`))).toContain('nesting deeper than 64 levels');
    const long = `inputs.flag == '${'x'.repeat(1984)}'`;
    expect(long.length).toBe(2001);
    expect(failure(() => parseCondition(long))).toContain('2001 characters, over the limit of 2000');
    expect(() => parseCondition(`${long.slice(0, 1999)}'`)).not.toThrow();
  });

  it('lists every path it reads, with steps split like template paths', () => {
    const c = parseCondition('exists steps.review.value and (item.x in inputs.tags or not index == steps.lint)', {
      itemRoots: true,
    });
    expect(conditionReferences(c)).toEqual([
      { text: 'steps.review.value', root: 'steps', step: 'review', path: ['value'] },
      { text: 'item.x', root: 'item', path: ['x'] },
      { text: 'inputs.tags', root: 'inputs', path: ['tags'] },
      { text: 'index', root: 'index', path: [] },
      { text: 'steps.lint', root: 'steps', step: 'lint', path: [] },
    ]);
    expect(conditionReferences(parseCondition('1 == 1'))).toEqual([]);
  });
});

describe('evaluating conditions', () => {
  it('tests a lone operand for truth', () => {
    for (const falsy of ['zero', 'empty', 'none', 'list', 'obj', 'absent']) expect(when(`inputs.${falsy}`)).toBe(false);
    for (const truthy of ['n', 'name', 'flag', 'tags']) expect(when(`inputs.${truthy}`)).toBe(true);
    expect(when('steps.review.value.meta')).toBe(true);
    expect(when('0')).toBe(false);
    expect(when("'0'")).toBe(true);
  });

  it('compares with == and != deeply, ignoring key order', () => {
    expect(when('steps.review.value.approved == true')).toBe(true);
    expect(when('steps.review.value.approved != true')).toBe(false);
    expect(when('inputs.n == 3 and inputs.n != 4')).toBe(true);
    expect(when("inputs.n == '3'")).toBe(false);
    expect(when('inputs.none == null')).toBe(true);
    const scope = { ...SCOPE, item: { b: [2, 3], a: 1 } };
    expect(when('item == steps.review.value.meta', scope)).toBe(true);
    expect(when('item == steps.review.value.meta', { ...SCOPE, item: { a: 1, b: [3, 2] } })).toBe(false);
    expect(when('item == steps.review.value.meta', { ...SCOPE, item: { a: 1, b: [2, 3], c: 0 } })).toBe(false);
    expect(when('item == steps.review.value.meta', { ...SCOPE, item: { a: 1 } })).toBe(false);
  });

  it('orders two numbers or two strings with < <= > >=', () => {
    expect(when('inputs.n < 4')).toBe(true);
    expect(when('inputs.n < 3')).toBe(false);
    expect(when('inputs.n <= 3')).toBe(true);
    expect(when('inputs.n <= 2.99')).toBe(false);
    expect(when('steps.review.value.score > 0.5')).toBe(true);
    expect(when('steps.review.value.score > 0.75')).toBe(false);
    expect(when('inputs.n >= 3')).toBe(true);
    expect(when('inputs.n >= 3.01')).toBe(false);
    expect(when("'apple' < 'banana'")).toBe(true);
    expect(when("'b' >= 'banana'")).toBe(false);
  });

  it('finds a value in a list, or a string in a string, with in', () => {
    expect(when("'b' in inputs.tags")).toBe(true);
    expect(when("'c' in inputs.tags")).toBe(false);
    expect(when('steps.review.value.fields[1] in inputs.tags')).toBe(false);
    const scope = { ...SCOPE, item: { id: 2 } };
    expect(when('item in steps.review.value.fields', scope)).toBe(true);
    expect(when("'.pdf' in inputs.name")).toBe(true);
    expect(when("'.doc' in inputs.name")).toBe(false);
  });

  it('treats a path that does not resolve as missing', () => {
    // A step that is skipped or not finished has no entry in steps; lint finished with null; fields has two entries.
    for (const path of ['steps.skipped.value', 'inputs.absent.deeper', 'steps.review.value.fields[5]']) {
      expect(when(`exists ${path}`)).toBe(false);
      expect(when(`${path} == null`)).toBe(false);
      expect(when(`${path} != null`)).toBe(true);
      expect(when(`${path} > 1`)).toBe(false);
      expect(when(`${path} < 'x'`)).toBe(false);
      expect(when(`'a' in ${path}`)).toBe(false);
    }
    expect(when('steps.skipped.value == inputs.absent')).toBe(false);
    expect(when('steps.skipped.value != inputs.absent')).toBe(true);
    expect(when('exists steps.lint')).toBe(true);
    expect(when('exists inputs.none')).toBe(true);
    expect(when('exists steps.review.value.fields[1].id')).toBe(true);
    expect(when('exists inputs.name[0]')).toBe(false);
    expect(when('exists inputs.tags.length')).toBe(false);
  });

  it('never reads inherited properties such as constructor', () => {
    expect(when('exists inputs.constructor')).toBe(false);
    expect(when('inputs.constructor')).toBe(false);
    expect(when('exists inputs.__proto__')).toBe(false);
    expect(when('exists steps.constructor')).toBe(false);
    expect(when('exists inputs.name.length')).toBe(false);
    expect(when('exists inputs.tags.toString')).toBe(false);
  });

  it('refuses to order or search values of the wrong types, naming them', () => {
    expect(failure(() => when("inputs.n > 'x'"))).toBe(
      `when "inputs.n > 'x'": > compares two numbers or two strings, not a number and a string`,
    );
    expect(failure(() => when('inputs.flag <= 1'))).toContain(
      '<= compares two numbers or two strings, not a boolean and a number',
    );
    expect(failure(() => when('inputs.tags >= inputs.obj'))).toContain('not a list and an object');
    expect(failure(() => when('inputs.none < 1'))).toContain('not null and a number');
    expect(failure(() => when('1 in inputs.name'))).toContain(
      'in looks for a value in a list or a string in a string, not a number and a string',
    );
    expect(failure(() => when("'a' in inputs.obj"))).toContain('not a string and an object');
  });

  it('short-circuits and and or, so the right side cannot fail', () => {
    expect(when("false and inputs.n > 'x'")).toBe(false);
    expect(when("true or inputs.n > 'x'")).toBe(true);
    expect(() => when("true and inputs.n > 'x'")).toThrow(HubError);
    expect(() => when("false or inputs.n > 'x'")).toThrow(HubError);
  });
});
