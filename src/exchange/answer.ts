/**
 * Reading a structured answer as agents really write it: the JSON alone, inside a fenced block, or inside prose;
 * with the slips models make (trailing commas, single quotes, comments, a cut-off end) mended by `jsonrepair`
 * before anyone is asked again. And the follow-up that asks again when the value still fails its schema. Pure.
 */
import { createRequire } from 'node:module';
import type { ValidationIssue } from '../domain/types.js';
import { formatIssues } from './validator.js';

export type ParsedAnswer =
  | { ok: true; value: unknown /** how it was found: `json`, `fenced`, `embedded`, or with `repaired` */; how: string }
  | { ok: false; error: string };

const FENCE = /```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n([\s\S]*?)```/g;

function tryParse(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function tryRepair(text: string): { value: unknown } | undefined {
  try {
    // Loaded on the first answer that needs mending.
    const { jsonrepair } = createRequire(import.meta.url)('jsonrepair') as typeof import('jsonrepair');
    const value = JSON.parse(jsonrepair(text)) as unknown;
    // Repair turns any prose into a string: only an object or array counts as an answer mended.
    return value !== null && typeof value === 'object' ? { value } : undefined;
  } catch {
    return undefined;
  }
}

/** The first balanced `{…}` or `[…]` in `text` (strings and escapes respected), or from its start to the end. */
function embedded(text: string): string | undefined {
  const start = text.search(/[{[]/);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return text.slice(start);
}

/** The JSON value an answer holds, or why none was found. */
export function parseAnswer(text: string): ParsedAnswer {
  const whole = text.trim();
  if (!whole) return { ok: false, error: 'the answer was empty; a JSON value was expected' };
  const direct = tryParse(whole);
  if (direct) return { ok: true, value: direct.value, how: 'json' };
  // Fenced blocks: those marked json first, then any.
  const fences = [...whole.matchAll(FENCE)].map((m) => ({
    lang: (m[1] ?? '').toLowerCase(),
    body: (m[2] ?? '').trim(),
  }));
  fences.sort((a, b) => Number(b.lang === 'json') - Number(a.lang === 'json'));
  for (const f of fences) {
    const parsed = tryParse(f.body);
    if (parsed) return { ok: true, value: parsed.value, how: 'fenced' };
  }
  const inner = embedded(whole);
  if (inner) {
    const parsed = tryParse(inner);
    if (parsed) return { ok: true, value: parsed.value, how: 'embedded' };
  }
  for (const candidate of [...fences.map((f) => f.body), inner, whole]) {
    if (!candidate || !/^[{[]/.test(candidate.trim())) continue;
    const mended = tryRepair(candidate);
    if (mended) return { ok: true, value: mended.value, how: 'repaired' };
  }
  return {
    ok: false,
    error: 'no JSON value was found in the answer (expected a JSON object or array, alone or in a ```json block)',
  };
}

/** The parse failure as an issue of the whole answer, so that every round reports in one shape. */
export function parseIssue(error: string): ValidationIssue {
  return { path: '', message: error, expected: 'a JSON value', found: 'text that is not JSON', rule: 'json' };
}

/** The follow-up that asks the agent again, with what was wrong with its previous answer. */
export function repairPrompt(
  schema: string,
  issues: readonly ValidationIssue[],
  round: number,
  rounds: number,
): string {
  return [
    `Your previous answer does not satisfy the required JSON Schema (${schema}).`,
    `These problems were found (repair round ${round} of ${rounds}):`,
    formatIssues(issues),
    '',
    'Answer again with the corrected JSON value only — the whole value, not a patch — in a single ```json block.',
  ].join('\n');
}
