// extractPdf on PDFs written by pdfkit (test/support/pdfs.ts), read by the real pdf.js: the report's headings,
// hierarchy, lists, table, furniture, table of contents and metadata exactly; a two-column page's reading order;
// every block placed and named well; the document valid against its schema and the example requirements; the
// example PDF of examples/marker; each kind of bad PDF refused by name; and pdf.js loaded only once extraction
// is asked for.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encryptedPdf,
  longPdf,
  noPagesPdf,
  notAPdf,
  REPORT,
  reportPdf,
  shapesOnlyPdf,
  truncatedPdf,
  twoColumnPdf,
} from '../../test/support/pdfs.js';
import type { DocumentBlock, PdfDocument } from '../exchange/pdf/document-schema.js';
import { DOCUMENT_SCHEMA, EXAMPLE_REQUIREMENTS, validatePdfFormat } from '../exchange/pdf/index.js';
import { validateValue } from '../exchange/validator.js';
import { extractPdf } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'cc-pdf-extract-'));
const write = async (name: string, bytes: Uint8Array | Promise<Uint8Array>) => {
  const path = join(dir, name);
  writeFileSync(path, await bytes);
  return path;
};

/** Every block with its page index, depth first in reading order. */
function allBlocks(doc: PdfDocument): DocumentBlock[] {
  const out: DocumentBlock[] = [];
  const visit = (b: DocumentBlock) => {
    out.push(b);
    for (const c of b.children ?? []) visit(c);
  };
  for (const page of doc.children) visit(page);
  return out;
}

const text = (b: DocumentBlock | undefined) => (b?.html ?? '').replace(/<[^>]*>/g, '');
const ofType = (doc: PdfDocument, type: string) => allBlocks(doc).filter((b) => b.block_type === type);

let report: PdfDocument;
let reportPath: string;
const pagesSeen: [number, number][] = [];

beforeAll(async () => {
  reportPath = await write('field-notes.pdf', reportPdf());
  report = await extractPdf(reportPath, { onPage: (done, total) => pagesSeen.push([done, total]) });
});

