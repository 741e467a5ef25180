/**
 * The metadata fields a requirement names, found in the document: read from `metadata` or derived from the
 * content (the first heading as a title, the page count, the table of contents), each with the JSON pointer of
 * where it came from so that an issue can point at it.
 */
import type { DocumentBlock, PdfDocument } from './document-schema.js';
import { textOf } from './html.js';
import type { Plan } from './plan.js';
import type { MetadataFieldSpec, MetadataType } from './requirements-schema.js';
import { isObject, pagesOf } from './walk.js';

export interface ResolvedField {
  spec: MetadataFieldSpec;
  /** The value found or derived; undefined when there is none. */
  value: unknown;
  /** Where the value is (or, when absent, where it was looked for). */
  pointer: string;
  /** True when the value was derived from the content rather than read from `metadata`. */
  derived: boolean;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The first SectionHeader in reading order: its text and pointer. */
export function firstHeading(document: PdfDocument): { text: string; pointer: string } | undefined {
  const search = (blocks: unknown[], pointer: string): { text: string; pointer: string } | undefined => {
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i];
      if (!isObject(block)) continue;
      const at = `${pointer}/${i}`;
      if (block.block_type === 'SectionHeader') {
        const text = textOf(block as DocumentBlock);
        if (text) return { text, pointer: at };
      }
      if (Array.isArray(block.children)) {
        const found = search(block.children, `${at}/children`);
        if (found) return found;
      }
    }
    return undefined;
  };
  return search(pagesOf(document), '/children');
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Whether `value` is of the metadata type (a `date` is an ISO 8601 date or date-time string). */
export function hasMetadataType(type: MetadataType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value));
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}

/** Each metadata field of the plan, read from `metadata`, or derived as its source says when absent there. */
export function resolveMetadata(document: PdfDocument, plan: Plan): ResolvedField[] {
  const metadata = isObject(document) && isObject(document.metadata) ? document.metadata : {};
  let heading: { text: string; pointer: string } | undefined | null = null;
  return plan.metadataFields.map((spec) => {
    const key = spec.key ?? spec.name;
    const pointer = `/metadata/${escapePointer(key)}`;
    const given = metadata[key];
    if (given !== undefined && given !== null) return { spec, value: given, pointer, derived: false };
    switch (spec.source) {
      case 'first-heading': {
        if (heading === null) heading = firstHeading(document);
        return heading
          ? { spec, value: heading.text, pointer: heading.pointer, derived: true }
          : { spec, value: undefined, pointer, derived: false };
      }
      case 'page-count':
        return { spec, value: pagesOf(document).length, pointer: '/children', derived: true };
      case 'toc': {
        const toc = metadata.table_of_contents;
        if (!Array.isArray(toc)) return { spec, value: undefined, pointer, derived: false };
        const titles = toc.map((entry) => (isObject(entry) ? entry.title : undefined));
        return { spec, value: titles, pointer: '/metadata/table_of_contents', derived: true };
      }
      default:
        return { spec, value: undefined, pointer, derived: false };
    }
  });
}
