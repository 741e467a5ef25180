/**
 * Requirements made ready to act on: checked against their schema, every default filled in, the key pattern
 * compiled, and the decision of what becomes of each block type (a section, a block, or dropped). Validation and
 * conversion both read this one plan, so they cannot disagree on which blocks get keys.
 */
import { HubError } from '../../domain/errors.js';
import { type SafePattern, safePattern } from '../safe-regex.js';
import { formatIssues, validateValue } from '../validator.js';
import type { BlockType } from './document-schema.js';
import {
  type CollectionRole,
  DEFAULT_KEY_PATTERN,
  type EdgeSpec,
  type EmbeddingSpec,
  type Hierarchy,
  type KeyStrategy,
  type MetadataFieldSpec,
  PDF_REQUIREMENTS_SCHEMA,
  type PdfRequirements,
} from './requirements-schema.js';

/** The content kinds a requirement can ask for by block type. */
export type ContentKind = 'sections' | 'text' | 'lists' | 'tables' | 'figures' | 'equations';

/** Which content kind each block type belongs to; types absent here (page furniture, forms…) go by layout alone. */
export const CONTENT_KIND: Partial<Record<BlockType, ContentKind>> = {
  SectionHeader: 'sections',
  Text: 'text',
  TextInlineMath: 'text',
  Code: 'text',
  Footnote: 'text',
  ListGroup: 'lists',
  ListItem: 'lists',
  TableGroup: 'tables',
  Table: 'tables',
  TableCell: 'tables',
  FigureGroup: 'figures',
  Figure: 'figures',
  PictureGroup: 'figures',
  Picture: 'figures',
  Caption: 'figures',
  Equation: 'equations',
};

/** Types that only hold other blocks: walked through, never stored themselves. */
export const CONTAINER_TYPES: ReadonlySet<string> = new Set(['Page', 'TableGroup', 'FigureGroup', 'PictureGroup']);

/** A content part with its defaults applied. */
export interface Part {
  wanted: boolean;
  required: boolean;
}

/** Requirements with every default applied. */
export interface Plan {
  requirements: PdfRequirements;
  metadataFields: MetadataFieldSpec[];
  sections: Part & { maxHeadingLevel: number; hierarchy: Hierarchy };
  text: Part & { keepHtml: boolean };
  lists: Part & { items: boolean };
  tables: Part & { cells: boolean; spans: boolean; headerFlags: boolean; captions: boolean };
  figures: Part & { captions: boolean; images: 'none' | 'reference' | 'inline' };
  equations: Part & { format: 'latex' | 'html' };
  pageSpans: Part;
  boundingBoxes: Part & { form: 'bbox' | 'polygon' | 'both' };
  embedding: EmbeddingSpec | undefined;
  keyPattern: SafePattern;
  requiredFields: Record<CollectionRole, string[]>;
  crossReferences: { parentsExist: boolean; pagesInRange: boolean; keysUnique: boolean };
  collectionNames: Record<CollectionRole, string>;
  renames: Record<CollectionRole, Record<string, string>>;
  blockTypes: ReadonlySet<string>;
  edges: EdgeSpec[];
  keys: { strategy: KeyStrategy; prefix: string; documentKeyFrom: string[] };
}

function part<T extends object>(
  given: (Partial<Part> & Partial<T>) | undefined,
  defaults: NoInfer<Omit<T, keyof Part>>,
): Part & T {
  return { ...defaults, wanted: true, required: false, ...given } as Part & T;
}

/**
 * The plan for `requirements`; requirements that fail their schema, or whose key pattern does not compile, are a
 * `validation` error listing every issue.
 */
export function planFor(requirements: PdfRequirements): Plan {
  const checked = validateValue(PDF_REQUIREMENTS_SCHEMA, requirements, 'pdf-requirements');
  if (!checked.valid)
    throw new HubError(
      'validation',
      `The requirements are not valid pdf-requirements:\n${formatIssues(checked.issues)}`,
      {
        details: { issues: checked.issues },
      },
    );
  const { content, target } = requirements;
  const validation = requirements.validation ?? {};
  const roles = target.collections;
  return {
    requirements,
    metadataFields: requirements.metadata.fields,
    sections: part(content.sections, { maxHeadingLevel: 6, hierarchy: 'flat-with-parent' }),
    text: part(content.text, { keepHtml: false }),
    lists: part(content.lists, { items: true }),
    tables: part(content.tables, { cells: true, spans: true, headerFlags: true, captions: true }),
    figures: part(content.figures, { captions: true, images: 'reference' }),
    equations: part(content.equations, { format: 'latex' }),
    pageSpans: part(content.pageSpans, {}),
    boundingBoxes: part(content.boundingBoxes, { form: 'bbox' }),
    embedding: requirements.embedding && requirements.embedding.wanted !== false ? requirements.embedding : undefined,
    keyPattern: safePattern(validation.keyPattern ?? DEFAULT_KEY_PATTERN),
    requiredFields: {
      documents: validation.requiredFields?.documents ?? [],
      sections: validation.requiredFields?.sections ?? [],
      blocks: validation.requiredFields?.blocks ?? [],
    },
    crossReferences: { parentsExist: true, pagesInRange: true, keysUnique: true, ...validation.crossReferences },
    collectionNames: { documents: roles.documents.name, sections: roles.sections.name, blocks: roles.blocks.name },
    renames: {
      documents: roles.documents.rename ?? {},
      sections: roles.sections.rename ?? {},
      blocks: roles.blocks.rename ?? {},
    },
    blockTypes: new Set(roles.blocks.blockTypes),
    edges: target.edges,
    keys: { prefix: '', documentKeyFrom: ['title'], ...target.keys },
  };
}

/** Whether the content kind of `type` is wanted (types of no kind always are). */
export function kindWanted(type: string, plan: Plan): boolean {
  const kind = CONTENT_KIND[type as BlockType];
  return kind === undefined || plan[kind].wanted;
}

/** Whether a block of `type`, standing on its own (not folded into a parent), is stored as a block or dropped. */
export function ownDisposition(type: string, plan: Plan): 'block' | 'drop' {
  return plan.blockTypes.has(type) && kindWanted(type, plan) ? 'block' : 'drop';
}
