/**
 * The schemas and query templates that come with claude-comms, published by the migration that made their tables
 * (store/exchange-schema.ts), owned by no module: the PDF formats (exchange/pdf/) and the answer formats of the
 * standard questions modules ask each other.
 */
import { DOCUMENT_SCHEMA, PDF_REQUIREMENTS_SCHEMA } from './pdf/index.js';
import type { QueryTemplate } from './templates.js';
import { WORKFLOW_SCHEMA, WORKFLOW_SCHEMA_1_0 } from './workflow-schema.js';

export interface BundledSchema {
  name: string;
  version: string;
  description: string;
  compatibility: string;
  body: Record<string, unknown>;
}

const S = 'https://json-schema.org/draft/2020-12/schema';

const FIELD_REQUIREMENTS = {
  $schema: S,
  type: 'object',
  required: ['fields'],
  properties: {
    fields: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type', 'required'],
        properties: {
          name: { type: 'string', minLength: 1 },
          type: { type: 'string', minLength: 1, description: 'a JSON type, or a schema name@version' },
          required: { type: 'boolean' },
          description: { type: 'string' },
          example: {},
        },
        additionalProperties: false,
      },
    },
    notes: { type: 'string' },
  },
  additionalProperties: false,
};

const COMPATIBILITY_REPORT = {
  $schema: S,
  type: 'object',
  required: ['compatible', 'problems'],
  properties: {
    compatible: { type: 'boolean' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'problem'],
        properties: { path: { type: 'string' }, problem: { type: 'string' }, fix: { type: 'string' } },
        additionalProperties: false,
      },
    },
    notes: { type: 'string' },
  },
  additionalProperties: false,
};

const TRANSFORMATION_PLAN = {
  $schema: S,
  type: 'object',
  required: ['steps'],
  properties: {
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['op', 'description'],
        properties: {
          op: { enum: ['rename', 'drop', 'derive', 'nest', 'flatten', 'convert', 'default'] },
          from: { type: 'string' },
          to: { type: 'string' },
          description: { type: 'string', minLength: 1 },
        },
        additionalProperties: false,
      },
    },
    lossy: { type: 'boolean' },
  },
  additionalProperties: false,
};

