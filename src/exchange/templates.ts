/**
 * Query templates: named, versioned questions with parameters, each with the schema its answer must satisfy.
 * A template's prompt has `{{ param }}` places; a line whose places are all optional parameters left out is
 * dropped, so optional context reads naturally. Parameters are checked against the template's parameter schema
 * before anything is asked: a missing, unknown or mistyped one is a `validation` error naming it. Pure.
 */
import { HubError } from '../domain/errors.js';
import { closestName } from '../domain/suggest.js';
import { formatIssues, validateValue } from './validator.js';

/** A template as published. */
export interface QueryTemplate {
  name: string;
  version: string;
  description: string;
  /** JSON Schema of an object: the parameters, which of them are required and their types. */
  params: { type: 'object'; properties: Record<string, Record<string, unknown>>; required?: string[] } & Record<
    string,
    unknown
  >;
  prompt: string;
  /** `name@version` of the schema the answer must satisfy. */
  answerSchema: string;
  owner: string | null;
  createdAt: string;
}

const PLACE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The parameter names a prompt uses. */
export function placesOf(prompt: string): string[] {
  return [...new Set([...prompt.matchAll(PLACE)].map((m) => m[1] as string))];
}

/** Checks a template's own parts: its parameter schema is an object schema and its prompt names only its parameters. */
export function checkTemplateShape(t: Pick<QueryTemplate, 'params' | 'prompt'>): void {
  const params = t.params as unknown;
  if (!params || typeof params !== 'object' || Array.isArray(params))
    throw new HubError('validation', 'params must be a JSON Schema object describing the parameters');
  const p = params as Record<string, unknown>;
  if (p.type !== 'object' || !p.properties || typeof p.properties !== 'object')
    throw new HubError('validation', 'params must be a JSON Schema with type "object" and "properties"');
  validateValue(params, {}, 'params'); // compiles, or says why not
  const declared = Object.keys(p.properties as object);
  for (const place of placesOf(t.prompt))
    if (!declared.includes(place))
      throw new HubError(
        'validation',
        `the prompt uses {{ ${place} }}, which is not among the parameters (${declared.join(', ') || 'none'})`,
      );
  if (typeof t.prompt !== 'string' || !t.prompt.trim())
    throw new HubError('validation', 'prompt must be a non-empty string');
}

/** `key=value` pairs from a command line, as parameters: a value that parses as JSON is that JSON, else the text. */
export function paramsFromPairs(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new HubError('validation', `--param takes key=value; got ${JSON.stringify(pair)}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain text
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

/**
 * The question a template asks with `params`, after checking them: unknown names (with the closest known one),
 * missing required ones and wrong types are refused, all at once.
 */
export function renderTemplate(t: QueryTemplate, params: Record<string, unknown>): string {
  if (!params || typeof params !== 'object' || Array.isArray(params))
    throw new HubError('validation', 'params must be an object of parameter names to values');
  const declared = Object.keys(t.params.properties);
  const problems: string[] = [];
  for (const key of Object.keys(params))
    if (!declared.includes(key)) {
      const close = closestName(key, declared);
      problems.push(
        `unknown parameter ${JSON.stringify(key)}${close ? ` (did you mean "${close}"?)` : ''}; ${t.name}@${t.version} takes ${declared.join(', ') || 'none'}`,
      );
    }
  if (!problems.length) {
    const checked = validateValue(t.params, params, `the parameters of ${t.name}@${t.version}`);
    if (!checked.valid) problems.push(formatIssues(checked.issues).replace(/^- /gm, ''));
  }
  if (problems.length)
    throw new HubError('validation', `template ${t.name}@${t.version}: ${problems.join('; ')}`, {
      details: { template: `${t.name}@${t.version}` },
    });
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return t.prompt
    .split('\n')
    .filter((line) => {
      const places = placesOf(line);
      return !places.length || places.some((p) => params[p] !== undefined);
    })
    .map((line) => line.replace(PLACE, (_m, p: string) => (params[p] === undefined ? '' : show(params[p]))))
    .join('\n')
    .trim();
}
