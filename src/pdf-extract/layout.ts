/**
 * From what pdf.js read (pages' text runs, the outline, the information dictionary) to a `document@1.0.0`: rows and
 * segments, reading order, furniture, the document's body size, draft blocks, headings, then the tree. Pure: the
 * tests give it pages made by hand as well as pages pdf.js read.
 */
import type { PdfDocument } from '../exchange/pdf/document-schema.js';
import { buildDocument, type DraftPage } from './document.js';
import { findFurniture } from './furniture.js';
import { findHeadings, type OutlineEntry } from './headings.js';
import { rowsOf } from './lines.js';
import type { PageText, PdfInfo } from './page-text.js';
import { pageDrafts, textStyle } from './paragraphs.js';
import { readingOrder } from './reading-order.js';

/** Where the pages came from and what of them was read. */
export interface Source {
  /** The file's name (without folders), when it has one. */
  filename?: string;
  /** Pages the PDF has; more than were read when extraction stopped at its page limit. */
  pageCount: number;
  /** Why a page could not be read, by page index. */
  pageErrors?: ReadonlyMap<number, string>;
}

/** `Ada Brennan; Luis Ortega`, `A and B`, or `Brennan, Ada` (one person), as a list of names. */
export function authorsOf(author: string): string[] {
  let names = author.split(/\s*;\s*|\s+(?:and|&)\s+/);
  if (names.length === 1 && author.includes(',')) {
    const parts = author.split(/\s*,\s*/);
    if (parts.every((p) => /\S\s+\S/.test(p))) names = parts;
  }
  return names.map((n) => n.trim()).filter(Boolean);
}

/**
 * The document's metadata: the PDF's own fields, named as the example requirements read them (`title`,
 * `authors`, `published`, `pageCount`, `filename`), with the author and keywords also as the PDF gives them.
 */
function metadataOf(info: PdfInfo, source: Source, pagesRead: number): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (info.title) metadata.title = info.title;
  if (info.author) {
    metadata.author = info.author;
    metadata.authors = authorsOf(info.author);
  }
  if (info.subject) metadata.subject = info.subject;
  if (info.keywords)
    metadata.keywords = info.keywords
      .split(/\s*[;,]\s*/)
      .map((k) => k.trim())
      .filter(Boolean);
  if (info.created) metadata.published = info.created.toISOString();
  if (info.modified) metadata.modified = info.modified.toISOString();
  if (info.producer) metadata.producer = info.producer;
  if (info.creator) metadata.creator = info.creator;
  metadata.pageCount = source.pageCount;
  if (pagesRead < source.pageCount) metadata.pagesExtracted = pagesRead;
  if (source.filename) metadata.filename = source.filename;
  return metadata;
}

/** The document made of `pages` (in order, from the first), the PDF's outline and its information. */
export function layoutDocument(
  pages: readonly PageText[],
  outline: readonly OutlineEntry[],
  info: PdfInfo,
  source: Source,
): PdfDocument {
  const ordered = pages.map((page) => readingOrder(rowsOf(page.runs)));
  const style = textStyle(ordered.map((o) => o.lines));
  const furniture = findFurniture(ordered.map((o, i) => ({ lines: o.lines, height: (pages[i] as PageText).height })));
  const drafts = ordered.map((o) => pageDrafts(o.lines, furniture, style));
  const headings = findHeadings(drafts, outline, style);
  const draftPages = pages.map((page, i): DraftPage => {
    const error = source.pageErrors?.get(page.index);
    return {
      index: page.index,
      width: page.width,
      height: page.height,
      drafts: drafts[i] ?? [],
      columns: ordered[i]?.columns ?? 1,
      ...(error !== undefined && { error }),
    };
  });
  return buildDocument(draftPages, outline, headings, metadataOf(info, source, pages.length));
}
