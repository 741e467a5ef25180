/**
 * Query templates: named, versioned questions, each with the schema its answer must satisfy; immutable once
 * published, like schemas (store/schemas.ts). Their checks (parameters, prompt, answer schema) are the caller's
 * `admit`, run in the publishing transaction.
 */
import { HubError } from '../domain/errors.js';
import { compareVersions } from '../domain/schema-ref.js';
import { nameHint } from '../domain/suggest.js';
import type { QueryTemplate } from '../exchange/templates.js';
import type { Database, SqlClient } from './database.js';
import type { QueryTemplatesTable } from './schema.js';
import { contentHash } from './schemas.js';

/** A published template version (the shape exchange/templates.ts renders). */
export type TemplateVersion = QueryTemplate;

export type NewTemplateVersion = Omit<TemplateVersion, 'createdAt'>;

export function templateHash(t: NewTemplateVersion): string {
  return contentHash({
    description: t.description,
    params: t.params,
    prompt: t.prompt,
    answerSchema: t.answerSchema,
    owner: t.owner,
  });
}

function fromRow(r: QueryTemplatesTable): TemplateVersion {
  return {
    name: r.name,
    version: r.version,
    description: r.description,
    params: JSON.parse(r.params) as TemplateVersion['params'],
    prompt: r.prompt,
    answerSchema: r.answer_schema,
    owner: r.owner,
    createdAt: r.created_at,
  };
}

export class TemplateStore {
  constructor(private readonly db: Database) {}

  async versions(name: string, client: SqlClient = this.db.read): Promise<TemplateVersion[]> {
    const rows = await client.all<QueryTemplatesTable>('SELECT * FROM query_templates WHERE name = ?', [name]);
    return rows.map(fromRow).sort((a, b) => compareVersions(a.version, b.version));
  }

  /** The version asked for, or the latest; `not_found` naming what there is. */
  async get(name: string, version?: string): Promise<TemplateVersion> {
    const all = await this.versions(name);
    if (!all.length) {
      const rows = await this.db.read.all<{ name: string }>('SELECT DISTINCT name FROM query_templates ORDER BY name');
      const names = rows.map((r) => r.name);
      throw new HubError('not_found', `no query template named ${name} (${nameHint(name, names, 'templates')})`);
    }
    if (version === undefined) return all[all.length - 1] as TemplateVersion;
    const found = all.find((t) => t.version === version);
    if (!found)
      throw new HubError(
        'not_found',
        `template ${name} has no version ${version}; its versions are ${all.map((t) => t.version).join(', ')}`,
      );
    return found;
  }

  /** The latest version of each template, by name. */
  async list(): Promise<(TemplateVersion & { versions: string[] })[]> {
    const rows = await this.db.read.all<QueryTemplatesTable>('SELECT * FROM query_templates ORDER BY name');
    const byName = new Map<string, TemplateVersion[]>();
    for (const r of rows.map(fromRow)) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    return [...byName.values()].map((versions) => {
      versions.sort((a, b) => compareVersions(a.version, b.version));
      return { ...(versions[versions.length - 1] as TemplateVersion), versions: versions.map((v) => v.version) };
    });
  }

  /** Publishes a version; the same content again answers the stored one, other content is `conflict`. */
  async publish(input: NewTemplateVersion): Promise<{ template: TemplateVersion; created: boolean }> {
    const hash = templateHash(input);
    return this.db.write(async (tx) => {
      if (this.db.dialect === 'postgres')
        await tx.get("SELECT pg_advisory_xact_lock(hashtext('templates:' || ?))", [input.name]);
      const same = await tx.get<QueryTemplatesTable>('SELECT * FROM query_templates WHERE name = ? AND version = ?', [
        input.name,
        input.version,
      ]);
      if (same) {
        if (same.hash === hash) return { template: fromRow(same), created: false };
        throw new HubError(
          'conflict',
          `template ${input.name}@${input.version} is already published with other content; publish a new version`,
        );
      }
      const template: TemplateVersion = { ...input, createdAt: new Date().toISOString() };
      await tx.run(
        'INSERT INTO query_templates (name, version, description, params, prompt, answer_schema, owner, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          template.name,
          template.version,
          template.description,
          JSON.stringify(template.params),
          template.prompt,
          template.answerSchema,
          template.owner,
          hash,
          template.createdAt,
        ],
      );
      tx.emit({
        type: 'template.published',
        module: template.owner,
        data: { name: template.name, version: template.version, answerSchema: template.answerSchema },
      });
      return { template, created: true };
    });
  }
}
