/**
 * Regular expressions from schemas and requirements — text other modules wrote. One that could backtrack without
 * end (`^(a+)+$`: a quantifier over a quantifier, by `safe-regex2`; or an alternation under a quantifier, which it
 * misses: `(a|a)*`) runs in RE2 (its WebAssembly build), whose time is linear in the input; any other runs in
 * JavaScript's engine, ten times faster per test, which checking a document of thousands of blocks needs. RE2 has
 * no look-around or back-references; such a pattern that needs RE2 is refused with a `validation` error saying so.
 */
import { createRequire } from 'node:module';
import type { RE2 as RE2Type } from 're2-wasm';
import { HubError } from '../domain/errors.js';

/** RE2's WebAssembly module, instantiated on the first pattern (a hub that checks nothing does not hold it). */
let RE2: typeof RE2Type | undefined;
function engine(): typeof RE2Type {
  RE2 ??= (createRequire(import.meta.url)('re2-wasm') as { RE2: typeof RE2Type }).RE2;
  return RE2;
}

/** What a compiled pattern offers: a test, and its text. */
export interface SafePattern {
  test(text: string): boolean;
  readonly source: string;
}

/** Whether a pattern may backtrack without end, and so runs in RE2. */
export function risky(pattern: string): boolean {
  const isSafe = (createRequire(import.meta.url)('safe-regex2') as (re: string) => boolean)(pattern);
  return !isSafe || (pattern.includes('|') && /\)[*+?{]/.test(pattern));
}

function compile(pattern: string, flags: string): { test(text: string): boolean } {
  const u = flags.includes('u') ? flags : `${flags}u`;
  if (!risky(pattern)) {
    try {
      return new RegExp(pattern, u);
    } catch (err) {
      throw new HubError(
        'validation',
        `the pattern ${JSON.stringify(pattern)} is not valid: ${(err as Error).message}`,
      );
    }
  }
  try {
    return new (engine())(pattern, u);
  } catch (err) {
    throw new HubError(
      'validation',
      `the pattern ${JSON.stringify(pattern)} is not supported: ${(err as Error).message} (patterns run in RE2, which has no look-around or back-references)`,
    );
  }
}

/** `pattern` compiled for RE2; `validation` when it uses what RE2 lacks. */
export function safePattern(pattern: string, flags = ''): SafePattern {
  const re = compile(pattern, flags);
  return { test: (text) => re.test(text), source: pattern };
}

/** Ajv's regular-expression engine (its `code.regExp` option), RE2 instead of JavaScript's. */
export const ajvRegExp = Object.assign((pattern: string, flags: string) => compile(pattern, flags), {
  code: 'new (require("re2-wasm").RE2)',
});
