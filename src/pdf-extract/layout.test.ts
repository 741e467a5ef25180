// The layout rules on pages made by hand (no pdf.js): reading order of two columns, tables, headings levelled by
// size and by the outline, furniture, lists, paragraphs, inline html and the metadata's authors.
import { describe, expect, it } from 'vitest';
import type { DocumentBlock, PdfDocument } from '../exchange/pdf/document-schema.js';
import { authorsOf, layoutDocument } from './layout.js';
import type { FontFace, PageText, TextRun } from './page-text.js';

const REGULAR: FontFace = { key: 'f1', name: 'Times-Roman', bold: false, italic: false };
const BOLD: FontFace = { key: 'f2', name: 'Times-Bold', bold: true, italic: false };
const ITALIC: FontFace = { key: 'f3', name: 'Times-Italic', bold: false, italic: true };

/** A run at `x` with its baseline at `y` (top-left origin), half a size wide per character. */
function run(text: string, x: number, y: number, size = 10, font = REGULAR): TextRun {
  return { text, box: [x, y - 0.8 * size, x + text.length * 0.5 * size, y + 0.2 * size], size, font, rotated: false };
}

/** Lines of body text, one run each, 12 points apart from `y`. */
function lines(texts: string[], x: number, y: number, size = 10): TextRun[] {
  return texts.map((t, i) => run(t, x, y + i * 12, size));
}

const page = (runs: TextRun[], index = 0): PageText => ({ index, width: 612, height: 792, runs });

const layout = (pages: PageText[], outline: { title: string; depth: number; page: number }[] = []) =>
  layoutDocument(pages, outline, {}, { pageCount: pages.length });

/** Every block of the document, depth first, with its text (tags stripped). */
function blocks(doc: PdfDocument): { type: string; text: string; block: DocumentBlock }[] {
  const out: { type: string; text: string; block: DocumentBlock }[] = [];
  const visit = (b: DocumentBlock) => {
    out.push({ type: b.block_type, text: (b.html ?? '').replace(/<[^>]*>/g, ''), block: b });
    for (const c of b.children ?? []) visit(c);
  };
  for (const p of doc.children) for (const b of p.children ?? []) visit(b);
  return out;
}

const texts = (doc: PdfDocument, type: string) =>
  blocks(doc)
    .filter((b) => b.type === type)
    .map((b) => b.text);

const LINE = 'a line of body text long enough to fill most of a column';

describe('reading order', () => {
  it('reads a two-column band left column first, with a spanning title above and paragraph below in place', () => {
    // Columns 210 points wide (42 characters at 5 points), 58 points apart.
    const column = 'a line of text that fills most of a column';
    const left = lines(['Left starts.', ...Array(4).fill(column)], 72, 120);
    const right = lines(['Right starts.', ...Array(4).fill(column)], 340, 120);
    const doc = layout([
      page([
        ...right,
        run('A Title Running Across Both Columns', 72, 90, 16),
        ...left,
        run('Closing words that run right across the page from margin to margin.', 72, 200),
      ]),
    ]);
    expect(blocks(doc).map((b) => b.text.slice(0, 14))).toEqual([
      'A Title Runnin',
      'Left starts. a',
      'Right starts. ',
      'Closing words ',
    ]);
    expect(doc.metadata?.page_stats?.[0]?.columns).toBe(2);
  });

  it('reads a page of one column row by row, whatever order the runs were drawn in', () => {
    const doc = layout([page([run('Second paragraph.', 72, 150), run('First paragraph.', 72, 100)])]);
    expect(texts(doc, 'Text')).toEqual(['First paragraph.', 'Second paragraph.']);
    expect(doc.metadata?.page_stats?.[0]?.columns).toBe(1);
  });

  it('does not take a table with short cells for two columns', () => {
    const rows = ['North', 'River', 'Hill', 'Lake', 'Ridge'].flatMap((site, i) => [
      run(site, 72, 100 + i * 14),
      run(String(40 + i), 400, 100 + i * 14),
    ]);
    const doc = layout([page(rows)]);
    expect(doc.metadata?.page_stats?.[0]?.columns).toBe(1);
    expect(texts(doc, 'TableCell').slice(0, 4)).toEqual(['North', '40', 'River', '41']);
  });
});

