/**
 * The `document` exchange format: a PDF's structure as an extractor hands it over, modelled on marker's JSON
 * output (a Document whose children are Pages, each a tree of typed blocks with ids `/page/{p}/{Type}/{n}`) so
 * that marker's output validates unchanged, plus the optional fields our own extractor adds (page, heading
 * level, font, table-cell geometry). Strict where consumers depend on it (id, block_type, children), open
 * elsewhere: marker adds fields between versions.
 */

/** Schema name under which this format is published. */
export const DOCUMENT_SCHEMA_NAME = 'document';
/** Version of the format this file describes. */
export const DOCUMENT_SCHEMA_VERSION = '1.0.0';
/** What the format is, for a schema listing and for an agent deciding whether it can produce it. */
export const DOCUMENT_SCHEMA_DESCRIPTION =
  "A PDF's structure as a tree of typed blocks, in the shape of marker's JSON output: a Document whose children " +
  'are Pages; every block has an id "/page/{p}/{Type}/{n}", a block_type, its html, polygon and bbox in PDF ' +
  'points, its children (null for a leaf) and the section headers above it (section_hierarchy: level → id). ' +
  'Optional: page (0-based), level of a SectionHeader, font, and rowspan/colspan/row_id/col_id/is_header of a ' +
  'TableCell. metadata may carry table_of_contents and page_stats.';

/** Every block type the format knows (marker's, as its JSON renderer emits them). */
export const BLOCK_TYPES = [
  'Page',
  'SectionHeader',
  'Text',
  'TextInlineMath',
  'ListGroup',
  'ListItem',
  'TableGroup',
  'Table',
  'TableCell',
  'FigureGroup',
  'Figure',
  'PictureGroup',
  'Picture',
  'Caption',
  'Equation',
  'Code',
  'Footnote',
  'PageHeader',
  'PageFooter',
  'TableOfContents',
  'Reference',
  'Form',
  'Handwriting',
  'ComplexRegion',
] as const;

export type BlockType = (typeof BLOCK_TYPES)[number];

/** A block id: `/page/{page}/{BlockType}/{n}`. */
export const BLOCK_ID_PATTERN = '^/page/[0-9]+/[A-Za-z]+/[0-9]+$';

/** Font information an extractor may attach to a block. */
export interface FontInfo {
  name?: string;
  size?: number;
  bold?: boolean;
  italic?: boolean;
  [extra: string]: unknown;
}

/** One block of the tree. */
export interface DocumentBlock {
  id: string;
  block_type: BlockType;
  html?: string;
  text?: string;
  /** Four corners `[x, y]`, in PDF points. */
  polygon?: number[][];
  /** `[x0, y0, x1, y1]`, in PDF points. */
  bbox?: number[];
  children: DocumentBlock[] | null;
  /** Heading level (as a string) → id of the SectionHeader above this block at that level. */
  section_hierarchy?: Record<string, string> | null;
  /** Image id → base64 data. */
  images?: Record<string, string> | null;
  /** 0-based page index. */
  page?: number;
  /** Heading level of a SectionHeader, 1 the highest. */
  level?: number;
  font?: FontInfo;
  rowspan?: number;
  colspan?: number;
  row_id?: number;
  col_id?: number;
  is_header?: boolean;
  [extra: string]: unknown;
}

/** An entry of marker's table of contents. */
export interface TocEntry {
  title: string;
  heading_level?: number | null;
  page_id: number;
  polygon?: number[][];
  [extra: string]: unknown;
}

export interface DocumentMetadata {
  table_of_contents?: TocEntry[];
  page_stats?: Record<string, unknown>[];
  [extra: string]: unknown;
}

/** The whole document: its children are the pages. */
export interface PdfDocument {
  block_type: 'Document';
  children: DocumentBlock[];
  metadata?: DocumentMetadata;
  [extra: string]: unknown;
}

const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } as const;

/** The `document` format as JSON Schema 2020-12 (strict-mode clean under Ajv). */
export const DOCUMENT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: DOCUMENT_SCHEMA_NAME,
  description: DOCUMENT_SCHEMA_DESCRIPTION,
  type: 'object',
  required: ['block_type', 'children'],
  properties: {
    block_type: { const: 'Document' },
    children: { type: 'array', items: { $ref: '#/$defs/page' } },
    metadata: { $ref: '#/$defs/metadata' },
  },
  additionalProperties: true,
  $defs: {
    blockId: { type: 'string', pattern: BLOCK_ID_PATTERN },
    polygon: { type: 'array', items: point, minItems: 4, maxItems: 4 },
    bbox: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 },
    block: {
      type: 'object',
      required: ['id', 'block_type', 'children'],
      properties: {
        id: { $ref: '#/$defs/blockId' },
        block_type: { enum: BLOCK_TYPES },
        html: { type: 'string' },
        text: { type: 'string' },
        polygon: { $ref: '#/$defs/polygon' },
        bbox: { $ref: '#/$defs/bbox' },
        children: { type: ['array', 'null'], items: { $ref: '#/$defs/block' } },
        section_hierarchy: {
          type: ['object', 'null'],
          propertyNames: { pattern: '^[0-9]+$' },
          additionalProperties: { $ref: '#/$defs/blockId' },
        },
        images: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
        page: { type: 'integer', minimum: 0 },
        level: { type: 'integer', minimum: 1, maximum: 6 },
        font: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            size: { type: 'number', exclusiveMinimum: 0 },
            bold: { type: 'boolean' },
            italic: { type: 'boolean' },
          },
          additionalProperties: true,
        },
        rowspan: { type: 'integer', minimum: 1 },
        colspan: { type: 'integer', minimum: 1 },
        row_id: { type: 'integer', minimum: 0 },
        col_id: { type: 'integer', minimum: 0 },
        is_header: { type: 'boolean' },
      },
      additionalProperties: true,
    },
    page: {
      $ref: '#/$defs/block',
      type: 'object',
      properties: { block_type: { const: 'Page' }, children: { type: 'array' } },
    },
    metadata: {
      type: 'object',
      properties: {
        table_of_contents: {
          type: 'array',
          items: {
            type: 'object',
            required: ['title', 'page_id'],
            properties: {
              title: { type: 'string' },
              heading_level: { type: ['integer', 'null'], minimum: 1 },
              page_id: { type: 'integer', minimum: 0 },
              polygon: { $ref: '#/$defs/polygon' },
            },
            additionalProperties: true,
          },
        },
        page_stats: { type: 'array', items: { type: 'object' } },
      },
      additionalProperties: true,
    },
  },
} as const;
