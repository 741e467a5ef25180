/**
 * Checking a value against a JSON Schema (2020-12) with Ajv: every error at once, strict schemas, the standard
 * formats; compiled validators cached by the schema's text. Errors come out in one shape that a person and an
 * agent can both act on — where (a JSON pointer), what was expected, what was found, and a suggestion where one
 * is obvious (a misspelt property) — with the wording of `@apideck/better-ajv-errors`. Pure apart from the cache.
 */
import { createRequire } from 'node:module';
import type { betterAjvErrors as BetterAjvErrors } from '@apideck/better-ajv-errors';
import type { Ajv2020 as Ajv2020Type, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { HubError } from '../domain/errors.js';
import type { ValidationIssue } from '../domain/types.js';
import { ajvRegExp } from './safe-regex.js';

export type { ValidationIssue };

export interface ValidationResult {
  valid: boolean;
  issues: ValidationIssue[];
}

/**
 * Ajv and its companions, loaded on the first check: a hub that never validates (a CLI command, a watcher) does
 * not carry them.
 */
const load = createRequire(import.meta.url);
let libs:
  | {
      Ajv2020: typeof Ajv2020Type;
      addFormats: (ajv: Ajv2020Type) => Ajv2020Type;
      betterAjvErrors: typeof BetterAjvErrors;
    }
  | undefined;
function lib() {
  libs ??= {
    Ajv2020: (load('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020Type }).Ajv2020,
    addFormats: (load('ajv-formats') as { default: (ajv: Ajv2020Type) => Ajv2020Type }).default,
    betterAjvErrors: (load('@apideck/better-ajv-errors') as { betterAjvErrors: typeof BetterAjvErrors })
      .betterAjvErrors,
  };
  return libs;
}

/** Validators compiled, by the schema's text; bounded so that many inline schemas cannot grow it without end. */
const MAX_CACHED = 256;
const cache = new Map<string, ValidateFunction>();

function newAjv(): Ajv2020Type {
  const { Ajv2020, addFormats } = lib();
  // Leave the data alone: no defaults filled in, nothing removed or coerced — this checks, it does not fix. Strict:
  // unknown or misspelt keywords, bad numbers and ambiguous tuples are refused. What real schemas commonly do is
  // allowed: a list of types (`["string", "null"]`), keywords without their `type` (`{ "minimum": 1 }`), and
  // `required` naming properties the schema does not describe.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
    validateFormats: true,
    // `pattern` and `patternProperties` run in RE2: a schema's pattern cannot make a check hang.
    code: { regExp: ajvRegExp },
  });
  addFormats(ajv);
  return ajv;
}

/** One Ajv holds every compiled schema; it is replaced when the cache is emptied, so its memory goes with it. */
let ajv: Ajv2020Type | undefined;

/**
 * The compiled validator of `schema`; a schema Ajv refuses (unknown keyword in strict mode, a bad `$ref`, a type
 * that is not one) is a `validation` error naming the problem.
 */
export function compile(schema: unknown, label = 'schema'): ValidateFunction {
  if (typeof schema === 'boolean') return compileText(schema, JSON.stringify(schema), label);
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    throw new HubError('validation', `${label} must be a JSON Schema object`);
  return compileText(schema, JSON.stringify(schema), label);
}

function compileText(schema: object | boolean, key: string, label: string): ValidateFunction {
  const hit = cache.get(key);
  if (hit) return hit;
  if (cache.size >= MAX_CACHED || !ajv) {
    cache.clear();
    ajv = newAjv();
  }
  // `$id` would register the schema globally in Ajv; two versions with one `$id` must not collide.
  const body = typeof schema === 'object' && '$id' in schema ? withoutId(schema) : schema;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(body);
  } catch (err) {
    throw new HubError(
      'validation',
      `${label} is not a valid JSON Schema (2020-12, strict): ${(err as Error).message}`,
    );
  }
  cache.set(key, validate);
  return validate;
}

