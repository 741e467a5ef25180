/**
 * Whether a `document` gives a consumer what its `pdf-requirements` ask: first the document's JSON Schema, then
 * the rules a schema cannot state, checked by code in one walk — required metadata and content, heading depth,
 * section_hierarchy references, pages, unique ids, the keys conversion would make, table cells inside their
 * table. Every issue carries a JSON pointer into the document. Linear in the document's size: one walk, with maps
 * for ids and keys.
 */
import { shortJson, type ValidationIssue, type ValidationResult, validateValue } from '../validator.js';
import { DOCUMENT_SCHEMA, type DocumentBlock, type PdfDocument } from './document-schema.js';
import { gridFromHtml } from './html.js';
import { type Keys, keysFor } from './keys.js';
import { hasMetadataType, type ResolvedField, resolveMetadata } from './metadata.js';
import { CONTENT_KIND, type ContentKind, type Plan, planFor } from './plan.js';
import type { PdfRequirements } from './requirements-schema.js';
import { type BlockVisit, isObject, pageNumbers, walkDocument } from './walk.js';

type Report = (issue: ValidationIssue) => void;

/** Validates `document` against the `document` schema and the rules of `requirements`; every issue at once. */
export function validatePdfFormat(document: unknown, requirements: PdfRequirements): ValidationResult {
  const plan = planFor(requirements);
  const issues = validateValue(DOCUMENT_SCHEMA, document, 'document').issues;
  if (isObject(document)) checkRules(document as PdfDocument, plan, (issue) => issues.push(issue));
  return { valid: issues.length === 0, issues };
}

function checkMetadata(fields: ResolvedField[], report: Report): void {
  for (const { spec, value, pointer: path } of fields) {
    const expected = `a ${spec.type}`;
    if (value === undefined && spec.required) {
      const derived = spec.source && spec.source !== 'metadata' && spec.source !== 'caller';
      const suggestion = derived
        ? `It is derived from the ${spec.source}; the document has none.`
        : `Add metadata.${spec.key ?? spec.name}.`;
      const message = `Required metadata field "${spec.name}" is missing`;
      report({ rule: 'required-metadata', path, message, expected, found: '(missing)', suggestion });
    } else if (value !== undefined && !hasMetadataType(spec.type, value)) {
      const message = `Metadata field "${spec.name}" is not a ${spec.type}`;
      report({ rule: 'metadata-type', path, message, expected, found: shortJson(value) });
    }
  }
}

/** Pages as people read them: `0–2` for a contiguous run, else the list. */
function describePages(pages: number[]): string {
  if (pages.length === 0) return 'none';
  const sorted = [...pages].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const last = sorted[sorted.length - 1] as number;
  return last - first + 1 === sorted.length ? `${first}–${last}` : sorted.join(', ');
}

/** A check that a page named at `pointer/field` is one of the document's pages. */
function pageChecker(document: PdfDocument, plan: Plan, report: Report) {
  const pages = pageNumbers(document);
  const pageSet = new Set(pages);
  const expected = `a page of the document (${describePages(pages)})`;
  return (page: number, pointer: string, field: string, what: string) => {
    if (!plan.crossReferences.pagesInRange || pageSet.has(page)) return;
    const message = `${what} page ${page}, which the document does not have`;
    report({ rule: 'page-in-range', path: `${pointer}/${field}`, message, expected, found: String(page) });
  };
}

/**
 * A check of each key conversion would make: it matches the key pattern and no other record gets it. Hash keys all
 * have one shape and are as unique as the ids they digest, so for them one key is checked and uniqueness is left to
 * the ids' own rule — and `wanted` turns false, so the walk stops making them.
 */
function keyChecker(keys: Keys, plan: Plan, report: Report) {
  const owners = new Map<string, string>();
  const checker = {
    wanted: true,
    /** Checks `key`, made for `owner` (the block whose id is at `pointer`/id, or the document at `path`). */
    check(key: string, path: string, owner: string): void {
      if (!keys.uniformShape || checker.wanted) {
        if (!plan.keyPattern.test(key))
          report({
            rule: 'key-pattern',
            path,
            message: `The key made for ${owner} does not match the key pattern`,
            expected: `a key matching ${plan.keyPattern.source}`,
            found: shortJson(key),
            suggestion: 'Choose another key strategy or prefix, or a document key field with a shorter value.',
          });
      }
      if (keys.uniformShape) {
        checker.wanted = false;
        return;
      }
      if (!plan.crossReferences.keysUnique) return;
      const first = owners.get(key);
      if (first === undefined) owners.set(key, path);
      else {
        const message = `The key made for ${owner} is also made for ${first}`;
        report({ rule: 'unique-key', path, message, expected: 'a key no other record has', found: shortJson(key) });
      }
    },
  };
  return checker;
}

/** Whether the values of `hierarchy` are, in order, those of `last`. */
function sameTargets(hierarchy: Record<string, unknown>, last: unknown[]): boolean {
  let i = 0;
  for (const key in hierarchy) if (hierarchy[key] !== last[i++]) return false;
  return i === last.length;
}

