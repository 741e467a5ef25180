/** Small input checks that name the field and the problem, so bad input never reaches the database. */
import { HubError } from './errors.js';

/** A required (or, with `optional`, nullable) string of at most `max` characters, not blank. */
export function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string') throw new HubError('validation', `${field} must be a string, got ${typeName(value)}`);
  if (value.trim() === '') throw new HubError('validation', `${field} must not be empty`);
  noNul(value, field);
  wellFormed(value, field);
  if (value.length > max) {
    throw new HubError('too_large', `${field} is ${value.length} characters long; the limit is ${max}`);
  }
  return value;
}

/** Throws `validation` for a NUL character, which PostgreSQL cannot store and SQLite's length() stops at. */
export function noNul(value: string, field: string): string {
  if (value.includes('\u0000')) throw new HubError('validation', `${field} must not contain NUL characters (\\u0000)`);
  return value;
}

/** The first lone UTF-16 surrogate: in a `u` regular expression a pair is one code point, a lone half is `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Where a lone UTF-16 surrogate sits in a value: its path, whether in an object key, and the code unit. */
export interface LoneSurrogate {
  /** `schema.enum[1]`, from the path given. */
  path: string;
  inKey: boolean;
  /** Its index in the string. */
  index: number;
  unit: number;
}

/**
 * The first string (or object key) of a JSON-like value holding a lone UTF-16 surrogate, or undefined. Such text
 * has no UTF-8 form: both databases would store U+FFFD in its place, silently changing what was sent. Walks with
 * its own stack, so a body nested a million deep cannot overflow the call stack.
 */
export function findLoneSurrogate(value: unknown, path: string): LoneSurrogate | undefined {
  const stack: [unknown, string][] = [[value, path]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, at] = next;
    if (typeof item === 'string') {
      const match = LONE_SURROGATE.exec(item);
      if (match) return { path: at, inKey: false, index: match.index, unit: item.charCodeAt(match.index) };
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${at}[${i}]`]);
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      for (const [key] of entries) {
        const match = LONE_SURROGATE.exec(key);
        if (match) return { path: at, inKey: true, index: match.index, unit: key.charCodeAt(match.index) };
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push([child, `${at}.${key}`]);
      }
    }
  }
  return undefined;
}

/** `prompt: the text holds a lone UTF-16 surrogate (\ud800) at index 2; …`. */
export function describeLoneSurrogate({ path, inKey, index, unit }: LoneSurrogate): string {
  const where = path.length > 160 ? `${path.slice(0, 100)}…${path.slice(-50)}` : path;
  return `${where}: ${inKey ? 'a key' : 'the text'} holds a lone UTF-16 surrogate (\\u${unit.toString(16)}) at index ${index}, which no database stores as sent; send whole characters`;
}

/** Throws `validation` for a string holding a lone UTF-16 surrogate (see `findLoneSurrogate`). */
export function wellFormed(value: string, field: string): string {
  const found = findLoneSurrogate(value, field);
  if (found) throw new HubError('validation', describeLoneSurrogate(found));
  return value;
}

/** A list of values, each checked by `item` (which names the field with its index). */
export function list<T>(value: unknown, field: string, max: number, item: (v: unknown, field: string) => T): T[] {
  if (!Array.isArray(value)) throw new HubError('validation', `${field} must be a list, got ${typeName(value)}`);
  if (value.length > max) throw new HubError('too_large', `${field} has ${value.length} entries; the limit is ${max}`);
  return value.map((v, i) => item(v, `${field}[${i}]`));
}

/** A plain object as stored JSON text of at most `max` characters (settings, JSON Schemas). */
export function jsonObject(value: unknown, field: string, max: number): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HubError('validation', `${field} must be an object, got ${typeName(value)}`);
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new HubError('validation', `${field} cannot be stored as JSON: ${(err as Error).message}`);
  }
  if (json.length > max)
    throw new HubError('too_large', `${field} is ${json.length} characters as JSON; the limit is ${max}`);
  // JSON.stringify escapes U+0000, so the text never holds a raw NUL; it escapes a lone surrogate too, which then
  // reads back whole from the database, but the event log and every reader would carry it on.
  const lone = findLoneSurrogate(value, field);
  if (lone) throw new HubError('validation', describeLoneSurrogate(lone));
  return json;
}

/** How deep JSON a caller's schema or definition may nest: far past any real one, well short of the stack. */
export const MAX_JSON_DEPTH = 128;

/**
 * Refuses a value nesting objects and arrays deeper than `max` levels, checked without recursion (a value from a
 * request can be nested deep enough to overflow the stack of anything that walks it recursively).
 */
export function assertDepth(value: unknown, field: string, max = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) throw new HubError('validation', `${field} nests deeper than ${max} levels`);
    for (const child of Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/** Like `text`, but undefined and null give null. */
export function optionalText(value: unknown, field: string, max: number): string | null {
  return value === undefined || value === null ? null : text(value, field, max);
}

/** A number within [min, max]; integers only when `integer` is set. */
export function number(value: unknown, field: string, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new HubError('validation', `${field} must be a number, got ${typeName(value)}`);
  }
  if (integer && !Number.isInteger(value))
    throw new HubError('validation', `${field} must be a whole number, got ${value}`);
  if (value < min || value > max)
    throw new HubError('validation', `${field} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** The longest delay a Node timer takes (2^31-1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A page size: a whole number from 1 to `max`. */
export function pageSize(value: unknown, max: number): number {
  return number(value, 'limit', 1, max, true);
}

/** One of the allowed strings. */
export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new HubError('validation', `${field} must be one of ${allowed.join(', ')}, got ${typeName(value)}`);
}

/** A request id (idempotency key): 1 to 255 printable ASCII characters, not starting or ending with a space. */
export const REQUEST_ID = /^[!-~]([ -~]{0,253}[!-~])?$/;

/** A request id (see `REQUEST_ID`). */
export function requestId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !REQUEST_ID.test(value)) {
    throw new HubError(
      'validation',
      `${field} must be 1 to 255 printable ASCII characters, not starting or ending with a space, got ${typeName(value)}`,
    );
  }
  return value;
}

/**
 * Why `name` cannot name a module, or undefined when it can: letters, digits, `-`, `_` and `.`, starting with a
 * letter or digit, at most 64 long (so it is one path segment of the API), and not a name every JavaScript object
 * already has (`constructor`, `toString`): a module called that would find itself in every map of modules.
 */
export function moduleNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    return "must be a module name (letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64)";
  }
  if (name in Object.prototype) return `must be a module name ('${name}' is reserved: every JavaScript object has it)`;
  return undefined;
}

/** A module name (see `moduleNameProblem`). */
export function moduleName(value: unknown, field = 'module'): string {
  const problem = typeof value === 'string' ? moduleNameProblem(value) : 'must be a module name';
  if (problem) throw new HubError('validation', `${field} ${problem}, got ${typeName(value)}`);
  return value as string;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
