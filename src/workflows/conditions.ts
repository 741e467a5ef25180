/**
 * The `when:` condition of a workflow step, such as `steps.review.value.approved == true and not exists inputs.dryRun`
 * or `'urgent' in steps.triage.value.labels`. A small declared language, parsed into a typed tree, never `eval`ed:
 *
 *   expr    := or            or  := and ('or' and)*          and := not ('and' not)*
 *   not     := 'not' not | primary
 *   primary := '(' expr ')' | 'exists' PATH | operand (OP operand)?
 *   OP      := == | != | < | <= | > | >= | in
 *   operand := PATH | number (as in JSON: -1, 2.5, 1e3) | 'text' or "text" (escapes \' \" \\) | true | false | null
 *
 * PATH is the template path language of paths.ts (`inputs.a.b[0]`, `steps.extract.value.pages`); with `itemRoots`
 * also `item` (a path may follow it) and `index` — a step's `when` is decided once for the step, so workflow
 * definitions do not allow them there. A number must be finite (`1e309` is refused). `and or not exists in true false null` are reserved words
 * (case-sensitive); whitespace is free. A condition holds at most 2,000 characters and 64 levels of nesting.
 *
 * Evaluation, against the run's inputs and the outputs of finished steps:
 * - A path that does not resolve (its step has not finished or was skipped, a property is absent, an index is out of
 *   range) is *missing*. Only own properties count: `inputs.constructor` is missing, never a function.
 * - `exists P` is true iff P is not missing; null exists.
 * - An operand alone is tested for truth: missing, null, false, 0, "", [] and {} are false; all else is true.
 * - `==` and `!=` compare JSON values deeply (the key order of objects does not matter).
 * - `<` `<=` `>` `>=` compare two numbers, or two strings (by UTF-16 code units).
 * - `a in b` is true when the list b holds an element equal to a, or the string b contains the string a.
 * - A missing side makes every comparison false except `!=`, which it makes true; types are checked only after that.
 *   Any other pair of types is a `validation` error naming both, since no answer would be the one meant.
 * - `and` and `or` short-circuit: the right side is not evaluated, so cannot fail, when the left decides.
 */
import { HubError } from '../domain/errors.js';
import { parsePath, type Reference, type Scope, type Segment } from './paths.js';

/** A path in a condition: a template path (`inputs…`, `steps…`), or in a forEach step the current `item` or `index`. */
export type ConditionRef = Reference | { text: string; root: 'item' | 'index'; path: Segment[] };

/** What a comparison reads: a path, or a literal written in the condition. */
export type Operand =
  | { kind: 'path'; ref: ConditionRef }
  | { kind: 'literal'; value: string | number | boolean | null };

/** The comparison operators. */
export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';

/** One node of a parsed condition. `and` and `or` hold two or more parts, in the order written. */
export type ConditionNode =
  | { kind: 'and'; of: ConditionNode[] }
  | { kind: 'or'; of: ConditionNode[] }
  | { kind: 'not'; of: ConditionNode }
  | { kind: 'exists'; ref: ConditionRef }
  | { kind: 'compare'; op: Operator; left: Operand; right: Operand }
  | { kind: 'truthy'; operand: Operand };

/** A parsed condition: the text it came from (named in error messages) and its tree. */
export interface Condition {
  text: string;
  root: ConditionNode;
}

/** What a condition reads: the template scope and, in a forEach step, the current item and its index. */
export interface ConditionScope extends Scope {
  item?: unknown;
  index?: number;
}

const MAX_LENGTH = 2000;
const MAX_DEPTH = 64;
const KEYWORDS = new Set(['and', 'or', 'not', 'exists', 'in']);
const LITERAL_WORDS: Record<string, boolean | null> = { true: true, false: false, null: null };
// One token per path, in the grammar of paths.ts; names may hold `-`, so `inputs.a-1` is a name (there is no arithmetic).
const PATH = /[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d{1,9}\])*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// `===`, `!==` and `=` are matched only to be refused by name.
const OPERATOR = /===|!==|==|!=|<=|>=|<|>|=/y;

/** A lexeme: its source text and 1-based column; an operand token carries the operand it stands for. */
interface Token {
  kind: 'keyword' | 'op' | '(' | ')' | 'operand' | 'end';
  text: string;
  column: number;
  operand?: Operand;
}

type Fail = (why: string, column: number) => HubError;

const literal = (text: string, column: number, value: string | number | boolean | null): Token => ({
  kind: 'operand',
  text,
  column,
  operand: { kind: 'literal', value },
});

