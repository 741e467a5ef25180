/**
 * Reading order within a page. A page has two columns when a vertical gutter near its middle is crossed by few
 * column-sized segments (one in ten at most) and at least three lines of text stand wholly on each side of it. Such a page is read in
 * bands from the top: rows crossing the gutter (a title, an abstract, a wide table) are read where they stand, and
 * the rows between two of them are read left column first, then right. Any other page is read row by row, top to
 * bottom. Best effort: three or more columns, and columns of unequal heights interleaved with floats, are read as
 * this rule makes them. Pure.
 */
import type { Row, Segment } from './lines.js';
import { type Box, unionBox } from './page-text.js';

/** Segments narrower than this share of the text's width are column-sized; wider ones span the page. */
const COLUMN_SHARE = 0.55;
/** A line of a column is at least this share of the text's width (a table cell is usually less). */
const LINE_SHARE = 0.25;
/** The gutter is looked for between these shares of the text's width. */
const GUTTER_WINDOW: [number, number] = [0.25, 0.75];
/** Narrowest gutter, in points: a sixth of an inch. */
const MIN_GUTTER = 12;
/** Lines that must stand wholly on each side of a gutter. */
const MIN_COLUMN_LINES = 3;

/** A line of text in reading order: one or more segments of a row, within one column of a band. */
export interface Line {
  segments: Segment[];
  box: Box;
  /** -1 when the line spans the page (or the page has one column), else 0 (left) or 1 (right). */
  column: number;
  /** Bands are numbered down the page; a block never continues from one band or column into another. */
  band: number;
}

function lineOf(segments: Segment[], column: number, band: number): Line {
  return { segments, box: unionBox(segments.map((s) => s.box)), column, band };
}

/**
 * The widest stretch of the middle of the text crossed by at most one column-sized segment in ten (a centred
 * heading or author line may cross a gutter), if it is wide enough and has column lines on both sides.
 */
export function findGutter(rows: readonly Row[]): [number, number] | undefined {
  const segments = rows.flatMap((r) => r.segments).filter((s) => !s.rotated);
  if (segments.length < 2 * MIN_COLUMN_LINES) return undefined;
  // Folded rather than spread: a page may hold more segments than a call takes arguments.
  const left = segments.reduce((m, s) => Math.min(m, s.box[0]), Number.POSITIVE_INFINITY);
  const width = segments.reduce((m, s) => Math.max(m, s.box[2]), Number.NEGATIVE_INFINITY) - left;
  const narrow = segments.filter((s) => s.box[2] - s.box[0] < COLUMN_SHARE * width).map((s) => s.box);
  const [from, to] = [left + GUTTER_WINDOW[0] * width, left + GUTTER_WINDOW[1] * width];
  const allowed = Math.floor(narrow.length / 10);
  // Coverage of the window by the narrow segments, swept from edge to edge.
  const edges: [number, number][] = [];
  let covering = 0;
  for (const [x0, , x1] of narrow) {
    if (x0 <= from && x1 > from) covering++;
    if (x0 > from && x0 < to) edges.push([x0, 1]);
    if (x1 > from && x1 < to) edges.push([x1, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  edges.push([to, 0]);
  let best: [number, number] | undefined;
  let runStart: number | undefined;
  let at = from;
  for (const [x, change] of edges) {
    if (x > at) {
      if (covering <= allowed) {
        runStart ??= at;
        if (x - runStart >= MIN_GUTTER && (!best || x - runStart > best[1] - best[0])) best = [runStart, x];
      } else runStart = undefined;
    }
    covering += change;
    at = x;
  }
  if (!best) return undefined;
  const [g0, g1] = best;
  const lineWidth = LINE_SHARE * width;
  const leftLines = narrow.filter((b) => b[2] <= g0 && b[2] - b[0] >= lineWidth).length;
  const rightLines = narrow.filter((b) => b[0] >= g1 && b[2] - b[0] >= lineWidth).length;
  return leftLines >= MIN_COLUMN_LINES && rightLines >= MIN_COLUMN_LINES ? best : undefined;
}

/** The page's lines in reading order, and how many columns it was read as. */
export function readingOrder(rows: readonly Row[]): { lines: Line[]; columns: 1 | 2 } {
  const gutter = findGutter(rows);
  if (!gutter) return { lines: rows.map((row) => lineOf(row.segments, -1, 0)), columns: 1 };
  const [g0, g1] = gutter;
  const middle = (g0 + g1) / 2;
  const lines: Line[] = [];
  let band = 0;
  let spanning = false;
  let sides: [Line[], Line[]] = [[], []];
  for (const row of rows) {
    const spans = row.segments.some((s) => s.rotated || (s.box[0] < g0 && s.box[2] > g1));
    if (spans !== spanning && lines.length + sides[0].length + sides[1].length > 0) band++;
    spanning = spans;
    if (spans) {
      lines.push(...sides[0], ...sides[1]);
      sides = [[], []];
      lines.push(lineOf(row.segments, -1, band));
      continue;
    }
    const leftSide = row.segments.filter((s) => s.box[2] <= middle);
    const rightSide = row.segments.filter((s) => s.box[2] > middle);
    if (leftSide.length) sides[0].push(lineOf(leftSide, 0, band));
    if (rightSide.length) sides[1].push(lineOf(rightSide, 1, band));
  }
  lines.push(...sides[0], ...sides[1]);
  return { lines, columns: 2 };
}
