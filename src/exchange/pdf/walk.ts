/**
 * One walk over a document in reading order, shared by validation and conversion: every block with its JSON
 * pointer, its page, its heading level (SectionHeaders) and what the plan makes of it. Tolerates malformed input
 * (validation walks documents that failed their schema, to report everything at once).
 */
import type { DocumentBlock, PdfDocument } from './document-schema.js';
import { headingLevelFromHtml } from './html.js';
import { CONTAINER_TYPES, ownDisposition, type Plan } from './plan.js';

/**
 * What becomes of a block: a `section`, a stored `block`, `fold`ed into the stored block above it (list items,
 * table cells, a group's captions, anything inside a stored block), `drop`ped, or a `container` walked through.
 */
export type Disposition = 'section' | 'block' | 'fold' | 'drop' | 'container';

export interface BlockVisit {
  block: DocumentBlock;
  /** JSON pointer of the block in the document. */
  pointer: string;
  /** `block_type`, or `''` when it is not a string. */
  type: string;
  /** `id`, or `''` when it is not a string. */
  id: string;
  disposition: Disposition;
  /** Page number of the enclosing Page (from its id, else its position). */
  pageNumber: number;
  /** Page and type written in the id, when it parses. */
  idPage: number | undefined;
  idType: string | undefined;
  /** Heading level of a SectionHeader, and the pointer of the field it was read from. */
  level: number | undefined;
  levelPointer: string | undefined;
  parent: BlockVisit | undefined;
  /** The Caption blocks of a group, on the group's figure or table when they are folded into it. */
  captions: DocumentBlock[] | undefined;
}

const DIGITS = /^[0-9]+$/;
const LETTERS = /^[A-Za-z]+$/;

/** The page and type written in a block id `/page/{p}/{Type}/{n}`. */
export function idParts(id: unknown): { page: number; type: string } | undefined {
  // Cut at the slashes rather than match one regular expression with groups: this runs once per block, and on a
  // 5 MB document the groups' arrays were a visible share of the walk.
  if (typeof id !== 'string' || !id.startsWith('/page/')) return undefined;
  const typeAt = id.indexOf('/', 6) + 1;
  const numberAt = typeAt > 0 ? id.indexOf('/', typeAt) + 1 : 0;
  if (numberAt === 0) return undefined;
  const page = id.slice(6, typeAt - 1);
  const type = id.slice(typeAt, numberAt - 1);
  if (!DIGITS.test(page) || !LETTERS.test(type) || !DIGITS.test(id.slice(numberAt))) return undefined;
  return { page: Number(page), type };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The Page blocks of a document (its children), or none when there are none. */
export function pagesOf(document: PdfDocument): unknown[] {
  return isObject(document) && Array.isArray(document.children) ? document.children : [];
}

/** Page number of each page of the document: from the Page's id, else its position. */
export function pageNumbers(document: PdfDocument): number[] {
  return pagesOf(document).map((page, i) => (isObject(page) ? idParts(page.id)?.page : undefined) ?? i);
}

/**
 * A SectionHeader's level: its `level` field, else the key under which its own id stands in its
 * section_hierarchy, else its `<hN>` tag; 1 when none says.
 */
export function headingLevel(block: DocumentBlock, pointer: string): { level: number; pointer: string | undefined } {
  if (Number.isInteger(block.level)) return { level: block.level as number, pointer: `${pointer}/level` };
  const hierarchy = block.section_hierarchy;
  if (isObject(hierarchy))
    for (const key in hierarchy)
      if (hierarchy[key] === block.id) return { level: Number(key), pointer: `${pointer}/section_hierarchy/${key}` };
  if (typeof block.html === 'string') {
    const level = headingLevelFromHtml(block.html);
    if (level !== undefined) return { level, pointer: `${pointer}/html` };
  }
  return { level: 1, pointer: undefined };
}

const GROUP_MAIN_TYPES: ReadonlySet<string> = new Set(['Table', 'Figure', 'Picture']);

/** The group's figure or table and its Captions, when the plan folds the captions into it. */
function foldedCaptions(children: unknown[], plan: Plan): { main: number; captions: DocumentBlock[] } | undefined {
  const main = children.findIndex((c) => isObject(c) && GROUP_MAIN_TYPES.has(c.block_type as string));
  if (main < 0) return undefined;
  const mainType = (children[main] as DocumentBlock).block_type;
  const wanted = mainType === 'Table' ? plan.tables.captions : plan.figures.captions;
  if (!wanted || ownDisposition(mainType, plan) !== 'block') return undefined;
  const captions = children.filter((c): c is DocumentBlock => isObject(c) && c.block_type === 'Caption');
  return { main, captions };
}

/** Calls `onBlock` for every block of the document, Pages included, in reading order (depth first). */
export function walkDocument(document: PdfDocument, plan: Plan, onBlock: (visit: BlockVisit) => void): void {
  const pages = pagesOf(document);
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i];
    if (!isObject(page)) continue;
    const pageNumber = idParts(page.id)?.page ?? i;
    visitBlock(page as DocumentBlock, `/children/${i}`, 'container', undefined, pageNumber, undefined);
  }

  function visitBlock(
    block: DocumentBlock,
    pointer: string,
    disposition: Disposition,
    parent: BlockVisit | undefined,
    pageNumber: number,
    captions: DocumentBlock[] | undefined,
  ): void {
    const type = typeof block.block_type === 'string' ? block.block_type : '';
    const id = typeof block.id === 'string' ? block.id : '';
    const parts = idParts(id);
    let level: number | undefined;
    let levelPointer: string | undefined;
    if (type === 'SectionHeader') {
      ({ level, pointer: levelPointer } = headingLevel(block, pointer));
      if (disposition === 'block' && plan.sections.wanted)
        disposition = level <= plan.sections.maxHeadingLevel ? 'section' : 'block';
    }
    const visit: BlockVisit = {
      block,
      pointer,
      type,
      id,
      disposition,
      pageNumber,
      idPage: parts?.page,
      idType: parts?.type,
      level,
      levelPointer,
      parent,
      captions,
    };
    onBlock(visit);
    const children = block.children;
    if (!Array.isArray(children)) return;
    const group = disposition === 'container' && type !== 'Page' ? foldedCaptions(children, plan) : undefined;
    const inside = disposition === 'block' || disposition === 'section' || disposition === 'fold';
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (!isObject(child)) continue;
      const childType = child.block_type as string;
      let childDisposition: Disposition;
      if (inside) childDisposition = 'fold';
      else if (CONTAINER_TYPES.has(childType)) childDisposition = 'container';
      else if (group && childType === 'Caption') childDisposition = 'fold';
      else if (childType === 'SectionHeader' && plan.sections.wanted) childDisposition = 'block';
      else childDisposition = ownDisposition(childType, plan);
      const childCaptions = group?.main === i ? group.captions : undefined;
      visitBlock(
        child as DocumentBlock,
        `${pointer}/children/${i}`,
        childDisposition,
        visit,
        pageNumber,
        childCaptions,
      );
    }
  }
}
