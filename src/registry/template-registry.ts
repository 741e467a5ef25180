/**
 * Query templates as callers use them (`hub.templates`): publishing one (its parameters a JSON Schema of an
 * object, its prompt using only them, its answer schema published), fetching, listing, and rendering the question
 * a template asks with given parameters — checked before anything is asked.
 */
import { HubError } from '../domain/errors.js';
import { checkName, checkVersion, parseRef } from '../domain/schema-ref.js';
import { assertDepth } from '../domain/validate.js';
import { checkTemplateShape, type QueryTemplate, renderTemplate } from '../exchange/templates.js';
import type { NewTemplateVersion, TemplateStore, TemplateVersion } from '../store/templates.js';
import type { SchemaRegistry } from './schema-registry.js';

export type { TemplateVersion };

export interface PublishTemplateInput {
  name: string;
  version: string;
  description?: string;
  params: QueryTemplate['params'];
  prompt: string;
  /** `name@version` of a published schema. */
  answerSchema: string;
  owner?: string | null;
}

export class TemplateRegistry {
  constructor(
    private readonly store: TemplateStore,
    private readonly schemas: SchemaRegistry,
  ) {}

  async publish(
    input: PublishTemplateInput,
    by: { module?: string } = {},
  ): Promise<{ template: TemplateVersion; created: boolean }> {
    if (!input || typeof input !== 'object')
      throw new HubError('validation', 'publish takes { name, version, params, prompt, answerSchema }');
    const name = checkName(input.name, 'template name');
    const version = checkVersion(input.version, 'template version');
    if (typeof input.prompt !== 'string' || input.prompt.length > 100_000)
      throw new HubError('validation', 'prompt must be a string of at most 100,000 characters');
    assertDepth(input.params, 'params');
    checkTemplateShape({ params: input.params, prompt: input.prompt });
    const ref = parseRef(input.answerSchema, 'answerSchema');
    if (!ref.version) throw new HubError('validation', 'answerSchema must name a version: NAME@VERSION');
    await this.schemas.get(input.answerSchema);
    if (by.module && input.owner != null && input.owner !== by.module)
      throw new HubError(
        'forbidden',
        `a token of module ${by.module} publishes templates as ${by.module}, not ${input.owner}`,
      );
    const earlier = await this.store.versions(name);
    const owner = earlier[earlier.length - 1]?.owner;
    if (owner && by.module && owner !== by.module)
      throw new HubError(
        'forbidden',
        `template ${name} is owned by module ${owner}; ${by.module} cannot publish its versions`,
      );
    const record: NewTemplateVersion = {
      name,
      version,
      description: typeof input.description === 'string' ? input.description.slice(0, 4000) : '',
      params: input.params,
      prompt: input.prompt,
      answerSchema: input.answerSchema,
      owner: by.module ?? input.owner ?? null,
    };
    return this.store.publish(record);
  }

  get(ref: string): Promise<TemplateVersion> {
    const { name, version } = parseRef(ref, 'template');
    return this.store.get(name, version);
  }

  list(): Promise<(TemplateVersion & { versions: string[] })[]> {
    return this.store.list();
  }

  /** The question `ref` asks with `params`, and the schema its answer must satisfy. */
  async render(
    ref: string,
    params: Record<string, unknown> = {},
  ): Promise<{ prompt: string; answerSchema: string; template: string }> {
    const t = await this.get(ref);
    return { prompt: renderTemplate(t, params), answerSchema: t.answerSchema, template: `${t.name}@${t.version}` };
  }
}
