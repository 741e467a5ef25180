/**
 * Reading a PDF with pdf.js (`pdfjs-dist`, legacy build for Node 20): its pages' text runs placed on the page with
 * their fonts, its outline with the page of each entry, its information dictionary. pdf.js is imported on the
 * first extraction, never before: it weighs several megabytes and sets globals (DOMMatrix, navigator) as it loads.
 * Its failures become HubErrors naming the file; every wait on it is bounded by the extraction's deadline.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type {
  PDFDocumentLoadingTask,
  PDFDocumentProxy,
  PDFPageProxy,
  TextItem,
} from 'pdfjs-dist/types/src/display/api.js';
import { HubError } from '../domain/errors.js';
import type { OutlineEntry } from './headings.js';
import { type Box, type FontFace, type PageText, type PdfInfo, type TextRun, UNKNOWN_FONT } from './page-text.js';

type Pdfjs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let loading: Promise<Pdfjs> | undefined;
function pdfjs(): Promise<Pdfjs> {
  loading ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return loading;
}

/** pdf.js's character maps and standard font metrics, read from the installed package (never fetched). */
function packageFolder(name: 'cmaps' | 'standard_fonts'): string {
  return `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), name)}/`;
}

/** More outline entries than this are not read: a table of contents is for people. */
const MAX_OUTLINE = 5000;
/** A run whose baseline slopes more than this (sine of the angle, about 1°) is rotated text. */
const LEVEL = 0.02;

export interface OpenedPdf {
  pageCount: number;
  readPage(index: number): Promise<PageText>;
  outline(): Promise<OutlineEntry[]>;
  info(): Promise<PdfInfo>;
  close(): Promise<void>;
}

/** Waits for `work`, or throws the deadline's error once the deadline passes. */
export type Bound = <T>(work: Promise<T>) => Promise<T>;

const clean = (value: unknown): string | undefined => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stray NULs and controls of PDF strings are dropped
  const text = typeof value === 'string' ? value.replace(/[\u0000-\u001f]+/g, ' ').trim() : '';
  return text || undefined;
};

/** The HubError for what pdf.js threw while opening `label`. */
function openingError(err: unknown, label: string): HubError {
  const { name, message } = err instanceof Error ? err : { name: '', message: String(err) };
  if (name === 'PasswordException')
    return new HubError(
      'validation',
      `${label} is encrypted: it opens only with a password, and extraction does not take passwords; save a ` +
        'decrypted copy first (e.g. qpdf --decrypt --password=… in.pdf out.pdf)',
    );
  if (/size is zero bytes/.test(message)) return new HubError('validation', `${label} is empty (0 bytes)`);
  if (name === 'InvalidPDFException')
    return new HubError('validation', `${label} is not a PDF, or is too damaged to read (pdf.js: ${message})`);
  return new HubError('validation', `${label} cannot be read as a PDF (pdf.js: ${message})`, { cause: err });
}

