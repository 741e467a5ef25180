/**
 * Draft blocks made into a `document@1.0.0`, shaped as marker's JSON output: a Page per page with its blocks in
 * reading order, ids `/page/{p}/{Type}/{n}` (n counting every block of the page, parents before children),
 * bbox and polygon in points from the top left, html with `<content-ref>` for children, each block's
 * section_hierarchy, and metadata with the table of contents and per-page statistics. Consecutive list items
 * make a ListGroup; a table with a "Table N" line just above or below it makes a TableGroup with that Caption.
 * Pure.
 */
import type { DocumentBlock, FontInfo, PdfDocument, TocEntry } from '../exchange/pdf/document-schema.js';
import type { Headings, OutlineEntry } from './headings.js';
import { draftText } from './headings.js';
import { escapeHtml, inlineHtml } from './html.js';
import type { Box } from './page-text.js';
import { placement, roundPoint, unionBox } from './page-text.js';
import type { Draft } from './paragraphs.js';
import type { TableDraft } from './tables.js';

export interface DraftPage {
  index: number;
  width: number;
  height: number;
  drafts: Draft[];
  columns: 1 | 2;
  /** Why the page could not be read, when it could not. */
  error?: string;
}

const CAPTION = /^(?:table|tab\.)\s*(?:\d+|[ivxlc]+)\b/i;
/** A caption stands at most this many font sizes from its table. */
const CAPTION_GAP_EM = 2;

type BlockType = DocumentBlock['block_type'];

const ref = (block: DocumentBlock) => `<content-ref src='${block.id}'></content-ref>`;

function fontInfo(draft: Draft): FontInfo {
  const { name, bold, italic } = draft.font;
  return { name, size: roundPoint(draft.size), bold, italic };
}

/** The caption of the table at `drafts[i]`, if the draft above or below it is one. */
function captionOf(drafts: readonly Draft[], i: number): Draft | undefined {
  const table = drafts[i] as Draft;
  for (const near of [drafts[i - 1], drafts[i + 1]]) {
    if (near?.kind !== 'Text' || near.lines.length > 3 || !CAPTION.test(draftText(near))) continue;
    const [line, tableLine] = [near.lines[0], table.lines[0]];
    const gap = near.box[1] < table.box[1] ? table.box[1] - near.box[3] : near.box[1] - table.box[3];
    if (line?.column === tableLine?.column && line?.band === tableLine?.band && gap <= CAPTION_GAP_EM * near.size)
      return near;
  }
  return undefined;
}

function tableHtml(table: TableDraft): string {
  const rows: string[][] = Array.from({ length: table.rows }, () => []);
  for (const cell of table.cells) rows[cell.row]?.push(cellHtml(cell.header, cell.colspan, cell.segment.text));
  const tr = (cells: string[]) => `<tr>${cells.join('')}</tr>`;
  const header = table.cells.some((c) => c.header);
  const body = (header ? rows.slice(1) : rows).map(tr).join('');
  return `<table>${header ? `<thead>${tr(rows[0] ?? [])}</thead>` : ''}<tbody>${body}</tbody></table>`;
}

function cellHtml(header: boolean, colspan: number, text: string): string {
  const tag = header ? 'th' : 'td';
  return `<${tag}${colspan > 1 ? ` colspan="${colspan}"` : ''}>${escapeHtml(text)}</${tag}>`;
}

/** Builds the blocks of one page, carrying the section hierarchy from page to page. */
class PageBuilder {
  private n = 0;
  readonly counts = new Map<string, number>();

  constructor(
    private readonly page: number,
    private readonly hierarchy: Record<string, string>,
    private readonly headings: Headings,
    /** Every heading made so far, for a table of contents when the PDF has no outline. */
    private readonly headers: TocEntry[],
  ) {}

  block(type: BlockType, html: string, box: Box, extra: Partial<DocumentBlock> = {}): DocumentBlock {
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    return {
      id: `/page/${this.page}/${type}/${this.n++}`,
      block_type: type,
      html,
      ...placement(box),
      children: null,
      section_hierarchy: { ...this.hierarchy },
      page: this.page,
      ...extra,
    };
  }

  heading(draft: Draft, level: number): DocumentBlock {
    const html = `<h${level}>${inlineHtml(draft.lines, draft.font)}</h${level}>`;
    const block = this.block('SectionHeader', html, draft.box, { level, font: fontInfo(draft) });
    for (const key of Object.keys(this.hierarchy)) if (Number(key) >= level) delete this.hierarchy[key];
    this.hierarchy[String(level)] = block.id;
    block.section_hierarchy = { ...this.hierarchy };
    const { polygon } = placement(draft.box);
    this.headers.push({ title: draftText(draft), heading_level: level, page_id: this.page, polygon });
    return block;
  }

  text(draft: Draft, type: BlockType = 'Text'): DocumentBlock {
    // A table of contents keeps its entries on their lines.
    const lines = type === 'TableOfContents' ? draft.lines.map((l) => [l]) : [draft.lines];
    const html = `<p>${lines.map((l) => inlineHtml(l, draft.font)).join('<br>')}</p>`;
    return this.block(type, html, draft.box, { font: fontInfo(draft) });
  }

