/**
 * Compatibility between two versions of a JSON Schema (draft 2020-12), decided from the values each version
 * accepts rather than from a text diff, in the modes schema registries use: BACKWARD (the new version accepts
 * everything the old accepted), FORWARD (the old accepts everything the new accepts), FULL (both), their
 * *_TRANSITIVE forms (against every earlier version) and NONE.
 *
 * The core is `subset(a, b)`: does every value valid under `a` validate under `b`? It is sound — it never
 * answers "included" when it is not — and what it cannot decide (a new `pattern` or `format`, a `not`, a
 * remote `$ref`) is reported as undecided rather than guessed. Each reason it finds is a set of values that
 * one version accepts and the other does not, with the JSON pointer into the value where it applies ("*" for
 * any array item or any other property). Pure: nothing is fetched, nothing is cached.
 *
 * It runs over 700 lines, past this project's usual size, because soundness is a property of the whole: the
 * rules per keyword family (numbers, strings, objects, arrays, unions), the `allOf`/`$ref` flattening they rely
 * on and the check of listed values against a schema must agree on one model of a schema, and split across
 * modules each part would have to re-export that model's internals to the others.
 */
import { HubError } from '../domain/errors.js';
import { safePattern } from './safe-regex.js';

export const COMPATIBILITY_MODES = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

export interface SchemaChange {
  /** JSON pointer into the value space ("*" for any array item or other property), "" for the root. */
  path: string;
  direction: 'no_longer_accepted' | 'newly_accepted';
  /** A sentence naming the values concerned, e.g. 'numbers below 1 at /level are no longer accepted'. */
  description: string;
}
export interface Undecided {
  path: string;
  keyword: string;
  reason: string;
}
export interface Comparison {
  changes: SchemaChange[];
  undecided: Undecided[];
}
export interface CompatibilityReport {
  compatible: boolean;
  mode: CompatibilityMode;
  against: string[];
  breaking: SchemaChange[];
  undecided: Undecided[];
  changes: SchemaChange[];
}

type Obj = Record<string, unknown>;
type Schema = boolean | Obj;
type Kind = 'null' | 'boolean' | 'object' | 'array' | 'string' | 'number' | 'integer';
type Direction = SchemaChange['direction'];

/** Why a schema could not be brought into a comparable form; reported as undecided. */
class Undecidable {
  constructor(
    readonly keyword: string,
    readonly reason: string,
  ) {}
}
type Flat = Schema | Undecidable;

interface Ctx {
  rootA: unknown;
  rootB: unknown;
  dir: Direction;
  changes: SchemaChange[];
  undecided: Undecided[];
  /** Pairs being compared further up; met again (recursion) they count as included. */
  active: Set<string>;
  /** Comparisons made so far, shared with trials: a bound on the work a pathological pair can cause. */
  budget: { steps: number };
}

const LOST: Direction = 'no_longer_accepted';
const ALL_KINDS: Kind[] = ['null', 'boolean', 'object', 'array', 'string', 'number'];
const ANNOTATIONS = new Set(
  '$schema $id $anchor $dynamicAnchor $vocabulary $comment $defs definitions title description default examples deprecated readOnly writeOnly contentEncoding contentMediaType contentSchema'.split(
    ' ',
  ),
);
const KNOWN = new Set(
  'type enum const minimum maximum exclusiveMinimum exclusiveMaximum multipleOf minLength maxLength pattern format properties required additionalProperties patternProperties minProperties maxProperties items prefixItems additionalItems minItems maxItems uniqueItems anyOf oneOf'.split(
    ' ',
  ),
);
const OBJECT_KEYWORDS = ['properties', 'additionalProperties', 'patternProperties'];
const OBJECT_ONLY = new Set([
  ...OBJECT_KEYWORDS,
  ...'minProperties maxProperties propertyNames dependentRequired dependentSchemas unevaluatedProperties'.split(' '),
]);
const ARRAY_ONLY = new Set(
  'prefixItems items additionalItems minItems maxItems uniqueItems contains minContains maxContains unevaluatedItems'.split(
    ' ',
  ),
);
const KIND_NAMES = new Set<unknown>([...ALL_KINDS, 'integer']);
const INF = Number.POSITIVE_INFINITY;
const ARRAY_KEYWORDS = ['prefixItems', 'items', 'additionalItems'];
const MAX_DEPTH = 200;
const MAX_STEPS = 50_000;
/** Keywords whose meaning depends on the rest of the schema around them: compared only as part of an equal whole. */
const NOT_SEPARABLE = new Set(['unevaluatedProperties', 'unevaluatedItems', '$dynamicRef', '$recursiveRef']);