describe('tables', () => {
  it('finds rows cut into the same columns, the bold first row as header, a wide cell as spanning', () => {
    const doc = layout([
      page([
        run('Site', 72, 100, 10, BOLD),
        run('Depth', 200, 100, 10, BOLD),
        run('Moisture', 300, 100, 10, BOLD),
        run('North', 72, 114),
        run('10', 200, 114),
        run('31.5', 300, 114),
        run('Averaged over both depths and all days', 72, 128),
        run('x', 330, 128),
      ]),
    ]);
    const cells = blocks(doc)
      .filter((b) => b.type === 'TableCell')
      .map(({ block: c, text }) => [text, c.row_id, c.col_id, c.colspan, c.is_header]);
    expect(cells).toEqual([
      ['Site', 0, 0, 1, true],
      ['Depth', 0, 1, 1, true],
      ['Moisture', 0, 2, 1, true],
      ['North', 1, 0, 1, false],
      ['10', 1, 1, 1, false],
      ['31.5', 1, 2, 1, false],
      ['Averaged over both depths and all days', 2, 0, 2, false],
      ['x', 2, 2, 1, false],
    ]);
    const table = blocks(doc).find((b) => b.type === 'Table')?.block;
    expect(table?.html).toBe(
      '<table><thead><tr><th>Site</th><th>Depth</th><th>Moisture</th></tr></thead><tbody>' +
        '<tr><td>North</td><td>10</td><td>31.5</td></tr>' +
        '<tr><td colspan="2">Averaged over both depths and all days</td><td>x</td></tr></tbody></table>',
    );
  });

  it('ends a table at a row that falls outside its columns, and needs two rows', () => {
    const doc = layout([
      page([
        run('A', 72, 100),
        run('B', 300, 100),
        run('C', 72, 114),
        run('D', 300, 114),
        run('far', 450, 128),
        run('off', 500, 128),
      ]),
    ]);
    expect(texts(doc, 'Table')).toEqual(['ABCD']);
    expect(texts(doc, 'Text')).toEqual(['far off']);
  });
});

describe('headings', () => {
  const body = (y: number) => lines([LINE, LINE], 72, y);

  it('levels headings by the rank of their size, larger first, when there is no outline', () => {
    const doc = layout([
      page([
        run('Title', 72, 60, 20),
        ...body(90),
        run('Part', 72, 140, 14),
        ...body(170),
        run('Detail', 72, 220, 12),
        ...body(250),
      ]),
    ]);
    const headers = blocks(doc).filter((b) => b.type === 'SectionHeader');
    expect(headers.map((h) => [h.text, h.block.level])).toEqual([
      ['Title', 1],
      ['Part', 2],
      ['Detail', 3],
    ]);
    const detail = headers[2]?.block;
    expect(detail?.section_hierarchy).toEqual({
      '1': headers[0]?.block.id,
      '2': headers[1]?.block.id,
      '3': detail?.id,
    });
    expect(doc.metadata?.table_of_contents?.map((t) => [t.title, t.heading_level, t.page_id])).toEqual([
      ['Title', 1, 0],
      ['Part', 2, 0],
      ['Detail', 3, 0],
    ]);
  });

  it('takes levels from the outline: found entries at their depth, other sizes after the size above', () => {
    const doc = layout(
      [
        page([
          run('Big Title', 72, 60, 20),
          ...body(90),
          run('1. Methods', 72, 140, 14),
          ...body(170),
          run('Sub part', 72, 220, 12),
          ...body(250),
          run('Results', 72, 300, 10, BOLD),
          ...body(320),
        ]),
      ],
      [
        { title: 'Methods', depth: 0, page: 0 },
        { title: 'RESULTS', depth: 1, page: 0 },
      ],
    );
    const headers = blocks(doc).filter((b) => b.type === 'SectionHeader');
    expect(headers.map((h) => [h.text, h.block.level])).toEqual([
      ['Big Title', 1],
      ['1. Methods', 1],
      ['Sub part', 2],
      ['Results', 2],
    ]);
    const toc = doc.metadata?.table_of_contents ?? [];
    expect(toc.map((t) => [t.title, t.heading_level, t.page_id, t.polygon?.[0]])).toEqual([
      ['Methods', 1, 0, [72, 128.8]],
      ['RESULTS', 2, 0, [72, 292]],
    ]);
  });
});

