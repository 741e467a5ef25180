/**
 * The schema registry as callers use it (`hub.schemas`): publishing with the checks a version must pass — its
 * body compiles as strict JSON Schema 2020-12, its owner may publish it, and it keeps its name's compatibility
 * mode with the versions before it (exchange/compat.ts, decided from what each version accepts) — fetching,
 * listing, validating a value, checking a draft without publishing it, and TypeScript types from a version.
 */
import { HubError } from '../domain/errors.js';
import { checkName, checkVersion, parseRef } from '../domain/schema-ref.js';
import type { ValidationIssue } from '../domain/types.js';
import { assertDepth } from '../domain/validate.js';
import {
  COMPATIBILITY_MODES,
  type CompatibilityMode,
  type CompatibilityReport,
  checkCompatibility,
} from '../exchange/compat.js';
import { typesFor } from '../exchange/typescript.js';
import { assertSchema, type ValidationResult, validateValue } from '../exchange/validator.js';
import type { SchemaStore, SchemaSummary, SchemaVersion } from '../store/schemas.js';

export type { SchemaSummary, SchemaVersion };

/** A version to publish. */
export interface PublishSchemaInput {
  name: string;
  version: string;
  /** The JSON Schema (2020-12). */
  schema: Record<string, unknown> | boolean;
  description?: string;
  /** Default: the mode of the name's latest version, or BACKWARD for a new name. */
  compatibility?: CompatibilityMode;
  /** The module that owns the name; only it (or an unscoped caller) publishes its next versions. */
  owner?: string | null;
}

/** Who publishes: a module-scoped caller acts as its module. */
export interface Publisher {
  module?: string;
}

export interface PublishResult {
  schema: SchemaVersion;
  /** False when this very version was already published with the same content. */
  created: boolean;
  report: CompatibilityReport;
}

const MAX_SCHEMA_BYTES = 1_048_576;

function mode(value: unknown): CompatibilityMode {
  if (typeof value === 'string' && (COMPATIBILITY_MODES as readonly string[]).includes(value.toUpperCase()))
    return value.toUpperCase() as CompatibilityMode;
  throw new HubError(
    'validation',
    `compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}; got ${JSON.stringify(value)}`,
  );
}

function checkBody(schema: unknown, label: string): Record<string, unknown> | boolean {
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema)))
    throw new HubError('validation', `${label} must be a JSON Schema (an object or a boolean)`);
  assertDepth(schema, label);
  const size = Buffer.byteLength(JSON.stringify(schema));
  if (size > MAX_SCHEMA_BYTES)
    throw new HubError('too_large', `${label} is ${size} bytes; the limit is ${MAX_SCHEMA_BYTES}`);
  assertSchema(schema, label);
  return schema as Record<string, unknown> | boolean;
}

/** An incompatibility as an error whose message lists what changed and whose details carry the whole report. */
function refusal(name: string, version: string, report: CompatibilityReport): HubError {
  const lines = [
    ...report.breaking.map((c) => `- ${c.description}`),
    ...report.undecided.map((u) => `- cannot decide at ${u.path || '(root)'}: ${u.reason}`),
  ];
  return new HubError(
    'conflict',
    `${name}@${version} breaks ${report.mode} compatibility with ${report.against.join(', ')}:\n${lines.join('\n')}`,
    { details: { report } },
  );
}

export class SchemaRegistry {
  constructor(private readonly store: SchemaStore) {}

  /** Publishes a version, refused (`conflict` with a report) when it breaks its name's compatibility mode. */
  async publish(input: PublishSchemaInput, by: Publisher = {}): Promise<PublishResult> {
    if (!input || typeof input !== 'object')
      throw new HubError('validation', 'publish takes { name, version, schema }');
    const name = checkName(input.name, 'schema name');
    const version = checkVersion(input.version, 'schema version');
    const body = checkBody(input.schema, `schema ${name}@${version}`);
    // A version published without a description or mode keeps its name's latest ones.
    const before = await this.store.versions(name);
    const latestBefore = before[before.length - 1];
    const description = input.description ?? latestBefore?.description ?? '';
    if (typeof description !== 'string' || description.length > 4000)
      throw new HubError('validation', 'description must be a string of at most 4000 characters');
    if (by.module && input.owner != null && input.owner !== by.module)
      throw new HubError(
        'forbidden',
        `a token of module ${by.module} publishes schemas as ${by.module}, not ${input.owner}`,
      );
    const owner = by.module ?? input.owner ?? null;
    let report: CompatibilityReport | undefined;
    const result = await this.store.publish(
      {
        name,
        version,
        body,
        description,
        owner,
        compatibility: mode(input.compatibility ?? latestBefore?.compatibility ?? 'BACKWARD'),
      },
      (earlier) => {
        const latest = earlier[earlier.length - 1];
        if (latest?.owner && by.module && latest.owner !== by.module)
          throw new HubError(
            'forbidden',
            `schema ${name} is owned by module ${latest.owner}; ${by.module} cannot publish its versions`,
          );
        const m = mode(input.compatibility ?? latest?.compatibility ?? 'BACKWARD');
        report = checkCompatibility(
          m,
          earlier.map((s) => ({ version: s.version, schema: s.body })),
          body,
        );
        if (!report.compatible) throw refusal(name, version, report);
      },
    );
    return { ...result, report: report ?? checkCompatibility('NONE', [], body) };
  }

  /** `name@version`, or `name` for its latest. */
  get(ref: string): Promise<SchemaVersion> {
    const { name, version } = parseRef(ref);
    return this.store.get(name, version);
  }

  list(): Promise<SchemaSummary[]> {
    return this.store.list();
  }

  /** Every version of a name, oldest first (`not_found` when there is none). */
  async versions(name: string): Promise<SchemaVersion[]> {
    const versions = await this.store.versions(checkName(name, 'schema name'));
    if (!versions.length) await this.store.get(name);
    return versions;
  }

  /** Validates `value` against a published version (`name@version`, `name`) or an inline schema. */
  async validate(
    schema: string | Record<string, unknown> | boolean,
    value: unknown,
  ): Promise<ValidationResult & { schema: string }> {
    if (typeof schema === 'string') {
      const found = await this.get(schema);
      const ref = `${found.name}@${found.version}`;
      return { ...validateValue(found.body, value, `schema ${ref}`), schema: ref };
    }
    return { ...validateValue(checkBody(schema, 'schema'), value), schema: 'inline' };
  }

  /**
   * What publishing `input` would answer, without publishing: its compatibility report against the name's
   * versions in its mode (the latest, or every earlier one for a transitive mode).
   */
  async check(input: PublishSchemaInput): Promise<CompatibilityReport & { name: string; version: string }> {
    const name = checkName(input.name, 'schema name');
    const version = checkVersion(input.version, 'schema version');
    const body = checkBody(input.schema, `schema ${name}@${version}`);
    const earlier = await this.store.versions(name);
    const m =
      input.compatibility === undefined
        ? mode(earlier[earlier.length - 1]?.compatibility ?? 'BACKWARD')
        : mode(input.compatibility);
    const before = earlier.filter((s) => s.version !== version);
    return {
      ...checkCompatibility(
        m,
        before.map((s) => ({ version: s.version, schema: s.body })),
        body,
      ),
      name,
      version,
    };
  }

  /** TypeScript declarations for a version (`$ref`s inside the schema only; nothing is fetched). */
  async types(ref: string): Promise<string> {
    return typesFor(await this.get(ref));
  }
}

export type { CompatibilityReport, ValidationIssue, ValidationResult };