/** Both directions: what `next` no longer accepts of `prev`, and what it newly accepts. */
export function compareSchemas(prev: unknown, next: unknown): Comparison {
  const lost = directional(prev, next, LOST);
  const gained = directional(next, prev, 'newly_accepted');
  return { changes: [...lost.changes, ...gained.changes], undecided: unique([...lost.undecided, ...gained.undecided]) };
}

/** `earlier` are the earlier versions, oldest first. Non-transitive modes compare with the last only. */
export function checkCompatibility(
  mode: CompatibilityMode,
  earlier: { version: string; schema: unknown }[],
  next: unknown,
): CompatibilityReport {
  if (!COMPATIBILITY_MODES.includes(mode))
    throw new HubError(
      'validation',
      `unknown compatibility mode "${mode}": use one of ${COMPATIBILITY_MODES.join(', ')}`,
    );
  const targets = mode.endsWith('_TRANSITIVE') ? earlier : earlier.slice(-1);
  const backward = mode.startsWith('BACKWARD') || mode.startsWith('FULL');
  const forward = mode.startsWith('FORWARD') || mode.startsWith('FULL');
  const report: CompatibilityReport = { compatible: true, mode, against: [], breaking: [], undecided: [], changes: [] };
  for (const { version, schema } of targets) {
    const tag = targets.length > 1 ? (s: string) => `since ${version}: ${s}` : (s: string) => s;
    const lost = directional(schema, next, LOST);
    const gained = directional(next, schema, 'newly_accepted');
    const changes = [...lost.changes, ...gained.changes].map((c) => ({ ...c, description: tag(c.description) }));
    const counted = (ch: SchemaChange) => (ch.direction === LOST ? backward : forward);
    const undecided = mode === 'NONE' ? [...lost.undecided, ...gained.undecided] : [];
    if (backward) undecided.push(...lost.undecided);
    if (forward) undecided.push(...gained.undecided);
    report.against.push(version);
    report.changes.push(...changes);
    report.breaking.push(...changes.filter(counted));
    report.undecided.push(...undecided.map((u) => ({ ...u, reason: tag(u.reason) })));
  }
  report.undecided = unique(report.undecided);
  report.compatible = mode === 'NONE' || (report.breaking.length === 0 && report.undecided.length === 0);
  return report;
}

function directional(a: unknown, b: unknown, dir: Direction): Comparison {
  const ctx: Ctx = { rootA: a, rootB: b, dir, changes: [], undecided: [], active: new Set(), budget: { steps: 0 } };
  subset(ctx, a, b, '');
  return { changes: unique(ctx.changes), undecided: unique(ctx.undecided) };
}

/** Records in `ctx` why not every value valid under `a` (in rootA) is valid under `b` (in rootB). */
function subset(ctx: Ctx, a: unknown, b: unknown, path: string): void {
  if (sameIn(ctx, a, b)) return;
  const key = `${JSON.stringify(a)}\u0000${JSON.stringify(b)}`;
  if (ctx.active.has(key)) return;
  if (ctx.active.size > MAX_DEPTH || ++ctx.budget.steps > MAX_STEPS) {
    undecide(ctx, '', '$ref', 'the schemas nest too deeply or are too large to compare');
    return;
  }
  ctx.active.add(key);
  try {
    compareFlat(ctx, flatten(a, ctx.rootA), flatten(b, ctx.rootB), path);
  } finally {
    ctx.active.delete(key);
  }
}

function compareFlat(ctx: Ctx, fa: Flat, fb: Flat, path: string): void {
  if (fa instanceof Undecidable) undecide(ctx, path, fa.keyword, fa.reason);
  else if (fb instanceof Undecidable) undecide(ctx, path, fb.keyword, fb.reason);
  else if (fb === false && fa !== false) change(ctx, path, 'all values');
  else if (fa !== false && fb !== true && fb !== false) compareObjectSchemas(ctx, fa === true ? {} : fa, fb, path);
}

/** Both schemas are objects: unions first, then listed values, then keyword by keyword per kind of value. */
function compareObjectSchemas(ctx: Ctx, a0: Obj, b0: Obj, path: string): void {
  let [a, b] = [a0, b0];
  for (const k of ['anyOf', 'oneOf'])
    if (a[k] !== undefined && sameIn(ctx, a[k], b[k])) [a, b] = [omit(a, [k]), omit(b, [k])];
  const values = finiteValues(a, b);
  const union = (['anyOf', 'oneOf'] as const).find((k) => Array.isArray(b[k]));
  if (Array.isArray(a.anyOf) || Array.isArray(a.oneOf)) splitBranches(ctx, a, b, path);
  else if (values) compareValues(ctx, a, values, b, path);
  else if (union) subsetOfUnion(ctx, a, b, union, path);
  else if (b.enum !== undefined || b.const !== undefined)
    change(ctx, path, `values other than ${show(b.const !== undefined ? [b.const] : b.enum)}`);
  else {
    compareKinds(ctx, a, b, path);
    for (const k of Object.keys(b)) {
      if (NOT_SEPARABLE.has(k))
        undecide(ctx, path, k, `${k}${at(path)} depends on the keywords around it, which changed: cannot compare`);
      else if (!KNOWN.has(k)) opaque(ctx, a, b, k, path, 'values');
    }
  }
}