/** Opens the PDF in `data` (which pdf.js takes over); `label` names it in errors. */
export async function openPdf(data: Uint8Array, label: string, bound: Bound): Promise<OpenedPdf> {
  const lib = await bound(pdfjs());
  const task: PDFDocumentLoadingTask = lib.getDocument({
    data,
    verbosity: lib.VerbosityLevel.ERRORS,
    // Nothing is evaluated, no font handed to a renderer, no image decoded: only text and fonts' names are read.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    maxImageSize: 1,
    cMapUrl: packageFolder('cmaps'),
    cMapPacked: true,
    standardFontDataUrl: packageFolder('standard_fonts'),
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await bound(task.promise);
  } catch (err) {
    await task.destroy().catch(() => undefined);
    throw err instanceof HubError ? err : openingError(err, label);
  }
  const fonts = new Map<string, FontFace>();
  return {
    pageCount: doc.numPages,
    readPage: (index) => bound(readPage(lib, doc, index, fonts)),
    outline: () => bound(readOutline(doc)),
    info: () => bound(readInfo(lib, doc)),
    close: () => task.destroy().catch(() => undefined),
  };
}

/** The font pdf.js knows as `key`, once the page's operator list has loaded it. */
function fontOf(page: PDFPageProxy, key: string): FontFace {
  if (!page.commonObjs.has(key)) return UNKNOWN_FONT(key);
  const font = page.commonObjs.get(key) as { name?: string; bold?: boolean; black?: boolean; italic?: boolean };
  const name = (font.name ?? key).replace(/^[A-Z]{6}\+/, '');
  return {
    key,
    name,
    bold: Boolean(font.bold || font.black) || /bold|black|heavy|semibold|demi/i.test(name),
    italic: Boolean(font.italic) || /italic|oblique/i.test(name),
  };
}

async function readPage(lib: Pdfjs, doc: PDFDocumentProxy, index: number, fonts: Map<string, FontFace>) {
  const page = await doc.getPage(index + 1);
  try {
    const viewport = page.getViewport({ scale: 1 });
    const content = await page.getTextContent();
    const items = content.items.filter((i): i is TextItem => 'str' in i && i.str.trim() !== '');
    // Fonts' names and styles reach this side only with the operator list; a page without text skips it.
    if (items.length) await page.getOperatorList();
    const runs: TextRun[] = [];
    // One object per font on the page: lines are told apart by their fonts' identity.
    const pageFonts = new Map<string, FontFace>();
    for (const item of items) {
      let font = pageFonts.get(item.fontName) ?? fonts.get(item.fontName);
      if (!font) {
        font = fontOf(page, item.fontName);
        if (font.name !== font.key) fonts.set(item.fontName, font);
      }
      pageFonts.set(item.fontName, font);
      const tx = lib.Util.transform(viewport.transform, item.transform) as number[];
      const size = Math.hypot(tx[2] ?? 0, tx[3] ?? 0);
      if (!(size > 0) || !Number.isFinite(size)) continue;
      const style = content.styles[item.fontName];
      const ascent = style?.ascent || 0.8;
      const descent = style?.descent || -0.2;
      const [a = 1, b = 0] = tx;
      const rotated = Math.abs(b / Math.hypot(a, b)) > LEVEL;
      runs.push({ text: item.str, box: runBox(tx, item.width, size, ascent, descent), size, font, rotated });
    }
    return { index, width: viewport.width, height: viewport.height, runs } satisfies PageText;
  } finally {
    page.cleanup();
  }
}

/**
 * The box of a run on the page (top-left origin): from its baseline origin `tx[4..5]` along the text's direction
 * for its width, and across it from the descent to the ascent.
 */
function runBox(tx: number[], width: number, size: number, ascent: number, descent: number): Box {
  const [a = 1, b = 0, , , x = 0, y = 0] = tx;
  const length = Math.hypot(a, b);
  const [dx, dy] = [a / length, b / length];
  // Up the glyphs: perpendicular to the baseline, towards smaller y on an upright page.
  const [ux, uy] = [dy, -dx];
  const xs: number[] = [];
  const ys: number[] = [];
  for (const along of [0, width])
    for (const across of [descent * size, ascent * size]) {
      xs.push(x + dx * along + ux * across);
      ys.push(y + dy * along + uy * across);
    }
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

interface OutlineNode {
  title: string;
  dest: string | unknown[] | null;
  items: OutlineNode[];
}

/** The 0-based page an outline destination points to, if it points to one of this document's pages. */
async function destinationPage(doc: PDFDocumentProxy, dest: OutlineNode['dest']): Promise<number | undefined> {
  try {
    const explicit = typeof dest === 'string' ? await doc.getDestination(dest) : dest;
    const target = Array.isArray(explicit) ? explicit[0] : undefined;
    if (Number.isInteger(target)) return target as number;
    if (target && typeof target === 'object')
      return await doc.getPageIndex(target as Parameters<PDFDocumentProxy['getPageIndex']>[0]);
  } catch {
    // A destination naming nothing this document has: the entry has no page.
  }
  return undefined;
}

async function readOutline(doc: PDFDocumentProxy): Promise<OutlineEntry[]> {
  const entries: OutlineEntry[] = [];
  const walk = async (nodes: readonly OutlineNode[], depth: number) => {
    for (const node of nodes) {
      if (entries.length >= MAX_OUTLINE) return;
      const title = clean(node.title);
      if (title) entries.push({ title, depth, page: await destinationPage(doc, node.dest) });
      await walk(node.items ?? [], depth + 1);
    }
  };
  await walk(((await doc.getOutline()) ?? []) as OutlineNode[], 0);
  return entries;
}

async function readInfo(lib: Pdfjs, doc: PDFDocumentProxy): Promise<PdfInfo> {
  const { info, metadata } = await doc.getMetadata();
  const fields = (info ?? {}) as Record<string, unknown>;
  const xmp = (name: string) => {
    const value = metadata?.get(name) as unknown;
    return clean(Array.isArray(value) ? value.join('; ') : value);
  };
  const date = (value: unknown) => {
    const parsed = typeof value === 'string' ? lib.PDFDateString.toDateObject(value) : null;
    return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
  };
  const found: PdfInfo = {
    title: clean(fields.Title) ?? xmp('dc:title'),
    author: clean(fields.Author) ?? xmp('dc:creator'),
    subject: clean(fields.Subject) ?? xmp('dc:description'),
    keywords: clean(fields.Keywords) ?? xmp('pdf:keywords'),
    created: date(fields.CreationDate),
    modified: date(fields.ModDate),
    producer: clean(fields.Producer),
    creator: clean(fields.Creator),
  };
  return Object.fromEntries(Object.entries(found).filter(([, v]) => v !== undefined)) as PdfInfo;
}
