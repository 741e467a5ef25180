/**
 * The fields of one stored record, made from a block as the plan asks: its text (from html when it has none, from
 * its children when its html only refers to them), page, geometry, and what its kind carries — list items, table
 * cells with spans and header flags, a figure's caption and images, an equation's TeX.
 */
import type { DocumentBlock } from './document-schema.js';
import { type GridCell, gridFromHtml, listItemsFromHtml, texFromHtml, textOf } from './html.js';
import type { Plan } from './plan.js';
import { type BlockVisit, isObject } from './walk.js';

type Fields = Record<string, unknown>;

/** A block's text; a block whose html only holds `<content-ref>`s to its children reads as its children's text. */
export function deepText(block: DocumentBlock): string {
  if (typeof block.text === 'string') return block.text;
  if (Array.isArray(block.children) && typeof block.html === 'string' && block.html.includes('<content-ref')) {
    const parts = block.children.filter(isObject).map((child) => deepText(child as DocumentBlock));
    return parts.filter((part) => part !== '').join('\n');
  }
  return textOf(block);
}

/** The page a block is on: its `page` field, else the page in its id, else its Page's. */
export function pageOf(visit: BlockVisit): number {
  const { page } = visit.block;
  return Number.isInteger(page) ? (page as number) : (visit.idPage ?? visit.pageNumber);
}

/** `page` and the geometry the plan wants, for a section or a block. */
export function placement(visit: BlockVisit, plan: Plan): Fields {
  const fields: Fields = {};
  if (plan.pageSpans.wanted) fields.page = pageOf(visit);
  if (plan.boundingBoxes.wanted) {
    const { bbox, polygon } = visit.block;
    const form = plan.boundingBoxes.form;
    if (form !== 'polygon' && bbox !== undefined) fields.bbox = bbox;
    if (form !== 'bbox' && polygon !== undefined) fields.polygon = polygon;
  }
  return fields;
}

function cellsFromChildren(children: DocumentBlock[]): { rows: number; cols: number; cells: GridCell[] } | undefined {
  const cells: GridCell[] = [];
  let rows = 0;
  let cols = 0;
  for (const child of children) {
    if (!isObject(child) || child.block_type !== 'TableCell') continue;
    if (!Number.isInteger(child.row_id) || !Number.isInteger(child.col_id)) return undefined;
    const cell: GridCell = {
      row: child.row_id as number,
      col: child.col_id as number,
      rowspan: Number.isInteger(child.rowspan) ? (child.rowspan as number) : 1,
      colspan: Number.isInteger(child.colspan) ? (child.colspan as number) : 1,
      header: child.is_header === true,
      text: textOf(child),
    };
    rows = Math.max(rows, cell.row + cell.rowspan);
    cols = Math.max(cols, cell.col + cell.colspan);
    cells.push(cell);
  }
  return cells.length > 0 ? { rows, cols, cells } : undefined;
}

function tableFields(block: DocumentBlock, plan: Plan): Fields {
  const fromChildren = Array.isArray(block.children) ? cellsFromChildren(block.children) : undefined;
  const grid = fromChildren ?? (typeof block.html === 'string' ? gridFromHtml(block.html) : undefined);
  if (!grid) return {};
  const fields: Fields = { rows: grid.rows, cols: grid.cols };
  if (plan.tables.cells)
    fields.cells = grid.cells.map((cell) => {
      const out: Fields = { row: cell.row, col: cell.col };
      if (plan.tables.spans) {
        out.rowspan = cell.rowspan;
        out.colspan = cell.colspan;
      }
      if (plan.tables.headerFlags) out.header = cell.header;
      out.text = cell.text;
      return out;
    });
  return fields;
}

function listItems(block: DocumentBlock): string[] {
  const items = Array.isArray(block.children)
    ? block.children.filter((c) => isObject(c) && c.block_type === 'ListItem').map((c) => deepText(c as DocumentBlock))
    : [];
  return items.length > 0 || typeof block.html !== 'string' ? items : listItemsFromHtml(block.html);
}

/** What a block's kind carries beyond its text, as the plan asks. */
function kindFields(visit: BlockVisit, plan: Plan): Fields {
  const { block, type } = visit;
  const fields: Fields = {};
  if (type === 'ListGroup' && plan.lists.items) fields.items = listItems(block);
  if (type === 'Table') Object.assign(fields, tableFields(block, plan));
  if (type === 'Figure' || type === 'Picture') {
    const images = isObject(block.images) ? block.images : {};
    if (plan.figures.images === 'reference') fields.images = Object.keys(images);
    if (plan.figures.images === 'inline') fields.images = images;
  }
  if (visit.captions && visit.captions.length > 0) fields.caption = visit.captions.map(deepText).join(' ');
  if (type === 'Equation') {
    const html = typeof block.html === 'string' ? block.html : '';
    if (plan.equations.format === 'latex') fields.latex = texFromHtml(html) ?? deepText(block);
    else fields.html = html;
  }
  if (type === 'SectionHeader') fields.level = visit.level;
  return fields;
}

/** The fields of a stored block (key, section and order are added by the caller). */
export function blockFields(visit: BlockVisit, plan: Plan): Fields {
  const { block, type, id } = visit;
  const fields: Fields = {
    sourceId: id,
    type,
    text: deepText(block),
    ...placement(visit, plan),
    ...kindFields(visit, plan),
  };
  if (plan.text.keepHtml && typeof block.html === 'string' && fields.html === undefined) fields.html = block.html;
  // A figure has no text of its own; its caption is what a reader (or an embedding) has to go on.
  if (fields.text === '' && typeof fields.caption === 'string') fields.text = fields.caption;
  return fields;
}

/** A record with its fields renamed (`{ from: to }`), in the same order. */
export function renamed(record: Fields, rename: Record<string, string>): Fields {
  const out: Fields = {};
  for (const key in record) out[rename[key] ?? key] = record[key];
  return out;
}