/** `a` is a union: each branch, with `a`'s other keywords, must be included on its own. */
function splitBranches(ctx: Ctx, a: Obj, b: Obj, path: string): void {
  const key = Array.isArray(a.anyOf) ? 'anyOf' : 'oneOf';
  const rest = omit(a, [key]);
  for (const branch of a[key] as unknown[]) {
    const merged = merge(rest, flatten(branch, ctx.rootA));
    if (merged instanceof Undecidable) undecide(ctx, path, merged.keyword, merged.reason);
    else subset(ctx, merged, b, path);
  }
}

/** `b` is a union: `a` (taken kind by kind if need be) must fit in one branch. */
function subsetOfUnion(ctx: Ctx, a: Obj, b: Obj, key: 'anyOf' | 'oneOf', path: string): void {
  subset(ctx, a, omit(b, [key]), path);
  const raw = b[key] as unknown[];
  const flat = raw.map((branch) => flatten(branch, ctx.rootB));
  if (key === 'oneOf' && !flat.every((x, i) => flat.slice(i + 1).every((y) => disjoint(x, y)))) {
    undecide(
      ctx,
      path,
      key,
      `the branches of oneOf${at(path)} may overlap: which values match exactly one cannot be decided`,
    );
    return;
  }
  if (raw.some((branch) => clean(trial(ctx, a, branch, path)))) return;
  for (const kind of declaredKinds(a)) {
    const piece = { ...a, type: kind };
    const results = raw.map((branch) => trial(ctx, piece, branch, path));
    if (results.some(clean)) continue;
    // Branches that cannot hold any of `piece` take no part: with one left, its reasons are the reasons.
    const open = results.filter((_, i) => possibleKinds(flat[i] ?? true).some((k) => overlap(k, kind)));
    const near = results.filter((_, i) => !disjoint(piece, flat[i] ?? true));
    const [first] = near.length > 0 ? near : open;
    if (!first) change(ctx, path, `values of type ${kind}`);
    else if (near.length <= 1) replay(ctx, first);
    else undecide(ctx, path, key, `no single branch of ${key}${at(path)} accepts every ${kind} value: cannot decide`);
  }
}

function compareValues(ctx: Ctx, a: Obj, values: unknown[], b: Obj, path: string): void {
  const other = ctx.dir === LOST ? 'the new version' : 'the old version';
  for (const v of values) {
    if (valueOk(v, a, ctx.rootA) === false) continue;
    const ok = valueOk(v, b, ctx.rootB);
    if (ok === false) change(ctx, path, `the value ${show(v)}`, 'of');
    else if (ok === undefined)
      undecide(ctx, path, 'enum', `cannot tell whether ${other} accepts the value ${show(v)}${at(path, 'of')}`);
  }
}

function compareKinds(ctx: Ctx, a: Obj, b: Obj, path: string): void {
  const ka = declaredKinds(a);
  const kb = declaredKinds(b);
  for (const k of ka) {
    if (kb.includes(k) || (k === 'integer' && kb.includes('number'))) continue;
    if (k !== 'number' || !kb.includes('integer')) change(ctx, path, `values of type ${k}`);
    else if (!Number.isInteger(a.multipleOf)) change(ctx, path, 'non-integer numbers');
  }
  const numA = ka.find((k) => k === 'number' || k === 'integer');
  const intOnly = numA === 'integer' || Number.isInteger(a.multipleOf);
  if (numA && kb.some((k) => k === 'number' || k === 'integer')) compareNumbers(ctx, a, b, path, intOnly);
  const both = (k: Kind) => ka.includes(k) && kb.includes(k);
  if (both('string')) compareStrings(ctx, a, b, path);
  if (both('object')) compareObjects(ctx, a, b, path);
  if (both('array')) compareArrays(ctx, a, b, path);
}

interface Bound {
  v: number;
  exclusive: boolean;
}

