/**
 * The exchange routes' requests and answers (schemas, templates, validation), as zod schemas for the OpenAPI
 * document; the answers are checked against their domain types like the rest (see responses.ts).
 */
import { z } from '@hono/zod-openapi';
import type { CompatibilityReport as CompatibilityReportRecord } from '../exchange/compat.js';
import { COMPATIBILITY_MODES } from '../exchange/compat.js';
import type {
  SchemaSummary as SchemaSummaryRecord,
  SchemaVersion as SchemaVersionRecord,
} from '../registry/schema-registry.js';
import type { TemplateVersion as TemplateVersionRecord } from '../registry/template-registry.js';
import { answers } from './responses.js';
import { ValidationIssue } from './validation-schemas.js';

const jsonSchema = z
  .union([z.record(z.string(), z.unknown()), z.boolean()])
  .openapi({ description: 'a JSON Schema (2020-12)' });
const mode = z.enum(COMPATIBILITY_MODES);
const name = z.string().max(100).openapi({ example: 'pdf-requirements' });
const version = z.string().max(100).openapi({ example: '1.0.0' });

export const PublishSchemaBody = z
  .object({
    name,
    version,
    schema: jsonSchema,
    description: z.string().max(4000).optional(),
    compatibility: mode.optional().openapi({ description: "default: the name's latest version's, or BACKWARD" }),
    owner: z
      .string()
      .max(64)
      .nullable()
      .optional()
      .openapi({ description: 'the owning module (a module token publishes as its module)' }),
  })
  .strict()
  .openapi('PublishSchema');

export const SchemaParams = z.object({
  name: name.openapi({ param: { name: 'name', in: 'path' } }),
  version: version.openapi({ param: { name: 'version', in: 'path' }, description: 'a version, or `latest`' }),
});
export const NameParam = z.object({ name: name.openapi({ param: { name: 'name', in: 'path' } }) });
export const ValidateBody = z.object({ value: z.unknown() }).strict().openapi('ValidateBody');

export const SchemaVersion = answers<SchemaVersionRecord>()(
  z
    .object({
      name: z.string(),
      version: z.string(),
      body: jsonSchema,
      description: z.string(),
      owner: z.string().nullable(),
      compatibility: z.string(),
      hash: z.string(),
      createdAt: z.string(),
    })
    .openapi('SchemaVersion'),
);
export const SchemaSummary = answers<SchemaSummaryRecord>()(
  z
    .object({
      name: z.string(),
      latest: z.string(),
      versions: z.array(z.string()),
      description: z.string(),
      owner: z.string().nullable(),
      compatibility: z.string(),
      updatedAt: z.string(),
    })
    .openapi('SchemaSummary'),
);
export const SchemaList = z.object({ schemas: z.array(SchemaSummary) });
export const SchemaVersions = z.object({ name: z.string(), versions: z.array(SchemaVersion) });

const change = z.object({
  path: z.string(),
  direction: z.enum(['no_longer_accepted', 'newly_accepted']),
  description: z.string(),
});
export const CompatibilityReport = answers<CompatibilityReportRecord>()(
  z
    .object({
      compatible: z.boolean(),
      mode,
      against: z.array(z.string()),
      breaking: z.array(change),
      undecided: z.array(z.object({ path: z.string(), keyword: z.string(), reason: z.string() })),
      changes: z.array(change),
    })
    .openapi('CompatibilityReport'),
);
export const PublishResult = z
  .object({ schema: SchemaVersion, created: z.boolean(), report: CompatibilityReport })
  .openapi('PublishResult');
export const CheckResult = CompatibilityReport.and(z.object({ name: z.string(), version: z.string() }));

export const ValidationResult = z
  .object({ valid: z.boolean(), schema: z.string(), issues: z.array(ValidationIssue) })
  .openapi('ValidationResult');

const params = z
  .object({
    type: z.literal('object'),
    properties: z.record(z.string(), z.record(z.string(), z.unknown())),
    required: z.array(z.string()).optional(),
  })
  .catchall(z.unknown());
export const TemplateVersion = answers<TemplateVersionRecord>()(
  z
    .object({
      name: z.string(),
      version: z.string(),
      description: z.string(),
      params,
      prompt: z.string(),
      answerSchema: z.string(),
      owner: z.string().nullable(),
      createdAt: z.string(),
    })
    .openapi('QueryTemplate'),
);
export const TemplateList = z.object({
  templates: z.array(TemplateVersion.and(z.object({ versions: z.array(z.string()) }))),
});
export const PublishTemplateBody = z
  .object({
    name,
    version,
    description: z.string().max(4000).optional(),
    params,
    prompt: z.string().max(100_000),
    answerSchema: z.string().max(200),
    owner: z.string().max(64).nullable().optional(),
  })
  .strict()
  .openapi('PublishTemplate');
export const RenderBody = z.object({ params: z.record(z.string(), z.unknown()).optional() }).strict();
export const Rendered = z.object({ prompt: z.string(), answerSchema: z.string(), template: z.string() });