function withoutId(schema: object): object {
  const { $id: _id, ...rest } = schema as Record<string, unknown>;
  return rest;
}

/** Checks `schema` compiles, without validating anything. */
export function assertSchema(schema: unknown, label = 'schema'): void {
  compile(schema, label);
}

/** Validates `value` against `schema`; every issue, in the order Ajv found them. */
export function validateValue(schema: unknown, value: unknown, label = 'schema'): ValidationResult {
  const validate = compile(schema, label);
  if (validate(value)) return { valid: true, issues: [] };
  return { valid: false, issues: describeErrors(schema, value, validate.errors ?? []) };
}

/** The value at a JSON pointer, or undefined. */
export function atPointer(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  let at: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** A short JSON rendering of a value for an error: cut at 80 characters. */
export function shortJson(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function pointerChild(pointer: string, key: string): string {
  return `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** better-ajv-errors names a place `{base}.a.0.b`; this is that name for an Ajv instance path. */
function betterPath(instancePath: string): string {
  return ['{base}', ...instancePath.split('/').slice(1)].join('.').replace(/~1/g, '/').replace(/~0/g, '~');
}

/** What the failed keyword wanted, said plainly. */
function expectation(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `property ${JSON.stringify(p.missingProperty)}`;
    case 'additionalProperties':
      return 'only the properties the schema names';
    case 'enum':
      return `one of ${shortJson(p.allowedValues)}`;
    case 'const':
      return shortJson(p.allowedValue);
    case 'type':
      return String(p.type);
    case 'format':
      return `a string in format ${JSON.stringify(p.format)}`;
    default:
      return (error.message ?? error.keyword).replace(/^must (be )?/, '');
  }
}

/** Ajv's errors in the shared shape, worded and with suggestions by better-ajv-errors. */
export function describeErrors(schema: unknown, value: unknown, errors: readonly ErrorObject[]): ValidationIssue[] {
  const worded = lib().betterAjvErrors({ schema, data: value, errors: [...errors] });
  const byPlace = new Map<string, { message: string; suggestion?: string }[]>();
  for (const w of worded) {
    const key = `${w.context.errorType} ${w.path}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), { message: w.message, suggestion: w.suggestion }]);
  }
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const p = error.params as Record<string, unknown>;
    let path = error.instancePath;
    let found: string;
    if (error.keyword === 'required') {
      path = pointerChild(path, String(p.missingProperty));
      found = '(missing)';
    } else if (error.keyword === 'additionalProperties') {
      path = pointerChild(path, String(p.additionalProperty));
      found = `property ${JSON.stringify(p.additionalProperty)}`;
    } else {
      found = shortJson(atPointer(value, path));
    }
    const once = `${error.keyword} ${path} ${error.schemaPath}`;
    if (seen.has(once)) continue;
    seen.add(once);
    const candidates = byPlace.get(`${error.keyword} ${betterPath(error.instancePath)}`);
    const wording = candidates?.shift();
    const message = (wording?.message ?? `${error.keyword}: ${error.message ?? 'not valid'}`).replace(
      /\{base\}/g,
      'the value',
    );
    const issue: ValidationIssue = {
      path,
      message,
      expected: expectation(error),
      found,
      rule: error.keyword,
    };
    if (wording?.suggestion) issue.suggestion = wording.suggestion;
    issues.push(issue);
  }
  return issues;
}

/** Issues as lines of text, for a terminal, a log or an agent's repair prompt. */
export function formatIssues(issues: readonly ValidationIssue[], limit = 50): string {
  const lines = issues.slice(0, limit).map((i) => {
    const where = i.path === '' ? '(the whole value)' : i.path;
    const hint = i.suggestion ? ` ${i.suggestion}` : '';
    return `- at ${where}: ${i.message} (expected ${i.expected}; found ${i.found}).${hint}`;
  });
  if (issues.length > limit) lines.push(`- … and ${issues.length - limit} more`);
  return lines.join('\n');
}