function compareNumbers(ctx: Ctx, a: Obj, b: Obj, path: string, intOnly: boolean): void {
  const [la, ua, lb, ub] = [bound(a, 1, intOnly), bound(a, -1, intOnly), bound(b, 1, intOnly), bound(b, -1, intOnly)];
  if (la && ua && (la.v > ua.v || (la.v === ua.v && (la.exclusive || ua.exclusive)))) return;
  if (lb && !covers(la, lb, 1)) change(ctx, path, `numbers ${lb.exclusive ? 'at or below' : 'below'} ${lb.v}`);
  if (ub && !covers(ua, ub, -1)) change(ctx, path, `numbers ${ub.exclusive ? 'at or above' : 'above'} ${ub.v}`);
  const mb = num(b.multipleOf);
  if (mb === undefined || mb <= 0) return;
  const ma = num(a.multipleOf);
  if ([ma, intOnly ? 1 : undefined].some((m) => m !== undefined && divides(mb, m))) return;
  // An unbounded run of numbers, or of whole multiples of a step `mb` does not divide, holds a value it does not
  // divide; with fractional steps, floating-point division makes the answer the validator's, not arithmetic's.
  const spread = !la || !ua || (ma === undefined && !intOnly && ua.v > la.v);
  const whole = Number.isInteger(mb) && (ma === undefined || Number.isInteger(ma));
  if (spread && (whole || (ma === undefined && !intOnly))) change(ctx, path, `numbers that are not multiples of ${mb}`);
  else opaque(ctx, a, b, 'multipleOf', path, 'numbers');
}

/** The lower (`sign` 1) or upper (`sign` -1) bound of `s`; over integers, made inclusive and whole. */
function bound(s: Obj, sign: 1 | -1, intOnly: boolean): Bound | undefined {
  const inclusive = num(s[sign === 1 ? 'minimum' : 'maximum']);
  const exclusive = num(s[sign === 1 ? 'exclusiveMinimum' : 'exclusiveMaximum']);
  let b = inclusive === undefined ? undefined : { v: inclusive, exclusive: false };
  if (exclusive !== undefined && (!b || sign * exclusive >= sign * b.v)) b = { v: exclusive, exclusive: true };
  if (!b || !intOnly) return b;
  const round = sign === 1 ? Math.ceil : Math.floor;
  return { v: b.exclusive && Number.isInteger(b.v) ? b.v + sign : round(b.v), exclusive: false };
}

/** The inner bound is at least as tight as the outer one. */
function covers(inner: Bound | undefined, outer: Bound, sign: 1 | -1): boolean {
  if (!inner) return false;
  return sign * inner.v > sign * outer.v || (inner.v === outer.v && (inner.exclusive || !outer.exclusive));
}

function compareStrings(ctx: Ctx, a: Obj, b: Obj, path: string): void {
  const [minA, maxA] = [num(a.minLength) ?? 0, num(a.maxLength) ?? INF];
  const [minB, maxB] = [num(b.minLength) ?? 0, num(b.maxLength) ?? INF];
  if (minA > maxA) return;
  if (minB > minA) change(ctx, path, `strings shorter than ${count(minB, 'character')}`);
  if (maxB < maxA) change(ctx, path, `strings longer than ${count(maxB, 'character')}`);
  opaque(ctx, a, b, 'pattern', path, 'strings');
  opaque(ctx, a, b, 'format', path, 'strings');
}

function compareObjects(ctx: Ctx, a: Obj, b: Obj, path: string): void {
  const requiredA = strings(a.required);
  for (const r of strings(b.required))
    if (!requiredA.includes(r)) change(ctx, path, `objects without property ${show(r)}`);
  const [pa, pb] = [props(a), props(b)];
  const samePatterns = sameIn(ctx, a.patternProperties, b.patternProperties);
  if (!samePatterns) opaque(ctx, a, b, 'patternProperties', path, 'objects');
  const named = [...new Set([...Object.keys(pa), ...Object.keys(pb)])];
  for (const n of named) {
    const [sa, sb] = [pa[n] ?? otherProperty(a, n), pb[n] ?? otherProperty(b, n)];
    if (never(sb, ctx.rootB) && !never(sa, ctx.rootA)) change(ctx, path, `objects with property ${show(n)}`);
    else subset(ctx, sa, sb, `${path}/${pointerEscape(n)}`);
  }
  const [apa, apb] = [a.additionalProperties ?? true, b.additionalProperties ?? true];
  const extra: [unknown, string][] = [
    [apa, named.length ? `properties other than ${named.map(show).join(', ')}` : 'any property'],
  ];
  if (!samePatterns && isObj(a.patternProperties))
    for (const [p, s] of Object.entries(a.patternProperties)) extra.push([s, `properties matching ${show(p)}`]);
  for (const [s, what] of extra) {
    if (never(apb, ctx.rootB) && !never(s, ctx.rootA)) change(ctx, path, `objects with ${what}`);
    else subset(ctx, s, apb, `${path}/*`);
  }
  const minA = Math.max(num(a.minProperties) ?? 0, new Set(requiredA).size);
  const closedA = never(apa, ctx.rootA) && a.patternProperties === undefined;
  const maxA = num(a.maxProperties) ?? (closedA ? Object.keys(pa).length : INF);
  const [minB, maxB] = [num(b.minProperties) ?? 0, num(b.maxProperties) ?? INF];
  if (minB > minA) change(ctx, path, `objects with fewer than ${count(minB, 'property')}`);
  if (maxB < maxA) change(ctx, path, `objects with more than ${count(maxB, 'property')}`);
}