/** The condition as error messages quote it: a long one is cut at 80 characters. */
const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 79)}…` : text);

/** The tree of `text`, or a `validation` error naming the column and what was expected there. */
export function parseCondition(text: string, options: { itemRoots?: boolean } = {}): Condition {
  const fail: Fail = (why, column) => new HubError('validation', `when ${quote(text)}: ${why} at column ${column}`);
  if (text.length > MAX_LENGTH)
    throw new HubError('validation', `when ${quote(text)}: ${text.length} characters, over the limit of ${MAX_LENGTH}`);
  const tokens = tokenize(text, options.itemRoots ?? false, fail);
  let at = 0;
  let depth = 0;
  const peek = () => tokens[at] as Token;
  const isKeyword = (t: Token, word: string) => t.kind === 'keyword' && t.text === word;
  const expected = (what: string) => {
    const t = peek();
    return fail(`expected ${what}${t.kind === 'end' ? '' : `, found "${t.text}"`}`, t.column);
  };
  const after = () => (at > 0 ? ` after "${(tokens[at - 1] as Token).text}"` : '');
  const nested = (column: number, parse: () => ConditionNode): ConditionNode => {
    if (++depth > MAX_DEPTH) throw fail(`nesting deeper than ${MAX_DEPTH} levels`, column);
    const node = parse();
    depth--;
    return node;
  };
  const list = (kind: 'and' | 'or', part: () => ConditionNode): ConditionNode => {
    const of = [part()];
    while (isKeyword(peek(), kind)) {
      at++;
      of.push(part());
    }
    return of.length === 1 ? (of[0] as ConditionNode) : { kind, of };
  };
  const or = (): ConditionNode => list('or', and);
  const and = (): ConditionNode => list('and', not);
  const not = (): ConditionNode => {
    const t = peek();
    if (!isKeyword(t, 'not')) return primary();
    at++;
    return nested(t.column, () => ({ kind: 'not', of: not() }));
  };
  const operand = (): Operand => {
    const t = peek();
    if (!t.operand) throw expected(`a value${after()}`);
    at++;
    return t.operand;
  };
  const primary = (): ConditionNode => {
    const t = peek();
    if (t.kind === '(') {
      at++;
      const node = nested(t.column, or);
      if (peek().kind !== ')') throw expected(`")" to close the "(" of column ${t.column}`);
      at++;
      return node;
    }
    if (isKeyword(t, 'exists')) {
      at++;
      const path = peek().operand;
      if (path?.kind !== 'path') throw expected('a path after "exists"');
      at++;
      return { kind: 'exists', ref: path.ref };
    }
    const left = operand();
    const op = peek();
    if (op.kind !== 'op' && !isKeyword(op, 'in')) return { kind: 'truthy', operand: left };
    at++;
    return { kind: 'compare', op: op.text as Operator, left, right: operand() };
  };
  const root = or();
  if (peek().kind !== 'end') throw expected('"and", "or" or the end');
  return { text, root };
}

function tokenize(text: string, itemRoots: boolean, fail: Fail): Token[] {
  const tokens: Token[] = [];
  const match = (pattern: RegExp, from: number) => {
    pattern.lastIndex = from;
    return pattern.exec(text)?.[0];
  };
  for (let i = 0; i < text.length; ) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const column = i + 1;
    const op = match(OPERATOR, i);
    const number = match(NUMBER, i);
    const word = match(PATH, i);
    let token: Token;
    if (ch === '(' || ch === ')') token = { kind: ch, text: ch, column };
    else if (ch === '"' || ch === "'") token = readString(text, i, fail);
    else if (op) {
      if (op === '===' || op === '!==' || op === '=')
        throw fail(`expected an operator (== != < <= > >= in), found "${op}"`, column);
      token = { kind: 'op', text: op, column };
    } else if (number) {
      if (/[\w.]/.test(text[i + number.length] ?? '')) throw fail(`malformed number "${number}…"`, column);
      if (!Number.isFinite(Number(number))) throw fail(`the number ${number} is out of range`, column);
      token = literal(number, column, Number(number));
    } else if (word) {
      const next = text[i + word.length];
      if (next === '.') throw fail('expected a name after "."', column + word.length + 1);
      if (next === '[') throw fail('expected a whole-number index after "["', column + word.length + 1);
      if (KEYWORDS.has(word)) token = { kind: 'keyword', text: word, column };
      else if (Object.hasOwn(LITERAL_WORDS, word)) token = literal(word, column, LITERAL_WORDS[word] ?? null);
      else
        token = {
          kind: 'operand',
          text: word,
          column,
          operand: { kind: 'path', ref: toRef(word, column, itemRoots, fail) },
        };
    } else throw fail(`unexpected character ${JSON.stringify(ch)}`, column);
    tokens.push(token);
    i += token.text.length;
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}

/** The string literal that starts at `start`, unescaped. Its token text is the source, quotes included. */
function readString(text: string, start: number, fail: Fail): Token {
  const quoteMark = text[start];
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === quoteMark) return literal(text.slice(start, i + 1), start + 1, value);
    if (ch === '\\') {
      const escaped = text[i + 1];
      if (escaped !== "'" && escaped !== '"' && escaped !== '\\')
        throw fail(`expected ', " or \\ after "\\", found ${escaped ? JSON.stringify(escaped) : 'the end'}`, i + 2);
      value += escaped;
      i++;
    } else value += ch;
  }
  throw fail(`expected a closing ${quoteMark} for the string of column ${start + 1}`, text.length + 1);
}

