/**
 * The `pdf-requirements` exchange format: what a consumer of extracted PDFs (a graph import into ArangoDB, say)
 * needs from a `document` — which metadata, which kinds of content and in what form, what to embed, which rules
 * the data must pass, and the collections, edges and keys to produce. Conversion and validation are driven by it.
 */
import { BLOCK_TYPES, type BlockType } from './document-schema.js';

/** Schema name under which this format is published. */
export const PDF_REQUIREMENTS_SCHEMA_NAME = 'pdf-requirements';
/** Version of the format this file describes. */
export const PDF_REQUIREMENTS_SCHEMA_VERSION = '1.0.0';
/** What the format is, for a schema listing and for an agent answering with it. */
export const PDF_REQUIREMENTS_SCHEMA_DESCRIPTION =
  'What a consumer needs from an extracted PDF (a `document`): metadata fields (name, type, required, source), ' +
  'content (sections with heading depth and hierarchy form, text, lists, tables, figures, equations, page spans, ' +
  'bounding boxes: each wanted/required with options), an embedding spec, validation rules (key pattern, ' +
  'required fields, cross-references) and the target layout (collections, block types per collection, field ' +
  'renames, edge collections by kind, key strategy).';

/** ArangoDB's `_key`: 1–254 characters from this set. */
export const DEFAULT_KEY_PATTERN = "^[A-Za-z0-9_\\-:.@()+,=;$!*'%]{1,254}$";

export const METADATA_TYPES = ['string', 'number', 'integer', 'boolean', 'date', 'string[]'] as const;
/** Where a metadata field comes from: the document's metadata, or derived from its content. */
export const METADATA_SOURCES = ['metadata', 'caller', 'first-heading', 'page-count', 'toc'] as const;
export const HIERARCHIES = ['nested', 'flat-with-parent', 'path'] as const;
export const EDGE_KINDS = ['has_section', 'has_block', 'next', 'parent_of'] as const;
export const COLLECTION_ROLES = ['documents', 'sections', 'blocks'] as const;
export const KEY_STRATEGIES = ['hash', 'slug', 'path'] as const;

export type MetadataType = (typeof METADATA_TYPES)[number];
export type MetadataSource = (typeof METADATA_SOURCES)[number];
export type Hierarchy = (typeof HIERARCHIES)[number];
export type EdgeKind = (typeof EDGE_KINDS)[number];
export type CollectionRole = (typeof COLLECTION_ROLES)[number];
export type KeyStrategy = (typeof KEY_STRATEGIES)[number];

export interface MetadataFieldSpec {
  /** The field's name in the documents collection (before renames). */
  name: string;
  type: MetadataType;
  required: boolean;
  /** Where to find it; `metadata` (the default) and `caller` read `document.metadata[key ?? name]`. */
  source?: MetadataSource;
  /** The document metadata key to read, when it differs from `name`. */
  key?: string;
  description?: string;
}

/** One kind of content: wanted (kept by conversion) and required (its absence is a validation issue). */
export interface ContentPart {
  wanted?: boolean;
  required?: boolean;
}

export interface ContentSpec {
  sections?: ContentPart & { maxHeadingLevel?: number; hierarchy?: Hierarchy };
  text?: ContentPart & { keepHtml?: boolean };
  lists?: ContentPart & { items?: boolean };
  tables?: ContentPart & { cells?: boolean; spans?: boolean; headerFlags?: boolean; captions?: boolean };
  figures?: ContentPart & { captions?: boolean; images?: 'none' | 'reference' | 'inline' };
  equations?: ContentPart & { format?: 'latex' | 'html' };
  pageSpans?: ContentPart;
  boundingBoxes?: ContentPart & { form?: 'bbox' | 'polygon' | 'both' };
}

export interface EmbeddingSpec {
  wanted?: boolean;
  /** Fields of the produced records whose text is embedded. */
  fields: string[];
  model: string;
  dimensions: number;
  chunking?: { strategy: 'block' | 'section' | 'tokens'; maxTokens: number; overlap?: number };
}

export interface ValidationSpec {
  keyPattern?: string;
  /** Fields every record of a collection must carry, by role, named as stored (after renames). */
  requiredFields?: Partial<Record<CollectionRole, string[]>>;
  crossReferences?: { parentsExist?: boolean; pagesInRange?: boolean; keysUnique?: boolean };
}

export interface CollectionSpec {
  name: string;
  /** Field renames `{ from: to }`, applied to every record of the collection. */
  rename?: Record<string, string>;
}

export interface EdgeSpec {
  kind: EdgeKind;
  collection: string;
  from: CollectionRole;
  to: CollectionRole;
}