/** The schema that `s` applies to a property it does not name. */
function otherProperty(s: Obj, name: string): unknown {
  const pp = isObj(s.patternProperties) ? s.patternProperties : {};
  const matches = Object.entries(pp)
    .filter(([p]) => regexTest(p, name) === true)
    .map(([, v]) => v);
  if (matches.length > 0) return matches.length === 1 ? matches[0] : { allOf: matches };
  return s.additionalProperties ?? true;
}

function compareArrays(ctx: Ctx, a: Obj, b: Obj, path: string): void {
  const [ta, tb] = [tuple(a), tuple(b)];
  const [restA, restB] = [never(ta.rest, ctx.rootA), never(tb.rest, ctx.rootB)];
  const maxA = Math.min(num(a.maxItems) ?? INF, restA ? ta.prefix.length : INF);
  const maxB = Math.min(num(b.maxItems) ?? INF, restB ? tb.prefix.length : INF);
  const n = Math.max(ta.prefix.length, tb.prefix.length);
  for (let i = 0; i < n && i < maxA; i++) {
    const [sa, sb] = [ta.prefix[i] ?? ta.rest, tb.prefix[i] ?? tb.rest];
    if (never(sb, ctx.rootB) && !never(sa, ctx.rootA)) {
      change(ctx, path, `arrays with more than ${count(i, 'item')}`);
      break;
    }
    subset(ctx, sa, sb, `${path}/${i}`);
  }
  if (maxA > n && !restB) subset(ctx, ta.rest, tb.rest, `${path}/*`);
  const [minA, minB] = [num(a.minItems) ?? 0, num(b.minItems) ?? 0];
  if (minB > minA) change(ctx, path, `arrays with fewer than ${count(minB, 'item')}`);
  if (maxB < maxA) change(ctx, path, `arrays with more than ${count(maxB, 'item')}`);
  if (b.uniqueItems === true && a.uniqueItems !== true && maxA > 1) change(ctx, path, `arrays with duplicate items`);
}

/** `s` accepts no value at all (as far as can be seen once `$ref` and `allOf` are resolved). */
function never(s: unknown, root: unknown): boolean {
  return s === false || flatten(s, root) === false;
}

function tuple(s: Obj): { prefix: unknown[]; rest: unknown } {
  if (Array.isArray(s.items)) return { prefix: s.items, rest: s.additionalItems ?? true };
  return { prefix: Array.isArray(s.prefixItems) ? s.prefixItems : [], rest: s.items ?? true };
}

/** A keyword this module does not compare: fine when `b` lacks it or has it identically, else undecided. */
function opaque(ctx: Ctx, a: Obj, b: Obj, k: string, path: string, what: string): void {
  if (b[k] === undefined || sameIn(ctx, a[k], b[k])) return;
  const [before, after] = ctx.dir === LOST ? [a[k], b[k]] : [b[k], a[k]];
  const how =
    before === undefined
      ? `${k} ${show(after)} was added`
      : after === undefined
        ? `${k} ${show(before)} was removed`
        : `${k} changed from ${show(before)} to ${show(after)}`;
  undecide(ctx, path, k, `${how}${at(path)}: which ${what} it excludes cannot be compared`);
}

/** `s` with local `$ref` resolved and `allOf` merged in; empty schemas become `true`, annotations go. */
function flatten(s: unknown, root: unknown, depth = 0): Flat {
  if (typeof s === 'boolean') return s;
  if (!isObj(s)) return new Undecidable('type', 'a subschema is neither an object nor a boolean');
  if (depth > 32) return new Undecidable('$ref', '$ref and allOf nest too deeply to follow');
  const base = Object.fromEntries(
    Object.entries(s).filter(([k]) => !ANNOTATIONS.has(k) && k !== '$ref' && k !== 'allOf'),
  );
  let out: Flat = Object.keys(base).length === 0 ? true : base;
  const parts = Array.isArray(s.allOf) ? [...s.allOf] : [];
  if (s.$ref !== undefined) {
    const target = resolveRef(root, s.$ref);
    if (target instanceof Undecidable) return target;
    parts.unshift(target);
  }
  for (const part of parts) out = merge(out, flatten(part, root, depth + 1));
  return out;
}