function toRef(text: string, column: number, itemRoots: boolean, fail: Fail): ConditionRef {
  const root = (/^[A-Za-z_][A-Za-z0-9_-]*/.exec(text) as RegExpExecArray)[0];
  const rest = text.slice(root.length);
  if (root === 'inputs' || (root === 'steps' && rest.startsWith('.'))) return parsePath(text);
  if (root === 'steps') throw fail('expected "." and a step id after "steps"', column + root.length);
  if ((root === 'item' || root === 'index') && !itemRoots) throw fail(`${root} exists only in a forEach step`, column);
  // The text after `item` is a path like the one after `inputs`, so paths.ts splits it.
  if (root === 'item') return { text, root, path: parsePath(`inputs${rest}`).path };
  if (root === 'index') {
    if (rest) throw fail('expected nothing after "index" (it is a number)', column + root.length);
    return { text, root, path: [] };
  }
  throw fail(
    `expected a value or a path from ${itemRoots ? 'inputs, steps, item or index' : 'inputs or steps'}, found "${root}"`,
    column,
  );
}

/** Every path the condition reads, in the order written, so a definition check can see each step is upstream. */
export function conditionReferences(c: Condition): ConditionRef[] {
  const found: ConditionRef[] = [];
  const fromOperand = (o: Operand) => {
    if (o.kind === 'path') found.push(o.ref);
  };
  const walk = (n: ConditionNode): void => {
    if (n.kind === 'and' || n.kind === 'or') n.of.forEach(walk);
    else if (n.kind === 'not') walk(n.of);
    else if (n.kind === 'exists') found.push(n.ref);
    else if (n.kind === 'truthy') fromOperand(n.operand);
    else {
      fromOperand(n.left);
      fromOperand(n.right);
    }
  };
  walk(c.root);
  return found;
}

/** Whether the condition holds in `scope`; a comparison of types it cannot compare is a `validation` error. */
export function evaluateCondition(c: Condition, scope: ConditionScope): boolean {
  const value = (o: Operand) => (o.kind === 'literal' ? o.value : resolve(o.ref, scope));
  const holds = (n: ConditionNode): boolean => {
    switch (n.kind) {
      case 'and':
        return n.of.every(holds);
      case 'or':
        return n.of.some(holds);
      case 'not':
        return !holds(n.of);
      case 'exists':
        return resolve(n.ref, scope) !== MISSING;
      case 'truthy':
        return truthy(value(n.operand));
      case 'compare':
        return compare(c.text, n.op, value(n.left), value(n.right));
    }
  };
  return holds(c.root);
}

/** What a path that does not resolve evaluates to. */
const MISSING = Symbol('missing');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function resolve(ref: ConditionRef, scope: ConditionScope): unknown {
  let at: unknown;
  if (ref.root === 'inputs') at = scope.inputs;
  else if (ref.root === 'steps')
    at = Object.hasOwn(scope.steps, ref.step as string) ? scope.steps[ref.step as string] : MISSING;
  else at = ref.root === 'item' ? scope.item : scope.index;
  for (const seg of ref.path) {
    if (typeof seg === 'number') at = Array.isArray(at) ? at[seg] : MISSING;
    else at = isObject(at) && Object.hasOwn(at, seg) ? at[seg] : MISSING;
  }
  return at === undefined ? MISSING : at;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return v !== MISSING && Boolean(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return a === b;
}

const kindOf = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

function compare(text: string, op: Operator, left: unknown, right: unknown): boolean {
  const missing = left === MISSING || right === MISSING;
  if (op === '==' || op === '!=') return (!missing && deepEqual(left, right)) === (op === '==');
  if (missing) return false;
  const mismatch = (rule: string) =>
    new HubError('validation', `when ${quote(text)}: ${op} ${rule}, not ${kindOf(left)} and ${kindOf(right)}`);
  if (op === 'in') {
    if (Array.isArray(right)) return right.some((x) => deepEqual(left, x));
    if (typeof right === 'string' && typeof left === 'string') return right.includes(left);
    throw mismatch('looks for a value in a list or a string in a string');
  }
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  if (!bothNumbers && !(typeof left === 'string' && typeof right === 'string'))
    throw mismatch('compares two numbers or two strings');
  // Both are numbers or both are strings; `<` orders either, so one cast serves both.
  const [l, r] = [left, right] as [number, number];
  return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r;
}
