/**
 * `extractPdf`: the bundled PDF extractor. It reads a PDF with pdf.js (loaded on first use) and returns its
 * structure as a `document@1.0.0`, in the shape of marker's JSON output, with no model and no network:
 *
 * - Text runs with their positions and fonts (`getTextContent`, fonts' names from the operator list) become rows,
 *   and rows segments where a wide gap cuts them (`lines.ts`).
 * - Reading order (`reading-order.ts`): a page is two columns when a vertical gutter near its middle is crossed by
 *   no column-sized segment and at least three lines stand wholly on each side; it is then read in bands down the
 *   page — a row crossing the gutter (title, abstract, wide table) where it stands, the rows between two such rows
 *   left column first, then right. Any other page is read row by row. Best effort: three columns, or columns
 *   interleaved with floats, are read as that rule makes them.
 * - Running headers and footers (page numbers; text repeated in a margin) become PageHeader and PageFooter
 *   (`furniture.ts`); lines cut into the same columns over two rows or more become a Table of TableCells
 *   (`tables.ts`), with its "Table N" caption a TableGroup; lines starting with a bullet or number become
 *   ListItems in a ListGroup; other lines group into paragraphs by vertical gaps, size and font (`paragraphs.ts`).
 * - Headings (`headings.ts`): short blocks set larger than the body size (the size of most characters), levelled
 *   by the rank of their size, confirmed and corrected by the PDF's outline where it names them.
 * - Metadata: the PDF's title, author(s), subject, keywords, creation date (`published`), producer and page count;
 *   `table_of_contents` from the outline (from the headings found when there is none), `page_stats` per page.
 *
 * Bad input is a HubError naming the file: missing (`not_found`), too large (`too_large`), not a PDF, damaged,
 * encrypted, without pages, or without any text (a scan: OCR is not done) — all `validation` — and work past the
 * time limit (`timeout`). A page pdf.js cannot read is left empty, its error in its page_stats entry.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HubError } from '../domain/errors.js';
import type { PdfDocument } from '../exchange/pdf/document-schema.js';
import type { OutlineEntry } from './headings.js';
import { layoutDocument } from './layout.js';
import type { PageText } from './page-text.js';
import { type Bound, openPdf } from './pdfjs.js';

export interface ExtractPdfOptions {
  /** Called after each page is read, with the pages read so far and the pages to read. */
  onPage?(done: number, total: number): void;
  /** Reads at most this many pages, from the first (default 2,000); `metadata.pagesExtracted` says when fewer
   * than the PDF's `pageCount` were read. */
  maxPages?: number;
  /** Gives up with a `timeout` error after this long (default 10 minutes). */
  timeoutMs?: number;
  /** What the PDF is called in errors and `metadata.filename` when it is given as bytes. */
  name?: string;
}

/** 2,000 pages is a long book; its document is about 40 MB of JSON, under a workflow command's 64 MB. */
export const DEFAULT_MAX_PAGES = 2000;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Larger files are refused before they are read: pdf.js holds the whole file in memory, and more besides. */
export const MAX_PDF_BYTES = 256 * 1024 * 1024;
/** Page size assumed for a page pdf.js could not open: US Letter. */
const LETTER = { width: 612, height: 792 };

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The file's bytes and how to name it, or the HubError saying why it cannot be read. */
async function readInput(input: Uint8Array | string, name: string | undefined) {
  if (typeof input !== 'string') {
    const label = name ?? 'the PDF';
    if (input.byteLength > MAX_PDF_BYTES)
      throw new HubError('too_large', `${label} is ${megabytes(input.byteLength)}, more than the 256 MB read`);
    // A copy: pdf.js may take over (detach) the buffer it is given.
    return { data: new Uint8Array(input), label, filename: name && basename(name) };
  }
  const label = input;
  try {
    const info = await stat(input);
    if (!info.isFile()) throw new HubError('validation', `${label} is not a file`);
    if (info.size > MAX_PDF_BYTES)
      throw new HubError('too_large', `${label} is ${megabytes(info.size)}, more than the 256 MB read`);
    const bytes = await readFile(input);
    return { data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), label, filename: basename(input) };
  } catch (err) {
    if (err instanceof HubError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HubError('not_found', `${label} does not exist`);
    throw new HubError('validation', `${label} cannot be read: ${(err as Error).message}`);
  }
}

/** A bound that rejects whatever is waited on once `deadline` has passed, saying what was being done. */
function deadlineBound(deadline: number, label: string, limitMs: number, doing: () => string): Bound {
  return (work) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HubError('timeout', `${label}: extraction did not finish within ${limitMs / 1000} s (${doing()})`),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  };
}

/** Extracts the structure of the PDF at `input` (a path, or the file's bytes). */
export async function extractPdf(input: Uint8Array | string, options: ExtractPdfOptions = {}): Promise<PdfDocument> {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(maxPages) || maxPages < 1)
    throw new HubError('validation', `maxPages must be a whole number of at least 1 (got ${maxPages})`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new HubError('validation', `timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
  const { data, label, filename } = await readInput(input, options.name);
  if (data.byteLength === 0) throw new HubError('validation', `${label} is empty (0 bytes)`);

  let doing = 'opening it';
  const bound = deadlineBound(Date.now() + timeoutMs, label, timeoutMs, () => doing);
  const pdf = await openPdf(data, label, bound);
  try {
    if (pdf.pageCount === 0) throw new HubError('validation', `${label} has no pages`);
    const total = Math.min(pdf.pageCount, maxPages);
    const pages: PageText[] = [];
    const pageErrors = new Map<number, string>();
    for (let index = 0; index < total; index++) {
      doing = `reading page ${index + 1} of ${total}`;
      try {
        pages.push(await pdf.readPage(index));
      } catch (err) {
        if (err instanceof HubError) throw err;
        pageErrors.set(index, err instanceof Error ? err.message : String(err));
        const { width, height } = pages[index - 1] ?? LETTER;
        pages.push({ index, width, height, runs: [] });
      }
      options.onPage?.(index + 1, total);
    }
    if (pages.every((p) => p.runs.length === 0) && pageErrors.size > 0) {
      const [index, message] = pageErrors.entries().next().value as [number, string];
      const which =
        pageErrors.size === total
          ? total === 1
            ? 'its page cannot be read'
            : `none of its ${total} pages can be read`
          : `${pageErrors.size} of its ${total} pages cannot be read and the others have no text`;
      throw new HubError('validation', `${label} is damaged: ${which} (page ${index + 1}: ${message})`);
    }
    if (pages.every((p) => p.runs.length === 0))
      throw new HubError(
        'validation',
        `${label} has no text layer (${total === 1 ? 'its page has' : `none of its ${total} pages has`} any text): ` +
          'it looks like a scanned document, and OCR is not done here; run it through an OCR tool (e.g. ocrmypdf) ' +
          'and extract the result',
      );
    doing = 'reading the outline';
    const outline: OutlineEntry[] = await pdf.outline().catch((err: unknown) => {
      if (err instanceof HubError) throw err;
      return [];
    });
    doing = 'reading the metadata';
    const info = await pdf.info().catch((err: unknown) => {
      if (err instanceof HubError) throw err;
      return {};
    });
    return layoutDocument(pages, outline, info, {
      pageCount: pdf.pageCount,
      pageErrors,
      ...(filename && { filename }),
    });
  } finally {
    await pdf.close();
  }
}
