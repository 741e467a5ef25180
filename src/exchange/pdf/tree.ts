/**
 * The sections and blocks a conversion stores, made in one walk in reading order: each section with its parent
 * (from section_hierarchy, else from the headings' levels), its page span, and its form as the requirements'
 * hierarchy asks — a record with `parent`, a record with its `path` of titles, or (nested) an object inside its
 * root section's record; each block with its section.
 */
import type { PdfDocument } from './document-schema.js';
import { CONTENT_KIND, type ContentKind, type Plan } from './plan.js';
import { blockFields, deepText, pageOf, placement } from './records.js';
import { type BlockVisit, isObject, walkDocument } from './walk.js';

export type Fields = Record<string, unknown>;

/** A section as conversion tracks it; `embedded` is its object inside its root's record when nesting. */
export interface Section {
  key: string;
  level: number;
  parent: Section | undefined;
  /** The section whose record holds this one: itself, unless nested under another. */
  root: Section;
  record: Fields;
  embedded: Fields | undefined;
  /** First and last page of the section's content. */
  pages: [number, number];
}

export interface StoredBlock {
  record: Fields;
  section: Section | undefined;
}

export interface Tree {
  /** Records of the sections collection, in reading order (the roots only, when nested). */
  sectionRecords: Fields[];
  sections: Section[];
  blocks: StoredBlock[];
  /** Blocks left out, by type. */
  dropped: Map<string, number>;
  /** The content kinds the document has (stored or not). */
  present: Set<ContentKind>;
  headingsDemoted: number;
}

/** The deepest entry of a block's section_hierarchy, above `below`, that is a stored section (not the block). */
function sectionFromHierarchy(visit: BlockVisit, sections: Map<string, Section>, below: number): Section | undefined {
  const hierarchy = visit.block.section_hierarchy;
  if (!isObject(hierarchy)) return undefined;
  let best: Section | undefined;
  let bestLevel = -1;
  for (const level in hierarchy) {
    const n = Number(level);
    const found = sections.get(hierarchy[level] as string);
    if (found && n < below && n > bestLevel && hierarchy[level] !== visit.id) {
      best = found;
      bestLevel = n;
    }
  }
  return best;
}

/** Sections and blocks of `document`; `allocate` turns the key the strategy made into the key stored. */
export function buildTree(
  document: PdfDocument,
  plan: Plan,
  allocate: (key: string, id: string) => string,
  blockKey: (id: string) => string,
): Tree {
  const { hierarchy } = plan.sections;
  const tree: Tree = {
    sectionRecords: [],
    sections: [],
    blocks: [],
    dropped: new Map(),
    present: new Set(),
    headingsDemoted: 0,
  };
  const byId = new Map<string, Section>();
  // Open sections, deepest last: the parent of a heading without a usable section_hierarchy.
  const open: Section[] = [];
  let order = 0;

  const widen = (section: Section | undefined, page: number) => {
    for (let s = section; s; s = s.parent) if (page > s.pages[1]) s.pages[1] = page;
  };

  const addBlock = (visit: BlockVisit) => {
    if (visit.type === 'SectionHeader') tree.headingsDemoted++;
    const section = sectionFromHierarchy(visit, byId, Number.POSITIVE_INFINITY) ?? open[open.length - 1];
    const key = allocate(blockKey(visit.id), visit.id);
    const record: Fields = {
      _key: key,
      ...blockFields(visit, plan),
      order: order++,
      section: section?.root.key ?? null,
    };
    if (hierarchy === 'path') record.path = section ? [...(section.record.path as string[])] : [];
    if (section?.embedded) (section.embedded.blocks as string[]).push(key);
    widen(section, pageOf(visit));
    tree.blocks.push({ record, section });
  };

  const addSection = (visit: BlockVisit) => {
    const level = visit.level as number;
    while (open.length > 0 && (open[open.length - 1] as Section).level >= level) open.pop();
    const parent = sectionFromHierarchy(visit, byId, level) ?? open[open.length - 1];
    const key = allocate(blockKey(visit.id), visit.id);
    const title = deepText(visit.block);
    const page = pageOf(visit);
    const fields: Fields = { sourceId: visit.id, title, level, order: order++, ...placement(visit, plan) };
    const nested = hierarchy === 'nested' && parent !== undefined;
    const section: Section = {
      key,
      level,
      parent,
      root: parent?.root ?? ({} as Section),
      record: {},
      embedded: undefined,
      pages: [page, page],
    };
    if (nested) {
      section.embedded = { ...fields, blocks: [], sections: [] };
      ((parent.embedded ?? parent.record).sections as Fields[]).push(section.embedded);
      section.record = parent.root.record;
    } else {
      section.root = section;
      section.record = { _key: key, ...fields };
      if (hierarchy === 'flat-with-parent') section.record.parent = parent?.key ?? null;
      if (hierarchy === 'path') section.record.path = [...((parent?.record.path as string[]) ?? []), title];
      if (hierarchy === 'nested') section.record.sections = [];
      tree.sectionRecords.push(section.record);
    }
    if (plan.pageSpans.wanted) (section.embedded ?? section.record).pages = section.pages;
    widen(parent, page);
    byId.set(visit.id, section);
    tree.sections.push(section);
    open.push(section);
  };

  walkDocument(document, plan, (visit) => {
    const kind = CONTENT_KIND[visit.type as keyof typeof CONTENT_KIND];
    if (kind) tree.present.add(kind);
    if (visit.disposition === 'drop' && visit.type)
      tree.dropped.set(visit.type, (tree.dropped.get(visit.type) ?? 0) + 1);
    if (visit.disposition === 'block') addBlock(visit);
    if (visit.disposition === 'section') addSection(visit);
  });
  return tree;
}
