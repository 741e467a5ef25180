/**
 * The exchange schemas: named, versioned JSON Schemas, immutable once published. What a version must satisfy to
 * be published (that its body compiles, that it keeps its name's compatibility mode) is decided by the caller's
 * `admit`, inside the transaction that publishes it, so two publications of one name are judged one at a time.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../domain/errors.js';
import { compareVersions } from '../domain/schema-ref.js';
import { nameHint } from '../domain/suggest.js';
import { canonicalJson } from '../exchange/canonical.js';
import type { Database, SqlClient, WriteTx } from './database.js';
import type { SchemasTable } from './schema.js';

/** A published schema version. */
export interface SchemaVersion {
  name: string;
  version: string;
  body: Record<string, unknown> | boolean;
  description: string;
  owner: string | null;
  compatibility: string;
  hash: string;
  createdAt: string;
}

/** A schema name with its versions, for lists. */
export interface SchemaSummary {
  name: string;
  latest: string;
  versions: string[];
  description: string;
  owner: string | null;
  compatibility: string;
  updatedAt: string;
}

export type NewSchemaVersion = Omit<SchemaVersion, 'hash' | 'createdAt'>;

export function contentHash(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

function fromRow(r: SchemasTable): SchemaVersion {
  return {
    name: r.name,
    version: r.version,
    body: JSON.parse(r.body) as Record<string, unknown> | boolean,
    description: r.description,
    owner: r.owner,
    compatibility: r.compatibility,
    hash: r.hash,
    createdAt: r.created_at,
  };
}

/** What a schema version's hash covers: what it accepts, how it is described, who owns it and its mode. */
export function schemaHash(s: NewSchemaVersion): string {
  return contentHash({ body: s.body, description: s.description, owner: s.owner, compatibility: s.compatibility });
}

export class SchemaStore {
  constructor(private readonly db: Database) {}

  /** Every version of `name`, oldest first. */
  async versions(name: string, client: SqlClient = this.db.read): Promise<SchemaVersion[]> {
    const rows = await client.all<SchemasTable>('SELECT * FROM schemas WHERE name = ?', [name]);
    return rows.map(fromRow).sort((a, b) => compareVersions(a.version, b.version));
  }

  /** The version asked for, or the latest; `not_found` naming what there is. */
  async get(name: string, version?: string): Promise<SchemaVersion> {
    const all = await this.versions(name);
    if (!all.length) {
      const names = await this.names();
      throw new HubError('not_found', `no schema named ${name} (${nameHint(name, names, 'schemas')})`);
    }
    if (version === undefined) return all[all.length - 1] as SchemaVersion;
    const found = all.find((s) => s.version === version);
    if (!found)
      throw new HubError(
        'not_found',
        `schema ${name} has no version ${version}; its versions are ${all.map((s) => s.version).join(', ')}`,
      );
    return found;
  }

  async names(): Promise<string[]> {
    const rows = await this.db.read.all<{ name: string }>('SELECT DISTINCT name FROM schemas ORDER BY name');
    return rows.map((r) => r.name);
  }

  /** Each schema name with its versions; the description, owner and mode are its latest version's. */
  async list(): Promise<SchemaSummary[]> {
    const rows = await this.db.read.all<Omit<SchemasTable, 'body'>>(
      'SELECT name, version, description, owner, compatibility, hash, created_at FROM schemas ORDER BY name',
    );
    const byName = new Map<string, Omit<SchemasTable, 'body'>[]>();
    for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    return [...byName.entries()].map(([name, versions]) => {
      versions.sort((a, b) => compareVersions(a.version, b.version));
      const latest = versions[versions.length - 1] as Omit<SchemasTable, 'body'>;
      return {
        name,
        latest: latest.version,
        versions: versions.map((v) => v.version),
        description: latest.description,
        owner: latest.owner,
        compatibility: latest.compatibility,
        updatedAt: latest.created_at,
      };
    });
  }

  /**
   * Publishes a version. The same version published again with the same content answers the stored one
   * (`created: false`); with other content it is `conflict`. A version must be newer than the name's latest.
   * `admit` sees the earlier versions (oldest first) and throws to refuse; it runs in the publishing transaction.
   */
  async publish(
    input: NewSchemaVersion,
    admit: (earlier: SchemaVersion[]) => void,
  ): Promise<{ schema: SchemaVersion; created: boolean }> {
    const hash = schemaHash(input);
    return this.db.write(async (tx) => {
      await this.lockName(tx, input.name);
      const earlier = await this.versions(input.name, tx);
      const same = earlier.find((s) => s.version === input.version);
      if (same) {
        if (same.hash === hash) return { schema: same, created: false };
        throw new HubError(
          'conflict',
          `${input.name}@${input.version} is already published with other content; versions are immutable: publish a new version`,
        );
      }
      const latest = earlier[earlier.length - 1];
      if (latest && compareVersions(input.version, latest.version) < 0)
        throw new HubError(
          'conflict',
          `${input.name}@${input.version} is older than the latest version ${latest.version}; publish a version after it`,
        );
      admit(earlier);
      const schema: SchemaVersion = { ...input, hash, createdAt: new Date().toISOString() };
      await tx.run(
        'INSERT INTO schemas (name, version, body, description, owner, compatibility, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          schema.name,
          schema.version,
          JSON.stringify(schema.body),
          schema.description,
          schema.owner,
          schema.compatibility,
          hash,
          schema.createdAt,
        ],
      );
      tx.emit({
        type: 'schema.published',
        module: schema.owner,
        data: { name: schema.name, version: schema.version, compatibility: schema.compatibility },
      });
      return { schema, created: true };
    });
  }

  /** Publications of one name take turns (PostgreSQL; SQLite has one writer at a time). */
  private async lockName(tx: WriteTx, name: string): Promise<void> {
    if (this.db.dialect === 'postgres') await tx.get("SELECT pg_advisory_xact_lock(hashtext('schemas:' || ?))", [name]);
  }
}