  list(items: Draft[]): DocumentBlock {
    const group = this.block('ListGroup', '', unionBox(items.map((d) => d.box)));
    const first = items[0]?.marker;
    group.children = items.map((item) =>
      this.block('ListItem', `<li>${inlineHtml(item.lines, item.font, item.marker?.length)}</li>`, item.box, {
        font: fontInfo(item),
      }),
    );
    const tag = first?.ordered ? 'ol' : 'ul';
    const start = first?.number !== undefined && first.number !== 1 ? ` start="${first.number}"` : '';
    group.html = `<p block-type='ListGroup'><${tag}${start}>${group.children.map(ref).join('')}</${tag}></p>`;
    return group;
  }

  table(draft: Draft, caption: Draft | undefined): DocumentBlock {
    const table = draft.table as TableDraft;
    const group = caption ? this.block('TableGroup', '', unionBox([draft.box, caption.box])) : undefined;
    const captionFirst = caption !== undefined && caption.box[1] < draft.box[1];
    const captionBlock = caption && captionFirst ? this.text(caption, 'Caption') : undefined;
    const tableBlock = this.block('Table', tableHtml(table), table.box);
    tableBlock.children = table.cells.map((cell) =>
      this.block('TableCell', cellHtml(cell.header, cell.colspan, cell.segment.text), cell.segment.box, {
        rowspan: 1,
        colspan: cell.colspan,
        row_id: cell.row,
        col_id: cell.col,
        is_header: cell.header,
      }),
    );
    if (!group || !caption) return tableBlock;
    const parts = captionBlock ? [captionBlock, tableBlock] : [tableBlock, this.text(caption, 'Caption')];
    group.children = parts;
    group.html = parts.map(ref).join('');
    return group;
  }

  /** Every block of the page, in reading order. */
  build(drafts: readonly Draft[]): DocumentBlock[] {
    const captions = new Map<Draft, Draft>();
    drafts.forEach((d, i) => {
      const caption = d.kind === 'Table' ? captionOf(drafts, i) : undefined;
      if (caption && ![...captions.values()].includes(caption)) captions.set(d, caption);
    });
    const captionSet = new Set(captions.values());
    const blocks: DocumentBlock[] = [];
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i] as Draft;
      const level = this.headings.levels.get(draft);
      if (captionSet.has(draft)) continue;
      if (draft.kind === 'Table') blocks.push(this.table(draft, captions.get(draft)));
      else if (draft.kind === 'ListItem') {
        const items = [draft];
        while (drafts[i + 1]?.kind === 'ListItem' && sameFlow(drafts[i + 1] as Draft, draft))
          items.push(drafts[++i] as Draft);
        blocks.push(this.list(items));
      } else if (level !== undefined) blocks.push(this.heading(draft, level));
      else blocks.push(this.text(draft, draft.kind === 'Text' ? 'Text' : draft.kind));
    }
    return blocks;
  }
}

const sameFlow = (a: Draft, b: Draft) =>
  a.lines[0]?.column === b.lines[0]?.column && a.lines[0]?.band === b.lines[0]?.band;

/** The outline's entries that point into the pages, placed where their heading was found. */
function outlineContents(pageCount: number, outline: readonly OutlineEntry[], headings: Headings): TocEntry[] {
  const toc: TocEntry[] = [];
  outline.forEach((entry, i) => {
    if (entry.page === undefined || entry.page >= pageCount) return;
    const found = headings.found[i];
    const polygon = found ? placement(found.box).polygon : undefined;
    toc.push({ title: entry.title, heading_level: entry.depth + 1, page_id: entry.page, ...(polygon && { polygon }) });
  });
  return toc;
}

/** The document of the pages' drafts, with `metadata` (the PDF's own) and the outline's table of contents. */
export function buildDocument(
  pages: readonly DraftPage[],
  outline: readonly OutlineEntry[],
  headings: Headings,
  metadata: Record<string, unknown>,
): PdfDocument {
  const hierarchy: Record<string, string> = {};
  const headers: TocEntry[] = [];
  const pageStats: Record<string, unknown>[] = [];
  const children = pages.map((page): DocumentBlock => {
    const builder = new PageBuilder(page.index, hierarchy, headings, headers);
    const blocks = builder.build(page.drafts);
    pageStats.push({
      page_id: page.index,
      text_extraction_method: 'pdfjs',
      columns: page.columns,
      block_counts: [...builder.counts.entries()].sort((a, b) => b[1] - a[1]),
      ...(page.error && { error: page.error }),
    });
    return {
      id: `/page/${page.index}/Page/0`,
      block_type: 'Page',
      html: blocks.map(ref).join(''),
      ...placement([0, 0, page.width, page.height]),
      children: blocks,
      section_hierarchy: null,
      page: page.index,
    };
  });
  // The outline is the author's table of contents; without one, the headings found make it, as marker does.
  const table_of_contents = outline.length ? outlineContents(children.length, outline, headings) : headers;
  return { children, block_type: 'Document', metadata: { ...metadata, table_of_contents, page_stats: pageStats } };
}