function resolveRef(root: unknown, ref: unknown): unknown {
  if (typeof ref !== 'string' || !ref.startsWith('#'))
    return new Undecidable('$ref', `$ref ${show(ref)} is not local to the schema: nothing is fetched to compare it`);
  if (ref !== '#' && !ref.startsWith('#/')) return new Undecidable('$ref', `$ref ${show(ref)} names an anchor`);
  if (embedsResources(root))
    return new Undecidable('$ref', `$ref ${show(ref)} is in a schema that embeds resources with their own $id`);
  let target: unknown = root;
  for (const part of ref === '#' ? [] : ref.slice(2).split('/')) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
    target = isObj(target) || Array.isArray(target) ? (target as Obj)[key] : undefined;
  }
  return target === undefined ? new Undecidable('$ref', `$ref ${show(ref)} points at nothing`) : target;
}

const embedded = new WeakMap<object, boolean>();
/** Whether a subschema below the root has its own `$id` (which would change what "#/..." refers to). */
function embedsResources(root: unknown): boolean {
  if (!isObj(root)) return false;
  const known = embedded.get(root);
  if (known !== undefined) return known;
  const below = (x: unknown): boolean =>
    Array.isArray(x) ? x.some(below) : isObj(x) && (typeof x.$id === 'string' || Object.values(x).some(below));
  const found = Object.values(root).some(below);
  embedded.set(root, found);
  return found;
}

/** The conjunction of two flat schemas, where it can be written as one; an Undecidable where not. */
function merge(x: Flat, y: Flat): Flat {
  if (x instanceof Undecidable) return x;
  if (y instanceof Undecidable) return y;
  if (x === false || y === false) return false;
  if (x === true || y === true) return x === true ? y : x;
  const out: Obj = { ...omit(x, [...OBJECT_KEYWORDS, ...ARRAY_KEYWORDS]) };
  for (const [k, v] of Object.entries(omit(y, [...OBJECT_KEYWORDS, ...ARRAY_KEYWORDS]))) {
    const c = out[k] === undefined || deepEqual(out[k], v) ? v : combine(k, out[k], v);
    if (c instanceof Undecidable) return c;
    if (c === EMPTY) return false;
    out[k] = c;
  }
  for (const [group, simple] of [
    [OBJECT_KEYWORDS, mergeProperties],
    [ARRAY_KEYWORDS, mergeItems],
  ] as const) {
    const g = mergeGroup(x, y, group, simple);
    if (g instanceof Undecidable) return g;
    Object.assign(out, g);
  }
  return out;
}

const EMPTY = Symbol('empty');

function combine(k: string, u: unknown, v: unknown): unknown {
  if (k === 'type') {
    const [ku, kv] = [declaredKinds({ type: u }), declaredKinds({ type: v })];
    const both = ku.flatMap((k1) => kv.filter((k2) => overlap(k1, k2)).map((k2) => (k1 === k2 ? k1 : 'integer')));
    return both.length ? [...new Set(both)] : EMPTY;
  }
  if (k === 'required') return [...new Set([...strings(u), ...strings(v)])];
  if (k === 'enum' && Array.isArray(u) && Array.isArray(v)) return u.filter((e) => v.some((w) => deepEqual(e, w)));
  if (k === 'const') return EMPTY;
  if (/^(minimum|exclusiveMinimum|min[A-Z])/.test(k)) return Math.max(Number(u), Number(v));
  if (/^(maximum|exclusiveMaximum|max[A-Z])/.test(k)) return Math.min(Number(u), Number(v));
  if (k === 'uniqueItems') return u === true || v === true;
  return new Undecidable('allOf', `allOf combines two different "${k}" keywords that cannot be merged`);
}

/** Keywords that only mean something together (properties with additionalProperties, …) merge as a group. */
function mergeGroup(x: Obj, y: Obj, keys: string[], simple: (x: Obj, y: Obj) => Obj | undefined): Obj | Undecidable {
  const [gx, gy] = [pick(x, keys), pick(y, keys)];
  if (Object.keys(gy).length === 0 || deepEqual(gx, gy)) return gx;
  if (Object.keys(gx).length === 0) return gy;
  return simple(gx, gy) ?? new Undecidable('allOf', `allOf combines ${keys.join('/')} in a way that cannot be merged`);
}

function mergeProperties(x: Obj, y: Obj): Obj | undefined {
  if (x.patternProperties !== undefined || y.patternProperties !== undefined) return undefined;
  const [px, py] = [props(x), props(y)];
  const properties: Obj = {};
  for (const n of new Set([...Object.keys(px), ...Object.keys(py)]))
    properties[n] = both(px[n] ?? x.additionalProperties, py[n] ?? y.additionalProperties);
  const additional = both(x.additionalProperties, y.additionalProperties);
  return { properties, ...(additional === undefined ? {} : { additionalProperties: additional }) };
}