describe('furniture, lists and paragraphs', () => {
  it('makes page numbers and a margin line repeated on two pages furniture, and leaves a unique one text', () => {
    const pages = [0, 1].map((i) =>
      page(
        [
          run('Running head', 72, 30),
          ...(i === 0 ? [run('Preprint, not reviewed', 300, 40)] : []),
          ...lines([LINE], 72, 100),
          run(String(i + 1), 300, 770),
        ],
        i,
      ),
    );
    const doc = layout(pages);
    expect(texts(doc, 'PageHeader')).toEqual(['Running head', 'Running head']);
    expect(texts(doc, 'PageFooter')).toEqual(['1', '2']);
    expect(texts(doc, 'Text')).toEqual(['Preprint, not reviewed', LINE, LINE]);
  });

  it('groups bulleted and numbered items, continues an item over its indented lines, and ends it', () => {
    const doc = layout([
      page([
        ...lines([LINE], 72, 100),
        run('• first item', 90, 124),
        run('runs on here', 100, 136),
        run('• second item', 90, 148),
        run('After the list.', 72, 172),
        run('3. third', 90, 196),
        run('4. fourth', 90, 208),
      ]),
    ]);
    expect(texts(doc, 'ListItem')).toEqual(['first item runs on here', 'second item', 'third', 'fourth']);
    const groups = blocks(doc).filter((b) => b.type === 'ListGroup');
    expect(groups.map((g) => g.block.html?.replace(/<content-ref[^>]*><\/content-ref>/g, '·'))).toEqual([
      "<p block-type='ListGroup'><ul>··</ul></p>",
      '<p block-type=\'ListGroup\'><ol start="3">··</ol></p>',
    ]);
    expect(texts(doc, 'Text')).toEqual([LINE, 'After the list.']);
  });

  it('starts a paragraph at a blank, a first-line indent or a change of font, and joins a word broken by a hyphen', () => {
    const doc = layout([
      page([
        run('One para-', 72, 100),
        run('graph here.', 72, 112),
        run('Indented start', 90, 124),
        run('continues.', 72, 136),
        run('After a blank.', 72, 170),
        run('Set in italics.', 72, 182, 10, ITALIC),
      ]),
    ]);
    expect(texts(doc, 'Text')).toEqual([
      'One para-graph here.',
      'Indented start continues.',
      'After a blank.',
      'Set in italics.',
    ]);
  });

  it('escapes html and marks bold and italic runs inside a paragraph', () => {
    const doc = layout([
      page([run('if a < b &', 72, 100), run('bold', 125, 100, 10, BOLD), run('then "x"', 148, 100)]),
    ]);
    expect(blocks(doc)[0]?.block.html).toBe('<p>if a &lt; b &amp; <b>bold</b> then &quot;x&quot;</p>');
  });
});

describe('authorsOf', () => {
  it('splits on semicolons and "and", and on commas only between full names', () => {
    expect(authorsOf('Ada Brennan; Luis Ortega')).toEqual(['Ada Brennan', 'Luis Ortega']);
    expect(authorsOf('Ada Brennan and Luis Ortega')).toEqual(['Ada Brennan', 'Luis Ortega']);
    expect(authorsOf('Ada Brennan, Luis Ortega')).toEqual(['Ada Brennan', 'Luis Ortega']);
    expect(authorsOf('Brennan, Ada')).toEqual(['Brennan, Ada']);
  });
});