const VALIDATION_REPORT = {
  $schema: S,
  type: 'object',
  required: ['valid', 'issues'],
  properties: {
    valid: { type: 'boolean' },
    issues: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' }, suggestion: { type: 'string' } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};

const EXAMPLES = {
  $schema: S,
  type: 'object',
  required: ['examples'],
  properties: { examples: { type: 'array', minItems: 1 }, notes: { type: 'string' } },
  additionalProperties: false,
};

export const BUNDLED_SCHEMAS: BundledSchema[] = [
  {
    name: 'pdf-requirements',
    version: '1.0.0',
    description:
      'What a consumer needs from a structured PDF document: metadata, content structure, embedding, rules and target layout',
    compatibility: 'BACKWARD',
    body: PDF_REQUIREMENTS_SCHEMA as Record<string, unknown>,
  },
  {
    name: 'document',
    version: '1.0.0',
    description:
      "A structured document as a PDF extractor produces it (a tree of blocks, modelled on marker's JSON output)",
    compatibility: 'BACKWARD',
    body: DOCUMENT_SCHEMA as Record<string, unknown>,
  },
  {
    name: 'workflow',
    version: '1.0.0',
    description: 'A workflow definition: a DAG of ask, validate, convert and command steps (docs/workflows.md)',
    compatibility: 'BACKWARD',
    body: WORKFLOW_SCHEMA_1_0 as unknown as Record<string, unknown>,
  },
  {
    name: 'workflow',
    version: '1.1.0',
    description:
      'A workflow definition: a DAG of ask, validate, convert, command and approve steps, with conditions and forEach (docs/workflows.md)',
    compatibility: 'BACKWARD',
    body: WORKFLOW_SCHEMA as unknown as Record<string, unknown>,
  },
  {
    name: 'field-requirements',
    version: '1.0.0',
    description: 'The fields a module needs of a format: name, type, whether required',
    compatibility: 'BACKWARD',
    body: FIELD_REQUIREMENTS,
  },
  {
    name: 'compatibility-report',
    version: '1.0.0',
    description: 'Whether a module can consume a format, and the problems if not',
    compatibility: 'BACKWARD',
    body: COMPATIBILITY_REPORT,
  },
  {
    name: 'transformation-plan',
    version: '1.0.0',
    description: 'The steps that turn one format into another',
    compatibility: 'BACKWARD',
    body: TRANSFORMATION_PLAN,
  },
  {
    name: 'validation-report',
    version: '1.0.0',
    description: "A module's verdict on a value: valid, or its issues",
    compatibility: 'BACKWARD',
    body: VALIDATION_REPORT,
  },
  {
    name: 'examples',
    version: '1.0.0',
    description: 'Example values of a format',
    compatibility: 'BACKWARD',
    body: EXAMPLES,
  },
];

type BundledTemplate = Omit<QueryTemplate, 'owner' | 'createdAt'>;
const text = (description: string) => ({ type: 'string', minLength: 1, description });

export const BUNDLED_TEMPLATES: BundledTemplate[] = [
  {
    name: 'pdf-structure',
    version: '1.0.0',
    description: 'Ask a consumer of PDF documents what structure it needs (answered in pdf-requirements@1.0.0)',
    params: {
      type: 'object',
      properties: { purpose: text('what the documents are for'), documentKind: text('the kind of PDFs, e.g. papers') },
      additionalProperties: false,
    },
    prompt: [
      'What structure do you need from PDF documents converted for you?',
      'They are for: {{ purpose }}',
      'The documents are: {{ documentKind }}',
      'Describe the metadata fields you need (which are required, their types), the content structure (sections and heading levels, text blocks, lists, tables, figures, equations, pages and bounding boxes), embeddings, the validation rules, and your target layout: collections, edge kinds and how keys are formed.',
    ].join('\n'),
    answerSchema: 'pdf-requirements@1.0.0',
  },
  {
    name: 'field-requirements',
    version: '1.0.0',
    description: 'Ask which fields of a format a module needs',
    params: {
      type: 'object',
      properties: { format: text('the format, e.g. a schema name@version'), use: text('what the fields are used for') },
      required: ['format'],
      additionalProperties: false,
    },
    prompt:
      'Which fields of {{ format }} do you need, with their types and whether each is required?\nThey are used for: {{ use }}',
    answerSchema: 'field-requirements@1.0.0',
  },
  {
    name: 'compatibility-check',
    version: '1.0.0',
    description: 'Ask whether a module can consume a format',
    params: {
      type: 'object',
      properties: {
        format: text('the format offered, e.g. document@1.0.0'),
        sample: { description: 'an example value' },
      },
      required: ['format'],
      additionalProperties: false,
    },
    prompt:
      'Can you consume values in the format {{ format }}? List every problem you would have with it.\nAn example value: {{ sample }}',
    answerSchema: 'compatibility-report@1.0.0',
  },
  {
    name: 'transformation',
    version: '1.0.0',
    description: 'Ask for the steps that turn one format into another',
    params: {
      type: 'object',
      properties: { from: text('the format given'), to: text('the format wanted') },
      required: ['from', 'to'],
      additionalProperties: false,
    },
    prompt: 'Which steps turn a value in the format {{ from }} into the format {{ to }}? Say whether anything is lost.',
    answerSchema: 'transformation-plan@1.0.0',
  },
  {
    name: 'validation',
    version: '1.0.0',
    description: 'Ask a module to check a value against what it expects',
    params: {
      type: 'object',
      properties: { value: { description: 'the value to check' }, format: text('the format it should be in') },
      required: ['value'],
      additionalProperties: false,
    },
    prompt:
      'Check this value against what you expect and report every problem:\n{{ value }}\nIt should be in the format {{ format }}.',
    answerSchema: 'validation-report@1.0.0',
  },
  {
    name: 'example-generation',
    version: '1.0.0',
    description: 'Ask for example values of a format',
    params: {
      type: 'object',
      properties: {
        format: text('the format, e.g. a schema name@version'),
        count: { type: 'integer', minimum: 1, maximum: 20, description: 'how many examples' },
      },
      required: ['format'],
      additionalProperties: false,
    },
    prompt: 'Give example values in the format {{ format }}.\nHow many: {{ count }}',
    answerSchema: 'examples@1.0.0',
  },
];