function mergeItems(x: Obj, y: Obj): Obj | undefined {
  const simple = (s: Obj) => s.prefixItems === undefined && s.additionalItems === undefined && !Array.isArray(s.items);
  return simple(x) && simple(y) ? { items: both(x.items, y.items) } : undefined;
}

function both(u: unknown, v: unknown): unknown {
  if (u === undefined || v === undefined || deepEqual(u, v)) return u ?? v;
  return { allOf: [u, v] };
}

/** Whether `v` is valid under `s`: undefined when a keyword it meets cannot be checked here. */
function valueOk(v: unknown, s0: unknown, root: unknown, depth = 0): boolean | undefined {
  const s = flatten(s0, root);
  if (s instanceof Undecidable || depth > MAX_DEPTH) return undefined;
  if (typeof s === 'boolean') return s;
  let known = true;
  for (const [k, x] of Object.entries(s)) {
    const r = keywordOk(v, k, x, s, root, depth + 1);
    if (r === false) return false;
    if (r === undefined) known = false;
  }
  return known ? true : undefined;
}

function keywordOk(v: unknown, k: string, x: unknown, s: Obj, root: unknown, depth: number): boolean | undefined {
  const n = typeof v === 'number' ? v : undefined;
  const len = typeof v === 'string' ? [...v].length : undefined;
  const limit = Number(x);
  const branches = () => (Array.isArray(x) ? x.map((br) => valueOk(v, br, root, depth)) : [undefined]);
  switch (k) {
    case 'type':
      return declaredKinds(s).some((kind) => kindHas(kind, v));
    case 'enum':
      return Array.isArray(x) && x.some((e) => deepEqual(e, v));
    case 'const':
      return deepEqual(x, v);
    case 'minimum':
    case 'exclusiveMinimum':
      return n === undefined || n > limit || (n === limit && k === 'minimum');
    case 'maximum':
    case 'exclusiveMaximum':
      return n === undefined || n < limit || (n === limit && k === 'maximum');
    case 'multipleOf':
      return n === undefined || Number.isInteger(n / limit);
    case 'minLength':
      return len === undefined || len >= limit;
    case 'maxLength':
      return len === undefined || len <= limit;
    case 'pattern':
      return typeof v !== 'string' || regexTest(String(x), v);
    case 'format':
      return typeof v !== 'string' ? true : undefined;
    case 'anyOf': {
      const rs = branches();
      return rs.includes(true) ? true : rs.every((r) => r === false) ? false : undefined;
    }
    case 'oneOf': {
      const rs = branches();
      return rs.includes(undefined) ? undefined : rs.filter((r) => r).length === 1;
    }
    case 'not': {
      const r = valueOk(v, x, root, depth);
      return r === undefined ? undefined : !r;
    }
    case 'required':
      return !isObj(v) || strings(x).every((name) => Object.hasOwn(v, name));
    default:
      if (OBJECT_ONLY.has(k)) return isObj(v) ? undefined : true;
      return ARRAY_ONLY.has(k) && !Array.isArray(v) ? true : undefined;
  }
}

/** The values `a` can take when they are few, and `b` lists values (an enum or const) to check them against. */
function finiteValues(a: Obj, b: Obj): unknown[] | undefined {
  if (a.const !== undefined) return [a.const];
  if (Array.isArray(a.enum)) return a.enum;
  if (b.enum === undefined && b.const === undefined) return undefined;
  const kinds = declaredKinds(a);
  if (!kinds.every((k) => k === 'null' || k === 'boolean')) return undefined;
  return kinds.flatMap((k) => (k === 'null' ? [null] : [true, false]));
}

function declaredKinds(s: Obj): Kind[] {
  const t = s.type;
  const list = (t === undefined ? ALL_KINDS : Array.isArray(t) ? t : [t]).filter((k): k is Kind => KIND_NAMES.has(k));
  return list.includes('number') ? list.filter((k) => k !== 'integer') : list;
}

/** The kinds of value a flat schema may accept (over-approximated). */
function possibleKinds(s: Flat): Kind[] {
  if (s instanceof Undecidable || s === true) return ALL_KINDS;
  if (s === false) return [];
  const values = s.const !== undefined ? [s.const] : Array.isArray(s.enum) ? s.enum : undefined;
  const declared = declaredKinds(s);
  return values ? declared.filter((k) => values.some((v) => kindHas(k, v))) : declared;
}

