/**
 * A page's lines, in reading order, made into draft blocks: furniture (moved to the page's start or end), tables,
 * list items and paragraphs. A new paragraph starts at a change of band or column, of font size (by more than half
 * a point) or of font (when both lines are in one font each), at a blank taller than the document's usual gap
 * between lines plus half a size, at a line standing above the previous one, and at a first-line indent of body
 * text (half a size to four sizes: a centred title's lines are offset more). A line starting with a bullet or a
 * number ("1.", "2)", "(a)") starts a list item, which continues over the lines that do not start left of it.
 * Lines ending in a dot leader and a page number make a TableOfContents (before they are taken for a table or
 * headings). Pure.
 */
import type { Furniture } from './furniture.js';
import { dominant, type Segment } from './lines.js';
import { type Box, type FontFace, unionBox } from './page-text.js';
import type { Line } from './reading-order.js';
import { findTables, type TableDraft } from './tables.js';

/** What the whole document's text is mostly set in, measured before its pages are made into blocks. */
export interface TextStyle {
  /** The font size of most characters, to the half point. */
  bodySize: number;
  /** The usual blank between two lines of a body paragraph, in points. */
  lineGap: number;
}

export interface ListMarker {
  ordered: boolean;
  /** The number of a numbered item. */
  number?: number;
  /** Characters the marker and its space take. */
  length: number;
}

export interface Draft {
  kind: 'Text' | 'ListItem' | 'Table' | 'TableOfContents' | Furniture;
  lines: Line[];
  box: Box;
  size: number;
  font: FontFace;
  marker?: ListMarker;
  table?: TableDraft;
}

/** An entry of a printed table of contents: a title, a dot leader, a page number ("2.1 Syntax . . . . 4"). */
const DOT_LEADER = /(?:\.\s?){4,}\s*(?:\d+|[ivxlc]+)$/i;
const BULLET = /^[•●○◦▪▫■□‣⁃∙·*►▸–—-]\s+/u;
const NUMBERED = /^(?:\(?(\d{1,3})[.)]|\((?:[a-z]|[ivx]{1,4})\)|[a-z]\))\s+/;

/** The list marker `text` starts with, if any. */
export function listMarker(text: string): ListMarker | undefined {
  const bullet = BULLET.exec(text);
  if (bullet) return { ordered: false, length: bullet[0].length };
  const numbered = NUMBERED.exec(text);
  if (!numbered) return undefined;
  return numbered[1] === undefined
    ? { ordered: true, length: numbered[0].length }
    : { ordered: true, number: Number(numbered[1]), length: numbered[0].length };
}

const segmentsOf = (lines: readonly Line[]) => lines.flatMap((l) => l.segments);
const sizeOf = (segments: readonly Segment[]) => dominant(segments, (i) => (segments[i] as Segment).size);
const lineText = (line: Line) => line.segments.map((s) => s.text).join(' ');

/** The line's one font, or undefined when it mixes fonts. */
function onlyFont(line: Line): FontFace | undefined {
  const font = line.segments[0]?.pieces[0]?.font;
  return line.segments.every((s) => s.pieces.every((p) => p.font === font)) ? font : undefined;
}

/** The body size and usual line gap of pages given as their lines in reading order. */
export function textStyle(pages: readonly (readonly Line[])[]): TextStyle {
  const chars = new Map<number, number>();
  for (const lines of pages)
    for (const s of segmentsOf(lines)) {
      const size = Math.round(s.size * 2) / 2;
      chars.set(size, (chars.get(size) ?? 0) + s.text.length);
    }
  let bodySize = 10;
  let most = 0;
  for (const [size, n] of chars) if (n > most) [bodySize, most] = [size, n];
  const gaps: number[] = [];
  for (const lines of pages)
    for (let i = 1; i < lines.length; i++) {
      const [prev, line] = [lines[i - 1] as Line, lines[i] as Line];
      const gap = line.box[1] - prev.box[3];
      const body = (l: Line) => Math.abs(sizeOf(l.segments) - bodySize) <= 0.5;
      if (line.column === prev.column && line.band === prev.band && body(line) && body(prev) && gap >= 0)
        if (gap < 2 * bodySize) gaps.push(gap);
    }
  gaps.sort((a, b) => a - b);
  return { bodySize, lineGap: gaps.length ? (gaps[Math.floor(gaps.length / 2)] as number) : bodySize / 4 };
}

function finish(kind: Draft['kind'], lines: Line[], extra: Partial<Draft> = {}): Draft {
  const segments = segmentsOf(lines);
  return {
    kind,
    lines,
    box: unionBox(lines.map((l) => l.box)),
    size: sizeOf(segments),
    font: dominant(segments, (i) => (segments[i] as Segment).font),
    ...extra,
  };
}

/** Whether `line` cannot continue the block whose lines are `lines`. */
function startsAnew(lines: readonly Line[], line: Line, isItem: boolean, style: TextStyle): boolean {
  const prev = lines[lines.length - 1] as Line;
  if (line.band !== prev.band || line.column !== prev.column) return true;
  const size = sizeOf(line.segments);
  if (Math.abs(size - sizeOf(prev.segments)) > 0.5) return true;
  const gap = line.box[1] - prev.box[3];
  if (gap > style.lineGap + size / 2 || gap < -size / 2) return true;
  const [font, prevFont] = [onlyFont(line), onlyFont(prev)];
  if (font && prevFont && font !== prevFont) return true;
  if (isItem) return line.box[0] < (lines[0] as Line).box[0] - 1;
  const indent = line.box[0] - prev.box[0];
  return Math.abs(size - style.bodySize) <= 0.5 && indent > size / 2 && indent < 4 * size;
}

/** The draft blocks of a page's lines (in reading order), given which of them are furniture. */
export function pageDrafts(lines: readonly Line[], furniture: ReadonlyMap<Line, Furniture>, style: TextStyle): Draft[] {
  const inTable = (line: Line) => !furniture.has(line) && !DOT_LEADER.test(lineText(line));
  const tables = new Map(findTables(lines, inTable).map((t) => [t.start, t]));
  const drafts: Draft[] = [];
  let open: { lines: Line[]; marker: ListMarker | undefined } | undefined;
  const close = () => {
    if (open)
      drafts.push(finish(open.marker ? 'ListItem' : 'Text', open.lines, open.marker && { marker: open.marker }));
    open = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    const kind = furniture.get(line);
    const table = tables.get(i);
    if (kind || table) {
      close();
      if (kind) drafts.push(finish(kind, [line]));
      else if (table) {
        drafts.push(finish('Table', lines.slice(i, i + table.count), { table: table.table }));
        i += table.count - 1;
      }
      continue;
    }
    if (DOT_LEADER.test(lineText(line))) {
      const previous = drafts[drafts.length - 1];
      if (!open && previous?.kind === 'TableOfContents')
        drafts[drafts.length - 1] = finish('TableOfContents', [...previous.lines, line]);
      else {
        close();
        drafts.push(finish('TableOfContents', [line]));
      }
      continue;
    }
    const size = sizeOf(line.segments);
    const marker = size <= style.bodySize + 0.5 ? listMarker(lineText(line)) : undefined;
    if (open && !marker && !startsAnew(open.lines, line, open.marker !== undefined, style)) {
      open.lines.push(line);
      continue;
    }
    close();
    open = { lines: [line], marker };
  }
  close();
  // Running headers open the page and footers close it, wherever the columns placed them.
  const kind = (d: Draft) => (d.kind === 'PageHeader' ? 0 : d.kind === 'PageFooter' ? 2 : 1);
  return drafts.sort((a, b) => kind(a) - kind(b));
}