export interface TargetSpec {
  collections: {
    documents: CollectionSpec;
    sections: CollectionSpec;
    blocks: CollectionSpec & { blockTypes: BlockType[] };
  };
  edges: EdgeSpec[];
  keys: { strategy: KeyStrategy; prefix?: string; documentKeyFrom?: string[] };
}

/** What a consumer needs from a document. */
export interface PdfRequirements {
  consumer: string;
  description?: string;
  metadata: { fields: MetadataFieldSpec[] };
  content: ContentSpec;
  embedding?: EmbeddingSpec;
  validation?: ValidationSpec;
  target: TargetSpec;
}

const collectionName = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,254}$' } as const;
const fieldName = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' } as const;
const role = { enum: COLLECTION_ROLES } as const;
const edgeShape = (kind: EdgeKind, from: CollectionRole[], to: CollectionRole[]) => ({
  if: { properties: { kind: { const: kind } } },
  // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, not a promise
  then: { properties: { from: { enum: from }, to: { enum: to } } },
});

/** A content part's schema: `wanted` and `required` (required implies wanted) plus its options. */
function part(options: Record<string, object> = {}) {
  return {
    type: 'object',
    properties: {
      wanted: { type: 'boolean', default: true },
      required: { type: 'boolean', default: false },
      ...options,
    },
    additionalProperties: false,
    not: { required: ['wanted', 'required'], properties: { wanted: { const: false }, required: { const: true } } },
  } as const;
}

const collection = (extra: Record<string, object> = {}, required: string[] = ['name']) =>
  ({
    type: 'object',
    required,
    properties: {
      name: collectionName,
      rename: { type: 'object', propertyNames: fieldName, additionalProperties: fieldName },
      ...extra,
    },
    additionalProperties: false,
  }) as const;