/** Two flat schemas certainly accept no value in common (by kind, listed values, or a required const tag). */
function disjoint(x: Flat, y: Flat): boolean {
  if (x === false || y === false) return true;
  if (x instanceof Undecidable || y instanceof Undecidable || x === true || y === true) return false;
  const common = possibleKinds(x).filter((k) => possibleKinds(y).some((j) => overlap(k, j)));
  if (common.length === 0) return true;
  const [vx, vy] = [finiteValues(x, { enum: [] }), finiteValues(y, { enum: [] })];
  if (vx && vy) return !vx.some((v) => vy.some((w) => deepEqual(v, w)));
  if (common.some((k) => k !== 'object')) return false;
  const [px, py] = [props(x), props(y)];
  return Object.keys(px).some((n) => {
    if (!strings(x.required).includes(n) || !strings(y.required).includes(n) || !isObj(px[n]) || !isObj(py[n]))
      return false;
    const [tx, ty] = [finiteValues(px[n] as Obj, { enum: [] }), finiteValues(py[n] as Obj, { enum: [] })];
    return !!tx && !!ty && !tx.some((v) => ty.some((w) => deepEqual(v, w)));
  });
}

function overlap(k: Kind, j: Kind): boolean {
  return k === j || ((k === 'number' || k === 'integer') && (j === 'number' || j === 'integer'));
}

function kindHas(kind: Kind, v: unknown): boolean {
  if (kind === 'null') return v === null;
  if (kind === 'object') return isObj(v);
  if (kind === 'array') return Array.isArray(v);
  if (kind === 'integer') return Number.isInteger(v);
  return typeof v === kind;
}

/** Equal subschemas whose local `$ref`s also resolve to equal schemas in both roots. */
function sameIn(ctx: Ctx, x: unknown, y: unknown): boolean {
  if (!deepEqual(x, y)) return false;
  const todo = refsIn(x);
  const seen = new Set<string>();
  for (const ref of todo) {
    if (seen.has(ref) || !ref.startsWith('#')) continue;
    seen.add(ref);
    const [ta, tb] = [resolveRef(ctx.rootA, ref), resolveRef(ctx.rootB, ref)];
    if (ta instanceof Undecidable || tb instanceof Undecidable || !deepEqual(ta, tb)) return false;
    todo.push(...refsIn(ta));
  }
  return true;
}

function refsIn(x: unknown, out: string[] = []): string[] {
  if (Array.isArray(x)) for (const v of x) refsIn(v, out);
  else if (isObj(x))
    for (const [k, v] of Object.entries(x)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  return out;
}

function trial(ctx: Ctx, a: unknown, b: unknown, path: string): Ctx {
  const t: Ctx = { ...ctx, changes: [], undecided: [] };
  subset(t, a, b, path);
  return t;
}
const clean = (t: Ctx) => t.changes.length === 0 && t.undecided.length === 0;
function replay(ctx: Ctx, t: Ctx): void {
  ctx.changes.push(...t.changes);
  ctx.undecided.push(...t.undecided);
}

/** Records that the values `what` (at `path`) are accepted by `a` and not by `b`; 'of' names one value. */
function change(ctx: Ctx, path: string, what: string, word: 'at' | 'of' = 'at'): void {
  const verb = `${word === 'of' ? 'is' : 'are'} ${ctx.dir === LOST ? 'no longer accepted' : 'newly accepted'}`;
  ctx.changes.push({ path, direction: ctx.dir, description: `${what}${at(path, word)} ${verb}` });
}

function undecide(ctx: Ctx, path: string, keyword: string, reason: string): void {
  ctx.undecided.push({ path, keyword, reason });
}

function deepEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (Array.isArray(x)) return Array.isArray(y) && x.length === y.length && x.every((v, i) => deepEqual(v, y[i]));
  if (!isObj(x) || !isObj(y) || Array.isArray(y)) return false;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]));
}

function regexTest(pattern: string, s: string): boolean | undefined {
  try {
    return safePattern(pattern).test(s);
  } catch {
    return undefined;
  }
}

/** Every multiple of `m` is one of `d`, in the floating-point arithmetic validators use (Ajv: `x / d` is whole). */
function divides(d: number, m: number): boolean {
  if (d === m) return true;
  const exact = Number.isInteger(d) || Number.isInteger(Math.log2(1 / d));
  return exact && Number.isInteger(m) && Number.isInteger(m / d);
}

function unique<T>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(JSON.stringify(i)) && !!seen.add(JSON.stringify(i)));
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const props = (s: Obj): Obj => (isObj(s.properties) ? s.properties : {});
const omit = (s: Obj, keys: string[]) => Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k)));
const pick = (s: Obj, keys: string[]) => Object.fromEntries(Object.entries(s).filter(([k]) => keys.includes(k)));
const pointerEscape = (name: string) => name.replaceAll('~', '~0').replaceAll('/', '~1');
const count = (n: number, noun: string) => `${n} ${n === 1 ? noun : noun === 'property' ? 'properties' : `${noun}s`}`;
const at = (path: string, word = 'at') => (path ? ` ${word} ${path}` : '');
const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};
