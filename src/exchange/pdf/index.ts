/**
 * PDF exchange formats: the `document` an extractor produces, the `pdf-requirements` a consumer states, checking
 * one against the other, and converting a document into the collections and edges the consumer asked for.
 */
export { type Conversion, type ConversionReport, convertToRequiredFormat, type Edge } from './convert.js';
export {
  BLOCK_ID_PATTERN,
  BLOCK_TYPES,
  type BlockType,
  DOCUMENT_SCHEMA,
  DOCUMENT_SCHEMA_DESCRIPTION,
  DOCUMENT_SCHEMA_NAME,
  DOCUMENT_SCHEMA_VERSION,
  type DocumentBlock,
  type DocumentMetadata,
  type FontInfo,
  type PdfDocument,
  type TocEntry,
} from './document-schema.js';
export { syntheticDocument } from './generate.js';
export {
  type CollectionSpec,
  type ContentPart,
  type ContentSpec,
  DEFAULT_KEY_PATTERN,
  type EdgeKind,
  type EdgeSpec,
  type EmbeddingSpec,
  EXAMPLE_REQUIREMENTS,
  type Hierarchy,
  type KeyStrategy,
  type MetadataFieldSpec,
  type MetadataSource,
  type MetadataType,
  PDF_REQUIREMENTS_SCHEMA,
  PDF_REQUIREMENTS_SCHEMA_DESCRIPTION,
  PDF_REQUIREMENTS_SCHEMA_NAME,
  PDF_REQUIREMENTS_SCHEMA_VERSION,
  type PdfRequirements,
  type TargetSpec,
  type ValidationSpec,
} from './requirements-schema.js';
export { validatePdfFormat } from './validate-format.js';
