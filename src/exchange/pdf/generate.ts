/**
 * A large, realistic `document` of about a given size, for benchmarks and tests of scale: pages of headers
 * (levels 1–3 with their section_hierarchy), paragraphs, inline math, lists, tables with header rows and spans,
 * figures with captions, equations, footnotes and page furniture, plus a table of contents and page stats.
 * Deterministic: the same size gives the same document.
 */
import type { DocumentBlock, PdfDocument, TocEntry } from './document-schema.js';

const WORDS = (
  'the graph stores each block of an extracted document with its page position and section so that queries can ' +
  'follow edges from a paper to its sections and from sections to tables figures equations and paragraphs while ' +
  'keys stay stable across imports because they are derived from the document and the block identifier rather ' +
  'than from insertion order which lets a second import replace records instead of duplicating them'
).split(' ');

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** A small deterministic generator (mulberry32): the same seed, the same sequence. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A document of about `targetBytes` bytes of JSON (within a page's worth). */
export function syntheticDocument(targetBytes: number): PdfDocument {
  const next = random(20240312);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const sentence = (words: number) => {
    const out: string[] = [];
    for (let i = 0; i < words; i++) out.push(pick(WORDS));
    const text = out.join(' ');
    return `${text[0]?.toUpperCase()}${text.slice(1)}.`;
  };
  const paragraph = () =>
    Array.from({ length: 2 + Math.floor(next() * 4) }, () => sentence(8 + Math.floor(next() * 14))).join(' ');

  const pages: DocumentBlock[] = [];
  const toc: TocEntry[] = [];
  const pageStats: Record<string, unknown>[] = [];
  const hierarchy: Record<string, string> = {};
  const headingNumbers = [0, 0, 0];
  let bytes = 120;

  for (let p = 0; bytes < targetBytes; p++) {
    const children: DocumentBlock[] = [];
    const tocBefore = toc.length;
    const counts = new Map<string, number>();
    let n = 0;
    let y = 40;
    const box = (height: number, x0 = 72, x1 = 540) => {
      const top = Math.min(y, 792 - 36 - height);
      const bbox = [x0, top, x1, top + height];
      y = top + height + 6;
      return {
        bbox,
        polygon: [
          [x0, bbox[1] as number],
          [x1, bbox[1] as number],
          [x1, bbox[3] as number],
          [x0, bbox[3] as number],
        ],
      };
    };
    const make = (
      type: DocumentBlock['block_type'],
      html: string,
      height: number,
      extra: Partial<DocumentBlock> = {},
    ) => {
      counts.set(type, (counts.get(type) ?? 0) + 1);
      const block: DocumentBlock = {
        id: `/page/${p}/${type}/${n++}`,
        block_type: type,
        html,
        ...box(height),
        children: null,
        section_hierarchy: { ...hierarchy },
        images: {},
        ...extra,
      };
      return block;
    };
    const heading = (level: number) => {
      headingNumbers[level - 1] = (headingNumbers[level - 1] ?? 0) + 1;
      for (let l = level; l < 3; l++) headingNumbers[l] = 0;
      const number = headingNumbers.slice(0, level).join('.');
      const title = `${number} ${sentence(3 + Math.floor(next() * 4)).slice(0, -1)}`;
      const block = make('SectionHeader', `<h${level}>${title}</h${level}>`, 16);
      for (const key of Object.keys(hierarchy)) if (Number(key) >= level) delete hierarchy[key];
      hierarchy[String(level)] = block.id;
      block.section_hierarchy = { ...hierarchy };
      toc.push({ title, heading_level: level, page_id: p, polygon: block.polygon as number[][] });
      return block;
    };

    children.push(make('PageHeader', '<p>Synthetic corpus for graph import benchmarks</p>', 10));
    if (p % 8 === 0) children.push(heading(1));
    else if (p % 2 === 0) children.push(heading(2));
    for (let i = 0; i < 3 + Math.floor(next() * 3); i++) {
      const roll = next();
      if (roll < 0.08) children.push(heading(3));
      else if (roll < 0.18)
        children.push(make('TextInlineMath', `<p>${sentence(10)} <math>x_${i} \\le n^2</math> ${sentence(6)}</p>`, 30));
      else if (roll < 0.3) {
        const list = make('ListGroup', '', 70, { images: null });
        list.children = Array.from({ length: 3 + Math.floor(next() * 3) }, () =>
          make('ListItem', `<li>${sentence(9)}</li>`, 14),
        );
        list.html = `<p block-type='ListGroup'><ul>${list.children.map((c) => `<content-ref src='${c.id}'></content-ref>`).join('')}</ul></p>`;
        children.push(list);
      } else children.push(make('Text', `<p>${paragraph()}</p>`, 60));
    }
    if (p % 4 === 1) children.push(tableGroup(make, sentence, next));
    if (p % 5 === 2) {
      const group = make('FigureGroup', '', 220, { images: null });
      const figure = make('Figure', '', 190);
      figure.html = `<p><img src='${figure.id}' alt='${sentence(5)}'></p>`;
      figure.images = { [figure.id]: PNG };
      const caption = make('Caption', `<p>Figure ${p}: ${sentence(12)}</p>`, 20);
      group.children = [figure, caption];
      group.html = `<content-ref src='${figure.id}'></content-ref><content-ref src='${caption.id}'></content-ref>`;
      children.push(group);
    }
    if (p % 3 === 0)
      children.push(
        make(
          'Equation',
          `<p block-type="Equation"><math display="block">E_{${p}} = \\sum_{i=1}^{n} w_i x_i</math></p>`,
          24,
        ),
      );
    if (p % 6 === 5) children.push(make('Footnote', `<p><sup>${p}</sup> ${sentence(11)}</p>`, 12));
    children.push(make('PageFooter', `<p>${p + 1}</p>`, 10));

    const page: DocumentBlock = {
      id: `/page/${p}/Page/${p}`,
      block_type: 'Page',
      html: children.map((c) => `<content-ref src='${c.id}'></content-ref>`).join(''),
      polygon: [
        [0, 0],
        [612, 0],
        [612, 792],
        [0, 792],
      ],
      bbox: [0, 0, 612, 792],
      children,
      section_hierarchy: null,
      images: null,
    };
    const stats = {
      page_id: p,
      text_extraction_method: 'pdftext',
      block_counts: [...counts.entries()],
      block_metadata: { llm_request_count: 0, llm_error_count: 0, llm_tokens_used: 0 },
    };
    pages.push(page);
    pageStats.push(stats);
    bytes += JSON.stringify(page).length + JSON.stringify(stats).length + JSON.stringify(toc.slice(tocBefore)).length;
  }
  return { children: pages, block_type: 'Document', metadata: { table_of_contents: toc, page_stats: pageStats } };
}

type Make = (
  type: DocumentBlock['block_type'],
  html: string,
  height: number,
  extra?: Partial<DocumentBlock>,
) => DocumentBlock;

/** A TableGroup: caption, then a table with a two-row header (one cell spanning two columns) and its cells. */
function tableGroup(make: Make, sentence: (words: number) => string, next: () => number): DocumentBlock {
  const group = make('TableGroup', '', 140, { images: null });
  const caption = make('Caption', `<p>Table: ${sentence(10)}</p>`, 18);
  const table = make('Table', '', 110);
  const rows = 3 + Math.floor(next() * 4);
  const grid: [string, number, number, number, number, boolean][] = [
    ['Metric', 0, 0, 2, 1, true],
    ['Measured', 0, 1, 1, 2, true],
    ['Median', 1, 1, 1, 1, true],
    ['p99', 1, 2, 1, 1, true],
  ];
  for (let r = 2; r < rows + 2; r++) {
    grid.push([sentence(2).slice(0, -1), r, 0, 1, 1, false]);
    grid.push([(next() * 100).toFixed(1), r, 1, 1, 1, false]);
    grid.push([(next() * 400).toFixed(1), r, 2, 1, 1, false]);
  }
  const cellHtml = ([text, , , rowspan, colspan, header]: (typeof grid)[number]) => {
    const tag = header ? 'th' : 'td';
    return `<${tag}${rowspan > 1 ? ` rowspan="${rowspan}"` : ''}${colspan > 1 ? ` colspan="${colspan}"` : ''}>${text}</${tag}>`;
  };
  table.children = grid.map((cell) =>
    make('TableCell', cellHtml(cell), 14, {
      rowspan: cell[3],
      colspan: cell[4],
      row_id: cell[1],
      col_id: cell[2],
      is_header: cell[5],
    }),
  );
  const byRow = new Map<number, string[]>();
  for (const cell of grid) byRow.set(cell[1], [...(byRow.get(cell[1]) ?? []), cellHtml(cell)]);
  table.html = `<table>${[...byRow.values()].map((cells) => `<tr>${cells.join('')}</tr>`).join('')}</table>`;
  group.children = [caption, table];
  group.html = `<content-ref src='${caption.id}'></content-ref><content-ref src='${table.id}'></content-ref>`;
  return group;
}