/** The `pdf-requirements` format as JSON Schema 2020-12 (strict-mode clean under Ajv). */
export const PDF_REQUIREMENTS_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: PDF_REQUIREMENTS_SCHEMA_NAME,
  description: PDF_REQUIREMENTS_SCHEMA_DESCRIPTION,
  type: 'object',
  required: ['consumer', 'metadata', 'content', 'target'],
  properties: {
    consumer: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    metadata: {
      type: 'object',
      required: ['fields'],
      properties: {
        fields: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'type', 'required'],
            properties: {
              name: fieldName,
              type: { enum: METADATA_TYPES },
              required: { type: 'boolean' },
              source: { enum: METADATA_SOURCES, default: 'metadata' },
              key: { type: 'string', minLength: 1 },
              description: { type: 'string' },
            },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
    content: {
      type: 'object',
      properties: {
        sections: part({
          maxHeadingLevel: { type: 'integer', minimum: 1, maximum: 6, default: 6 },
          hierarchy: { enum: HIERARCHIES, default: 'flat-with-parent' },
        }),
        text: part({ keepHtml: { type: 'boolean', default: false } }),
        lists: part({ items: { type: 'boolean', default: true } }),
        tables: part({
          cells: { type: 'boolean', default: true },
          spans: { type: 'boolean', default: true },
          headerFlags: { type: 'boolean', default: true },
          captions: { type: 'boolean', default: true },
        }),
        figures: part({
          captions: { type: 'boolean', default: true },
          images: { enum: ['none', 'reference', 'inline'], default: 'reference' },
        }),
        equations: part({ format: { enum: ['latex', 'html'], default: 'latex' } }),
        pageSpans: part(),
        boundingBoxes: part({ form: { enum: ['bbox', 'polygon', 'both'], default: 'bbox' } }),
      },
      additionalProperties: false,
    },
    embedding: {
      type: 'object',
      required: ['fields', 'model', 'dimensions'],
      properties: {
        wanted: { type: 'boolean', default: true },
        fields: { type: 'array', items: fieldName, minItems: 1 },
        model: { type: 'string', minLength: 1 },
        dimensions: { type: 'integer', minimum: 1 },
        chunking: {
          type: 'object',
          required: ['strategy', 'maxTokens'],
          properties: {
            strategy: { enum: ['block', 'section', 'tokens'] },
            maxTokens: { type: 'integer', minimum: 1 },
            overlap: { type: 'integer', minimum: 0, default: 0 },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
    validation: {
      type: 'object',
      properties: {
        keyPattern: { type: 'string', format: 'regex', default: DEFAULT_KEY_PATTERN },
        requiredFields: {
          type: 'object',
          properties: Object.fromEntries(COLLECTION_ROLES.map((r) => [r, { type: 'array', items: fieldName }])),
          additionalProperties: false,
        },
        crossReferences: {
          type: 'object',
          properties: {
            parentsExist: { type: 'boolean', default: true },
            pagesInRange: { type: 'boolean', default: true },
            keysUnique: { type: 'boolean', default: true },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
    target: {
      type: 'object',
      required: ['collections', 'edges', 'keys'],
      properties: {
        collections: {
          type: 'object',
          required: [...COLLECTION_ROLES],
          properties: {
            documents: collection(),
            sections: collection(),
            blocks: collection({ blockTypes: { type: 'array', items: { enum: BLOCK_TYPES }, uniqueItems: true } }, [
              'name',
              'blockTypes',
            ]),
          },
          additionalProperties: false,
        },
        edges: {
          type: 'array',
          items: {
            type: 'object',
            required: ['kind', 'collection', 'from', 'to'],
            properties: { kind: { enum: EDGE_KINDS }, collection: collectionName, from: role, to: role },
            additionalProperties: false,
            allOf: [
              edgeShape('has_section', ['documents'], ['sections']),
              edgeShape('has_block', ['documents', 'sections'], ['blocks']),
              edgeShape('next', ['blocks', 'sections'], ['blocks', 'sections']),
              edgeShape('parent_of', ['sections'], ['sections']),
              {
                not: { properties: { kind: { const: 'next' }, from: { const: 'blocks' }, to: { const: 'sections' } } },
              },
              {
                not: { properties: { kind: { const: 'next' }, from: { const: 'sections' }, to: { const: 'blocks' } } },
              },
            ],
          },
        },
        keys: {
          type: 'object',
          required: ['strategy'],
          properties: {
            strategy: { enum: KEY_STRATEGIES },
            prefix: { type: 'string', pattern: "^[A-Za-z0-9_\\-:.@()+,=;$!*'%]{0,64}$" },
            documentKeyFrom: { type: 'array', items: fieldName },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

/** What an ArangoDB graph import would answer: a worked example that validates. */
export const EXAMPLE_REQUIREMENTS: PdfRequirements = {
  consumer: 'arangodb',
  description: 'Graph import: one record per PDF, its sections and content blocks, linked by edges; searched by text.',
  metadata: {
    fields: [
      { name: 'title', type: 'string', required: true, source: 'first-heading' },
      { name: 'pageCount', type: 'integer', required: true, source: 'page-count' },
      { name: 'authors', type: 'string[]', required: false, source: 'metadata' },
      { name: 'published', type: 'date', required: false, source: 'metadata' },
      { name: 'sourceFile', type: 'string', required: false, source: 'caller', key: 'filename' },
    ],
  },
  content: {
    sections: { wanted: true, required: true, maxHeadingLevel: 3, hierarchy: 'flat-with-parent' },
    text: { wanted: true, required: true, keepHtml: false },
    lists: { wanted: true, required: false, items: true },
    tables: { wanted: true, required: false, cells: true, spans: true, headerFlags: true },
    figures: { wanted: true, required: false, captions: true, images: 'reference' },
    equations: { wanted: true, required: false, format: 'latex' },
    pageSpans: { wanted: true, required: true },
    boundingBoxes: { wanted: true, required: false, form: 'bbox' },
  },
  embedding: {
    wanted: true,
    fields: ['text'],
    model: 'text-embedding-3-small',
    dimensions: 1536,
    chunking: { strategy: 'section', maxTokens: 512, overlap: 64 },
  },
  validation: {
    keyPattern: DEFAULT_KEY_PATTERN,
    requiredFields: { documents: ['title', 'pageCount'], sections: ['heading', 'level'], blocks: ['text', 'page'] },
    crossReferences: { parentsExist: true, pagesInRange: true, keysUnique: true },
  },
  target: {
    collections: {
      documents: { name: 'pdf_documents' },
      sections: { name: 'pdf_sections', rename: { title: 'heading' } },
      blocks: {
        name: 'pdf_blocks',
        blockTypes: [
          'Text',
          'TextInlineMath',
          'ListGroup',
          'Table',
          'Figure',
          'Picture',
          'Caption',
          'Equation',
          'Code',
          'Footnote',
        ],
        rename: { type: 'kind' },
      },
    },
    edges: [
      { kind: 'has_section', collection: 'pdf_has_section', from: 'documents', to: 'sections' },
      { kind: 'has_block', collection: 'pdf_has_block', from: 'sections', to: 'blocks' },
      { kind: 'next', collection: 'pdf_next', from: 'blocks', to: 'blocks' },
      { kind: 'parent_of', collection: 'pdf_parent_of', from: 'sections', to: 'sections' },
    ],
    keys: { strategy: 'path', prefix: '', documentKeyFrom: ['sourceFile', 'title'] },
  },
};