describe('extractPdf on a report', () => {
  it('finds the headings at the levels their sizes and the outline give, on their pages', () => {
    expect(ofType(report, 'SectionHeader').map((h) => [text(h), h.level, h.page, h.html?.slice(0, 4)])).toEqual([
      ['Field Notes on Soil Moisture', 1, 0, '<h1>'],
      ['1 Introduction', 2, 0, '<h2>'],
      ['2 Method', 2, 1, '<h2>'],
      ['2.1 Sites', 3, 1, '<h3>'],
      ['2.2 Instruments', 3, 1, '<h3>'],
      ['3 Results', 2, 2, '<h2>'],
    ]);
  });

  it('gives every block the headers above it, as titles by level', () => {
    const byId = new Map(allBlocks(report).map((b) => [b.id, b]));
    const path = (b: DocumentBlock | undefined) =>
      Object.entries(b?.section_hierarchy ?? {}).map(([level, id]) => `${level}:${text(byId.get(id))}`);
    const find = (t: string) => allBlocks(report).find((b) => b.block_type !== 'Page' && text(b).startsWith(t));
    expect(path(find('These notes record'))).toEqual(['1:Field Notes on Soil Moisture']);
    expect(path(find('Probes were read'))).toEqual(['1:Field Notes on Soil Moisture', '2:1 Introduction']);
    expect(path(find('Install two probes'))).toEqual(['1:Field Notes on Soil Moisture', '2:2 Method', '3:2.1 Sites']);
    expect(path(find('Each probe was calibrated'))).toEqual([
      '1:Field Notes on Soil Moisture',
      '2:2 Method',
      '3:2.2 Instruments',
    ]);
    expect(path(find('North meadow'))).toEqual(['1:Field Notes on Soil Moisture', '2:3 Results']);
    expect(report.children.map((p) => p.section_hierarchy)).toEqual([null, null, null]);
  });

  it('reads the bullet list and the numbered list as list groups of their items', () => {
    const groups = ofType(report, 'ListGroup');
    expect(groups.map((g) => [g.page, /<ul>/.test(g.html ?? '') ? 'ul' : 'ol', g.children?.map(text)])).toEqual([
      [0, 'ul', [...REPORT.bullets]],
      [1, 'ol', [...REPORT.steps]],
    ]);
  });

  it('reads the table with its header row and its caption', () => {
    const [group] = ofType(report, 'TableGroup');
    expect(group?.page).toBe(2);
    expect(group?.children?.map((c) => [c.block_type, text(c)])).toEqual([
      ['Caption', 'Table 1: Mean moisture by site'],
      ['Table', expect.stringContaining('SiteReadingsMean moisture (%)North meadow4231.5')],
    ]);
    const cells = group?.children?.[1]?.children ?? [];
    expect(cells.map((c) => [c.row_id, c.col_id, c.is_header, text(c)])).toEqual(
      [REPORT.tableHeader, ...REPORT.tableRows].flatMap((row, r) => row.map((cell, c) => [r, c, r === 0, cell])),
    );
  });

  it('keeps paragraphs whole and running headers and page numbers apart', () => {
    expect(ofType(report, 'Text').map(text)).toEqual([
      'These notes record six weeks of soil moisture readings taken at three sites, with the method used to take ' +
        'them and what they showed.',
      'Moisture was measured with capacitance probes buried at two depths. The survey kept three rules:',
      'The readings are kept in the survey log, from which every figure here was computed.',
      'The survey ran from the first of April to the middle of May, through one long dry spell.',
      'Each probe was calibrated against oven-dried samples of its own soil before it was buried.',
      'The river bank stayed wettest throughout; the hill top dried fastest after each rain.',
    ]);
    expect(ofType(report, 'PageHeader').map((b) => [b.page, text(b)])).toEqual([
      [1, REPORT.title],
      [2, REPORT.title],
    ]);
    expect(ofType(report, 'PageFooter').map((b) => [b.page, text(b)])).toEqual([
      [0, '1'],
      [1, '2'],
      [2, '3'],
    ]);
  });

  it('takes the table of contents from the outline, each entry placed on its heading', () => {
    const headers = new Map(ofType(report, 'SectionHeader').map((h) => [text(h), h]));
    expect(report.metadata?.table_of_contents).toEqual(
      [
        ['Field Notes on Soil Moisture', 1, 0],
        ['1 Introduction', 2, 0],
        ['2 Method', 2, 1],
        ['2.1 Sites', 3, 1],
        ['3 Results', 2, 2],
      ].map(([title, heading_level, page_id]) => ({
        title,
        heading_level,
        page_id,
        polygon: headers.get(title as string)?.polygon,
      })),
    );
  });

  it("carries the PDF's metadata and reports each page as it is read", () => {
    const { table_of_contents, page_stats, ...metadata } = report.metadata ?? {};
    expect(metadata).toEqual({
      title: REPORT.title,
      author: REPORT.author,
      authors: ['Ada Brennan', 'Luis Ortega'],
      subject: REPORT.subject,
      keywords: ['soil', 'moisture', 'survey'],
      published: '2024-03-12T10:15:00.000Z',
      producer: 'PDFKit',
      creator: 'PDFKit',
      pageCount: 3,
      filename: 'field-notes.pdf',
    });
    expect(page_stats?.map((s) => [s.page_id, s.columns, s.text_extraction_method])).toEqual([
      [0, 1, 'pdfjs'],
      [1, 1, 'pdfjs'],
      [2, 1, 'pdfjs'],
    ]);
    expect(pagesSeen).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('names and places every block: ids by page and type, unique, boxes on the page and round their children', () => {
    const ids = new Set<string>();
    for (const [p, page] of report.children.entries()) {
      expect(page.id).toBe(`/page/${p}/Page/0`);
      expect(page.bbox).toEqual([0, 0, 612, 792]);
      const check = (block: DocumentBlock, parent: DocumentBlock) => {
        const match = /^\/page\/(\d+)\/([A-Za-z]+)\/(\d+)$/.exec(block.id);
        expect([match?.[1], match?.[2], ids.has(block.id)]).toEqual([String(p), block.block_type, false]);
        ids.add(block.id);
        const [x0, y0, x1, y1] = block.bbox as [number, number, number, number];
        const [px0, py0, px1, py1] = parent.bbox as [number, number, number, number];
        expect(x0 <= x1 && y0 <= y1 && x0 >= px0 - 1 && y0 >= py0 - 1 && x1 <= px1 + 1 && y1 <= py1 + 1).toBe(true);
        expect(block.polygon).toEqual([
          [x0, y0],
          [x1, y0],
          [x1, y1],
          [x0, y1],
        ]);
        expect(block.page).toBe(p);
        for (const child of block.children ?? []) check(child, block);
      };
      for (const block of page.children ?? []) check(block, page);
      expect(page.html).toBe((page.children ?? []).map((b) => `<content-ref src='${b.id}'></content-ref>`).join(''));
    }
    expect(ids.size).toBe(40);
  });

  it('validates against document@1.0.0 and passes the example requirements', () => {
    expect(validateValue(DOCUMENT_SCHEMA, report).issues).toEqual([]);
    expect(validatePdfFormat(report, EXAMPLE_REQUIREMENTS).issues).toEqual([]);
  });
});

describe('extractPdf on other layouts', () => {
  it('reads a two-column page left column first, between its full-width heading and closing paragraph', async () => {
    const doc = await extractPdf(await twoColumnPdf(), { name: 'two-columns.pdf' });
    expect(
      allBlocks(doc)
        .slice(1)
        .map((b) => [b.block_type, text(b).split(' ').slice(0, 2).join(' ')]),
    ).toEqual([
      ['SectionHeader', 'A Two-Column'],
      ['Text', 'Left one.'],
      ['Text', 'Left two.'],
      ['Text', 'Right one.'],
      ['Text', 'Right two.'],
      ['Text', 'Closing. Read'],
    ]);
    expect(doc.metadata?.page_stats?.[0]?.columns).toBe(2);
    expect(doc.metadata?.filename).toBe('two-columns.pdf');
    expect(validateValue(DOCUMENT_SCHEMA, doc).valid).toBe(true);
  });

  it('leaves a page pdf.js cannot read empty, its error in page_stats, and reads the others', async () => {
    const pdf = Buffer.from(await reportPdf()).toString('latin1');
    // The second page's resources made unreadable, in as many bytes, so the cross-reference table still holds.
    const second = [...pdf.matchAll(/\/Resources (\d+) 0 R/g)][1] as RegExpMatchArray;
    const at = second.index as number;
    const broken = `${pdf.slice(0, at)}/Resources )${second[1]?.slice(1)} 0 R${pdf.slice(at + second[0].length)}`;
    const doc = await extractPdf(new Uint8Array(Buffer.from(broken, 'latin1')), { name: 'broken.pdf' });
    expect(doc.metadata?.page_stats?.slice(0, 2).map((s) => s.error)).toEqual([undefined, 'Illegal character: 41']);
    expect(doc.children[1]?.children).toEqual([]);
    expect(ofType(doc, 'SectionHeader').map(text)).toEqual(['Field Notes on Soil Moisture', '1 Introduction']);
    expect(validateValue(DOCUMENT_SCHEMA, doc).valid).toBe(true);
  });

  it('stops at maxPages, saying how many pages there were', async () => {
    const doc = await extractPdf(await longPdf(12), { maxPages: 5 });
    expect(doc.children.length).toBe(5);
    expect([doc.metadata?.pageCount, doc.metadata?.pagesExtracted]).toEqual([12, 5]);
    expect(doc.metadata?.table_of_contents?.map((t) => t.page_id)).toEqual([0, 0, 1, 2, 3, 4]);
    expect(validatePdfFormat(doc, EXAMPLE_REQUIREMENTS).issues).toEqual([]);
  });
});

describe('the example PDF (examples/marker/sample.pdf)', () => {
  it('reads as its four pages of headings, lists and captioned tables, meeting the example requirements', async () => {
    const sample = await extractPdf(new URL('../../examples/marker/sample.pdf', import.meta.url).pathname);
    expect(ofType(sample, 'SectionHeader').map((h) => `${h.level} ${text(h)}`)).toEqual([
      '1 Running a Community Seed Library',
      '2 1 Why a library',
      '2 2 Collecting seed',
      '3 2.1 Choosing plants',
      '3 2.2 Drying and cleaning',
      '2 3 Storage',
      '3 3.1 Checking germination',
      '2 4 Lending and returns',
    ]);
    expect(ofType(sample, 'ListGroup').map((g) => g.children?.length)).toEqual([3, 4]);
    expect(ofType(sample, 'Caption').map(text)).toEqual([
      'Table 1: How long stored seed stays viable',
      'Table 2: Packets lent and returned last season',
    ]);
    expect(ofType(sample, 'TableCell').length).toBe(30);
    expect([sample.metadata?.pageCount, sample.metadata?.authors]).toEqual([4, ['Maren Holt', 'Idris Okafor']]);
    expect(validatePdfFormat(sample, EXAMPLE_REQUIREMENTS).issues).toEqual([]);
  });
});

describe('extractPdf refuses bad input by name', () => {
  const refused = async (input: Uint8Array | string | Promise<Uint8Array>, options = {}) => {
    const err = await extractPdf(await input, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { code: (err as { code?: string })?.code, message: (err as Error)?.message };
  };

  it('an encrypted PDF: it needs a password, which extraction does not take', async () => {
    expect(await refused(await write('locked.pdf', encryptedPdf()))).toEqual({
      code: 'validation',
      message:
        `${join(dir, 'locked.pdf')} is encrypted: it opens only with a password, and extraction does not take ` +
        'passwords; save a decrypted copy first (e.g. qpdf --decrypt --password=… in.pdf out.pdf)',
    });
  });

  it('a PDF with no text layer: a scan, and OCR is not done', async () => {
    expect(await refused(shapesOnlyPdf(), { name: 'scan.pdf' })).toEqual({
      code: 'validation',
      message:
        'scan.pdf has no text layer (none of its 2 pages has any text): it looks like a scanned document, and OCR ' +
        'is not done here; run it through an OCR tool (e.g. ocrmypdf) and extract the result',
    });
  });

  it('a PDF without pages, a file that is not a PDF, a truncated one, an empty one', async () => {
    expect(await refused(noPagesPdf(), { name: 'blank.pdf' })).toEqual({
      code: 'validation',
      message: 'blank.pdf has no pages',
    });
    expect(await refused(await write('figures.csv', notAPdf()))).toEqual({
      code: 'validation',
      message: `${join(dir, 'figures.csv')} is not a PDF, or is too damaged to read (pdf.js: Invalid PDF structure.)`,
    });
    expect(await refused(truncatedPdf(), { name: 'cut.pdf' })).toEqual({
      code: 'validation',
      message: 'cut.pdf is not a PDF, or is too damaged to read (pdf.js: Invalid PDF structure.)',
    });
    expect(await refused(await write('empty.pdf', new Uint8Array()))).toEqual({
      code: 'validation',
      message: `${join(dir, 'empty.pdf')} is empty (0 bytes)`,
    });
  });

  it('a missing file, a folder, and options out of range', async () => {
    expect(await refused(join(dir, 'nowhere.pdf'))).toEqual({
      code: 'not_found',
      message: `${join(dir, 'nowhere.pdf')} does not exist`,
    });
    expect(await refused(dir)).toEqual({ code: 'validation', message: `${dir} is not a file` });
    expect(await refused(reportPath, { maxPages: 0 })).toEqual({
      code: 'validation',
      message: 'maxPages must be a whole number of at least 1 (got 0)',
    });
  });

  it('work past the time limit, named with what it was doing, instead of a wait without end', async () => {
    const started = Date.now();
    const { code, message } = await refused(longPdf(60), { timeoutMs: 50, name: 'long.pdf' });
    expect(code).toBe('timeout');
    expect(message).toMatch(
      /^long\.pdf: extraction did not finish within 0\.05 s \((opening it|reading page \d+ of 60)\)$/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('loading pdf.js', () => {
  it('happens at the first extraction, not when the library or a hub is opened', async () => {
    const script = `
      const { openHub, extractPdf } = await import(${JSON.stringify(new URL('../index.ts', import.meta.url).href)});
      const hub = await openHub({ database: 'sqlite:' + ${JSON.stringify(join(dir, 'hub.db'))}, config: false });
      const before = typeof globalThis.pdfjsLib;
      await hub.close();
      await extractPdf(${JSON.stringify(reportPath)});
      console.log(JSON.stringify([before, typeof globalThis.pdfjsLib]));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop() as string)).toEqual(['undefined', 'object']);
  });
});
