// PDFs whose structure is known exactly, written with pdfkit for the extractor's tests and benchmark: a report
// with metadata, an outline, headings at three sizes, paragraphs, a bullet and a numbered list, a captioned table
// and running headers and page numbers; a two-column page; an encrypted one; one with only drawn shapes; one of
// many pages; broken files (not a PDF, truncated); and the example PDF of examples/marker. Dates are fixed, so the
// same call writes the same bytes.
import { realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import PDFDocument from 'pdfkit';

const BODY = { font: 'Helvetica', size: 11 } as const;
const HEADING = [
  { font: 'Helvetica-Bold', size: 24 },
  { font: 'Helvetica-Bold', size: 16 },
  { font: 'Helvetica-Bold', size: 13 },
] as const;
const SMALL = 9;
const MARGIN = 72;
const CREATED = new Date('2024-03-12T10:15:00Z');

type Outline = PDFKit.PDFOutline;

/** The bytes pdfkit writes for `doc` once `draw` has drawn on it. */
async function render(options: PDFKit.PDFDocumentOptions, draw: (doc: PDFKit.PDFDocument) => void) {
  const doc = new PDFDocument({ size: 'LETTER', margin: MARGIN, ...options });
  const chunks: Uint8Array[] = [];
  doc.on('data', (chunk: Uint8Array) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  draw(doc);
  doc.end();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

/** Writes a report page by page: headings (with their outline entries), paragraphs, lists, tables, furniture. */
class ReportWriter {
  private readonly outlines: (Outline | undefined)[];
  private page = 1;

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly runningHeader: string,
  ) {
    this.outlines = [doc.outline];
    this.footer();
  }

  /** A heading of `level` (1–3); listed in the outline under its parent unless `inOutline` is false. */
  heading(level: 1 | 2 | 3, text: string, inOutline = true): this {
    const style = HEADING[level - 1] as (typeof HEADING)[number];
    this.doc.moveDown(level === 1 ? 0 : 0.6);
    this.doc.font(style.font).fontSize(style.size).text(text, MARGIN);
    this.doc.moveDown(0.4);
    const parent = this.outlines[level - 1];
    this.outlines.length = level;
    if (inOutline && parent) this.outlines[level] = parent.addItem(text);
    return this;
  }

  paragraph(text: string): this {
    this.doc.font(BODY.font).fontSize(BODY.size).text(text, MARGIN, undefined, { align: 'left' });
    this.doc.moveDown(0.8);
    return this;
  }

  /** Lines starting with `•`, or with `1.`, `2.`… when `numbered`. */
  list(items: string[], numbered = false): this {
    this.doc.font(BODY.font).fontSize(BODY.size);
    items.forEach((item, i) => {
      this.doc.text(`${numbered ? `${i + 1}.` : '•'} ${item}`, MARGIN + 18);
    });
    this.doc.moveDown(0.8);
    return this;
  }

  /** A caption line, then a grid: the header row in bold, columns 130 points apart. */
  table(caption: string, header: string[], rows: string[][]): this {
    const { doc } = this;
    doc.font('Helvetica-Oblique').fontSize(10).text(caption, MARGIN);
    doc.moveDown(0.5);
    let y = doc.y;
    for (const [r, row] of [header, ...rows].entries()) {
      doc.font(r === 0 ? 'Helvetica-Bold' : BODY.font).fontSize(BODY.size);
      for (const [c, cell] of row.entries()) doc.text(cell, MARGIN + c * 130, y, { lineBreak: false });
      y += 18;
    }
    doc.x = MARGIN;
    doc.y = y;
    doc.moveDown(0.8);
    return this;
  }

  newPage(): this {
    this.doc.addPage();
    this.page++;
    this.doc.font(BODY.font).fontSize(SMALL).text(this.runningHeader, MARGIN, 36, { lineBreak: false });
    this.doc.x = MARGIN;
    this.doc.y = MARGIN;
    this.footer();
    return this;
  }

  /** The page number, centred below the bottom margin (which is lifted for it: pdfkit would start a page). */
  private footer(): void {
    const { doc } = this;
    const [x, y, bottom] = [doc.x, doc.y, doc.page.margins.bottom];
    doc.page.margins.bottom = 0;
    doc.font(BODY.font).fontSize(SMALL);
    doc.text(String(this.page), 0, doc.page.height - 40, { width: doc.page.width, align: 'center', lineBreak: false });
    doc.page.margins.bottom = bottom;
    doc.x = x;
    doc.y = y;
  }
}

/** What `reportPdf` writes, for the tests to compare with. */
export const REPORT = {
  title: 'Field Notes on Soil Moisture',
  author: 'Ada Brennan; Luis Ortega',
  subject: 'A three-site soil moisture survey',
  keywords: 'soil, moisture, survey',
  created: CREATED,
  bullets: [
    'Probes were read every morning before nine.',
    'Each reading was logged with its depth and site.',
    'Missing readings were marked rather than estimated.',
  ],
  steps: ['Choose three sites of different soil.', 'Install two probes per site.', 'Read them daily for six weeks.'],
  tableHeader: ['Site', 'Readings', 'Mean moisture (%)'],
  tableRows: [
    ['North meadow', '42', '31.5'],
    ['River bank', '40', '38.2'],
    ['Hill top', '39', '22.7'],
  ],
} as const;

/**
 * Three pages: the title (24 pt) and "1 Introduction" (16 pt) with a paragraph, the bullet list and another
 * paragraph on page 0; "2 Method" with "2.1 Sites" (13 pt) and its numbered list, and "2.2 Instruments" (13 pt,
 * left out of the outline) on page 1; "3 Results" with the captioned table on page 2. Pages 1 and 2 carry the
 * title as a running header; every page its number at the bottom.
 */
export function reportPdf(): Promise<Uint8Array> {
  const info = {
    Title: REPORT.title,
    Author: REPORT.author,
    Subject: REPORT.subject,
    Keywords: REPORT.keywords,
    CreationDate: CREATED,
  };
  return render({ info }, (doc) => {
    new ReportWriter(doc, REPORT.title)
      .heading(1, REPORT.title)
      .paragraph(
        'These notes record six weeks of soil moisture readings taken at three sites, with the method used to take ' +
          'them and what they showed.',
      )
      .heading(2, '1 Introduction')
      .paragraph('Moisture was measured with capacitance probes buried at two depths. The survey kept three rules:')
      .list([...REPORT.bullets])
      .paragraph('The readings are kept in the survey log, from which every figure here was computed.')
      .newPage()
      .heading(2, '2 Method')
      .paragraph('The survey ran from the first of April to the middle of May, through one long dry spell.')
      .heading(3, '2.1 Sites')
      .list([...REPORT.steps], true)
      .heading(3, '2.2 Instruments', false)
      .paragraph('Each probe was calibrated against oven-dried samples of its own soil before it was buried.')
      .newPage()
      .heading(2, '3 Results')
      .table(
        'Table 1: Mean moisture by site',
        [...REPORT.tableHeader],
        REPORT.tableRows.map((r) => [...r]),
      )
      .paragraph('The river bank stayed wettest throughout; the hill top dried fastest after each rain.');
  });
}

/**
 * The example PDF of examples/marker (four pages of a short guide, text written for it): a title, sections with
 * subsections in the outline, bullet and numbered lists, two captioned tables, running headers and page numbers.
 * `node --import tsx test/support/pdfs.ts examples/marker/sample.pdf` writes it again.
 */
export function samplePdf(): Promise<Uint8Array> {
  const title = 'Running a Community Seed Library';
  const info = {
    Title: title,
    Author: 'Maren Holt; Idris Okafor',
    Subject: 'How a small lending library of garden seed is collected, stored and kept going',
    Keywords: 'seed saving, gardening, libraries',
    CreationDate: new Date('2025-04-02T09:00:00Z'),
  };
  return render({ info }, (doc) => {
    new ReportWriter(doc, title)
      .heading(1, title)
      .paragraph(
        'A seed library lends seed the way a book library lends books: a gardener borrows a packet in spring, grows ' +
          'the plants, and returns seed saved from them in autumn. This guide describes how one such library is run ' +
          'by volunteers in a shared building, with a budget of a few envelopes and a cupboard.',
      )
      .heading(2, '1 Why a library')
      .paragraph('Seed that is grown and saved locally adapts, season after season, to the soil and weather it meets.')
      .list([
        'Varieties that suit the area are kept in use.',
        'New gardeners start without buying seed.',
        'Borrowers learn to save seed by doing it once.',
      ])
      .paragraph('The library asks for nothing but seed back, and does not mind when a harvest fails.')
      .newPage()
      .heading(2, '2 Collecting seed')
      .paragraph(
        'Most returned seed comes from tomatoes, beans, peas and lettuce, which set seed true to type without help. ' +
          'Squash and maize cross readily and are only accepted from growers who keep varieties apart.',
      )
      .heading(3, '2.1 Choosing plants')
      .paragraph('Seed is taken from several healthy plants, never from the first or last fruit of one plant alone.')
      .heading(3, '2.2 Drying and cleaning')
      .list(
        [
          'Spread the seed on paper in a dry, shaded room.',
          'Turn it daily for one to two weeks.',
          'Rub away chaff and sieve out broken seed.',
          'Label each envelope with variety, year and grower.',
        ],
        true,
      )
      .newPage()
      .heading(2, '3 Storage')
      .paragraph(
        'Envelopes are kept in sealed jars in a cool cupboard. Each jar holds one crop, with a sachet of dried rice ' +
          'to take up damp. The table gives how long seed kept this way is still worth lending.',
      )
      .table(
        'Table 1: How long stored seed stays viable',
        ['Crop', 'Seeds per gram', 'Years viable'],
        [
          ['Tomato', '300', '4'],
          ['Lettuce', '800', '3'],
          ['Bean', '4', '3'],
          ['Pea', '5', '3'],
        ],
      )
      .heading(3, '3.1 Checking germination')
      .paragraph('Each winter ten seeds of every stored batch are sown on damp paper; a batch below six is withdrawn.')
      .newPage()
      .heading(2, '4 Lending and returns')
      .paragraph(
        'Borrowers take up to five packets at a time and write what they took in the lending book. Returns are ' +
          'weighed, labelled and left to dry for a week before they are stored with the rest.',
      )
      .table(
        'Table 2: Packets lent and returned last season',
        ['Month', 'Lent', 'Returned'],
        [
          ['March', '112', '0'],
          ['April', '86', '3'],
          ['September', '9', '64'],
          ['October', '2', '71'],
        ],
      )
      .paragraph(
        'About two packets in three come back; the library plans on that when it decides what to grow itself.',
      );
  });
}

const WORDS = (
  'moisture probes were read each morning and the values logged with depth and site so that later analysis ' +
  'could compare the three soils across the whole survey while dry spells and rain showed in every series'
).split(' ');

/** `count` words of filler text starting at word `from`. */
function filler(from: number, count: number): string {
  const words = Array.from({ length: count }, (_, i) => WORDS[(from + i) % WORDS.length]);
  return `${words.join(' ')}.`.replace(/^./, (c) => c.toUpperCase());
}

/**
 * A page with a full-width heading, then two columns of text (left: two paragraphs starting "Left one" and "Left
 * two"; right: "Right one", "Right two") whose lines share baselines, then a full-width closing paragraph
 * ("Closing").
 */
export function twoColumnPdf(): Promise<Uint8Array> {
  return render({ info: { Title: 'Two columns', CreationDate: CREATED } }, (doc) => {
    doc.font(HEADING[1].font).fontSize(HEADING[1].size).text('A Two-Column Page', MARGIN, MARGIN);
    const top = doc.y + 14;
    const width = 216;
    const column = (x: number, first: string, second: string) => {
      doc.font(BODY.font).fontSize(BODY.size);
      doc.text(`${first} ${filler(0, 40)}`, x, top, { width });
      doc.moveDown(0.8);
      doc.text(`${second} ${filler(7, 36)}`, x, undefined, { width });
      return doc.y;
    };
    const bottom = Math.max(
      column(MARGIN, 'Left one.', 'Left two.'),
      column(MARGIN + width + 36, 'Right one.', 'Right two.'),
    );
    doc.text(`Closing. ${filler(3, 30)}`, MARGIN, bottom + 14, { width: 468 });
  });
}

/** A one-page PDF that opens only with the password `secret`. */
export function encryptedPdf(): Promise<Uint8Array> {
  return render({ userPassword: 'secret', pdfVersion: '1.7' }, (doc) => {
    doc.font(BODY.font).fontSize(BODY.size).text('Nothing to see without the password.');
  });
}

/** Two pages of drawn rectangles and circles and no text at all, as a scan without a text layer looks. */
export function shapesOnlyPdf(): Promise<Uint8Array> {
  return render({}, (doc) => {
    doc.rect(72, 72, 200, 120).fill('#336699');
    doc.circle(400, 300, 60).fill('#993333');
    doc.addPage();
    doc.rect(100, 100, 300, 300).stroke();
  });
}

/** A PDF with no page at all. */
export function noPagesPdf(): Promise<Uint8Array> {
  return render({ autoFirstPage: false }, () => undefined);
}

/**
 * `pages` pages, each with a heading (a new level-2 section every page, a level-1 part every ten), three
 * paragraphs, a five-item list every other page and a four-row table every third.
 */
export function longPdf(pages: number): Promise<Uint8Array> {
  return render({ info: { Title: `A ${pages}-page survey log`, CreationDate: CREATED } }, (doc) => {
    const writer = new ReportWriter(doc, `A ${pages}-page survey log`);
    for (let p = 0; p < pages; p++) {
      if (p > 0) writer.newPage();
      if (p % 10 === 0) writer.heading(1, `Part ${p / 10 + 1}`);
      writer.heading(2, `${p + 1} Day ${p + 1} of the survey`);
      for (let i = 0; i < 3; i++) writer.paragraph(filler(p + i * 5, 28 + i * 6));
      if (p % 2 === 0) writer.list([0, 1, 2, 3, 4].map((i) => filler(p + i, 7)));
      if (p % 3 === 0)
        writer.table(
          `Table ${p + 1}: Readings of day ${p + 1}`,
          ['Site', 'Morning', 'Evening'],
          ['North', 'River', 'Hill'].map((site, i) => [site, `${20 + ((p + i) % 17)}.5`, `${18 + ((p * i) % 13)}.0`]),
        );
    }
  });
}

/** The first half of the report's bytes: a PDF cut off in the middle. */
export async function truncatedPdf(): Promise<Uint8Array> {
  const whole = await reportPdf();
  return whole.slice(0, Math.floor(whole.length / 2));
}

/** Bytes that are not a PDF at all. */
export function notAPdf(): Uint8Array {
  return new TextEncoder().encode('Quarterly figures\nnorth,31.5\nriver,38.2\n');
}

/** Run as a program: writes the example PDF to the path given. */
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node --import tsx test/support/pdfs.ts OUT.pdf');
  writeFileSync(out, await samplePdf());
}