function checkRules(document: PdfDocument, plan: Plan, report: Report): void {
  const fields = resolveMetadata(document, plan);
  checkMetadata(fields, report);
  const checkPage = pageChecker(document, plan, report);
  const toc = document.metadata?.table_of_contents;
  if (Array.isArray(toc))
    for (const [i, entry] of toc.entries())
      if (isObject(entry) && Number.isInteger(entry.page_id))
        checkPage(
          entry.page_id as number,
          `/metadata/table_of_contents/${i}`,
          'page_id',
          'The table of contents names',
        );
  const keys = keysFor(document, plan, fields);
  const keyCheck = keyChecker(keys, plan, report);
  keyCheck.check(keys.documentKey, keys.documentKeyPointer, 'the document');

  const ids = new Map<string, string>();
  const headers = new Set<string>();
  const unresolved: { path: string; target: string }[] = [];
  let lastTargets: unknown[] = [];
  const present = new Set<ContentKind>();
  const { maxHeadingLevel } = plan.sections;

  walkDocument(document, plan, (visit) => {
    const { block, pointer, type, id, disposition } = visit;
    const kind = CONTENT_KIND[type as keyof typeof CONTENT_KIND];
    if (kind) present.add(kind);
    if (id) {
      const first = ids.get(id);
      if (first === undefined) ids.set(id, pointer);
      else
        report({
          rule: 'unique-id',
          path: `${pointer}/id`,
          message: `Block id "${id}" is already used at ${first}`,
          expected: 'an id no other block has',
          found: shortJson(id),
          suggestion: 'Number the blocks of one type on a page 0, 1, 2…',
        });
    }
    if (visit.idType !== undefined && type && visit.idType !== type) {
      const message = `The id names type ${visit.idType} but block_type is ${type}`;
      report({
        rule: 'id-matches-type',
        path: `${pointer}/id`,
        message,
        expected: `an id /page/{p}/${type}/{n}`,
        found: shortJson(id),
      });
    }
    if (visit.idPage !== undefined) checkPage(visit.idPage, pointer, 'id', 'The block id names');
    if (Number.isInteger(block.page)) checkPage(block.page as number, pointer, 'page', 'The block names');
    if (type === 'SectionHeader') {
      if (id) headers.add(id);
      const level = visit.level as number;
      if (plan.sections.wanted && level > maxHeadingLevel)
        report({
          rule: 'heading-level',
          path: visit.levelPointer ?? pointer,
          message: `Heading level ${level} is deeper than the ${maxHeadingLevel} levels wanted`,
          expected: `a level of at most ${maxHeadingLevel}`,
          found: String(level),
          suggestion: 'Merge the heading into its parent section, or ask for more levels.',
        });
    }
    const hierarchy = block.section_hierarchy;
    if (plan.crossReferences.parentsExist && isObject(hierarchy)) {
      // Neighbouring blocks mostly share their section_hierarchy: a run of equal ones is looked up (and a dangling
      // reference in it reported) once.
      if (!sameTargets(hierarchy, lastTargets)) {
        lastTargets = [];
        for (const key in hierarchy) {
          const target = hierarchy[key];
          lastTargets.push(target);
          if (typeof target === 'string' && !headers.has(target))
            unresolved.push({ path: `${pointer}/section_hierarchy/${key}`, target });
        }
      }
    }
    if (disposition === 'section' || disposition === 'block') {
      if (id && keyCheck.wanted) keyCheck.check(keys.blockKey(id), `${pointer}/id`, `block ${id}`);
      if (plan.boundingBoxes.required && block.bbox === undefined && block.polygon === undefined) {
        const message = `Block ${id} has no bounding box`;
        report({
          rule: 'required-bbox',
          path: `${pointer}/bbox`,
          message,
          expected: 'a bbox or a polygon',
          found: '(missing)',
        });
      }
    }
    if (type === 'Table' && Array.isArray(block.children)) checkCells(visit, report);
  });

  // Checked after the walk: a section_hierarchy may name a header that comes later in reading order.
  for (const { path, target } of unresolved)
    if (!headers.has(target))
      report({
        rule: 'parent-exists',
        path,
        message: `section_hierarchy names ${target}, which is not a SectionHeader of the document`,
        expected: 'the id of a SectionHeader block',
        found: shortJson(target),
      });

  for (const kind of ['sections', 'text', 'lists', 'tables', 'figures', 'equations'] as const)
    if (plan[kind].required && !present.has(kind)) {
      const message = `The requirements need ${kind} and the document has none`;
      report({
        rule: 'required-content',
        path: '/children',
        message,
        expected: `at least one block of ${kind}`,
        found: 'none',
      });
    }
}

/** Each TableCell of a table lies inside the table's rows and columns (as its html lays them out). */
function checkCells(visit: BlockVisit, report: Report): void {
  const { block, pointer } = visit;
  const grid = typeof block.html === 'string' ? gridFromHtml(block.html) : undefined;
  if (!grid) return;
  const axes = [
    ['row_id', 'rowspan', grid.rows, 'row'],
    ['col_id', 'colspan', grid.cols, 'column'],
  ] as const;
  for (const [i, cell] of (block.children as DocumentBlock[]).entries()) {
    if (!isObject(cell) || cell.block_type !== 'TableCell') continue;
    for (const [field, span, size, noun] of axes) {
      const start = cell[field];
      if (!Number.isInteger(start)) continue;
      const width = Number.isInteger(cell[span]) ? (cell[span] as number) : 1;
      if ((start as number) + width <= size) continue;
      report({
        rule: 'cell-in-table',
        path: `${pointer}/children/${i}/${field}`,
        message: `The cell reaches ${noun} ${(start as number) + width - 1} of a table of ${size} ${noun}s`,
        expected: `${field} + ${span} at most ${size}`,
        found: `${start} + ${width}`,
      });
    }
  }
}
