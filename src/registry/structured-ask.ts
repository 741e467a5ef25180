/**
 * An ask as callers give it (a schema by name or inline, a template with parameters) turned into what the store
 * keeps: the question's text, the schema's body on the reply, and its checking (which schema, how many repair
 * rounds). Everything is checked before anything is stored: an unknown schema or template, a schema that does not
 * compile, a missing or mistyped parameter.
 */
import { HubError } from '../domain/errors.js';
import type { AskInput } from '../domain/inputs.js';
import { assertDepth, jsonObject } from '../domain/validate.js';
import { assertSchema } from '../exchange/validator.js';
import type { SchemaRegistry } from './schema-registry.js';
import type { TemplateRegistry } from './template-registry.js';

export const DEFAULT_MAX_REPAIRS = 2;
const MOST_REPAIRS = 10;

export interface ResolvedAsk {
  input: AskInput & { prompt: string; schema?: Record<string, unknown> };
  checking?: { schema: string; maxRepairs: number };
}

export async function resolveAsk(
  input: AskInput,
  schemas: SchemaRegistry,
  templates: TemplateRegistry,
): Promise<ResolvedAsk> {
  if (!input || typeof input !== 'object') throw new HubError('validation', 'ask takes { from, to, prompt }');
  const { template, params, maxRepairs, ...rest } = input;
  let prompt = input.prompt;
  let schema = input.schema;
  if (template !== undefined) {
    if (typeof template !== 'string') throw new HubError('validation', 'template must be NAME or NAME@VERSION');
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params)))
      throw new HubError('validation', 'params must be an object of parameter names to values');
    const rendered = await templates.render(template, params ?? {});
    if (prompt !== undefined && typeof prompt !== 'string') throw new HubError('validation', 'prompt must be a string');
    prompt = prompt?.trim() ? `${rendered.prompt}\n\n${prompt}` : rendered.prompt;
    if (schema !== undefined && schema !== rendered.answerSchema)
      throw new HubError(
        'validation',
        `template ${rendered.template} answers in ${rendered.answerSchema}; leave schema out`,
      );
    schema = rendered.answerSchema;
  } else if (params !== undefined) {
    throw new HubError('validation', 'params are the parameters of a template: name the template too');
  }
  if (prompt === undefined) throw new HubError('validation', 'prompt is required (or a template to ask)');
  if (maxRepairs !== undefined && (!Number.isInteger(maxRepairs) || maxRepairs < 0 || maxRepairs > MOST_REPAIRS))
    throw new HubError(
      'validation',
      `maxRepairs must be a whole number from 0 to ${MOST_REPAIRS}; got ${JSON.stringify(maxRepairs)}`,
    );
  if (schema === undefined) {
    if (maxRepairs !== undefined)
      throw new HubError('validation', 'maxRepairs needs a schema (or a template) to check against');
    return { input: { ...rest, prompt } as ResolvedAsk['input'] };
  }
  const rounds = maxRepairs ?? DEFAULT_MAX_REPAIRS;
  if (typeof schema === 'string') {
    const found = await schemas.get(schema);
    const body = typeof found.body === 'boolean' ? (found.body ? {} : { not: {} }) : found.body;
    return {
      input: { ...rest, prompt, schema: body } as ResolvedAsk['input'],
      checking: { schema: `${found.name}@${found.version}`, maxRepairs: rounds },
    };
  }
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    throw new HubError('validation', 'schema must be NAME@VERSION or a JSON Schema object');
  // Checked as the store keeps it (depth, size, well-formed text) before it is compiled.
  assertDepth(schema, 'schema');
  jsonObject(schema, 'schema', 262_144);
  assertSchema(schema, 'schema');
  return {
    input: { ...rest, prompt, schema } as ResolvedAsk['input'],
    checking: { schema: 'inline', maxRepairs: rounds },
  };
}
