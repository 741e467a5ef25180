/**
 * Simple tables: two or more consecutive lines of one column, each cut into two or more segments that fall into
 * the same columns (a segment belongs to every column its horizontal extent overlaps; overlapping several makes a
 * cell spanning them). The first line is a header row when its font sets it apart: all bold over a row that is
 * not, or fonts no other row uses. Rows of one cell, cells over several lines, and rows spanning rows end a table
 * rather than join it. Pure.
 */
import type { Segment } from './lines.js';
import { type Box, unionBox } from './page-text.js';
import type { Line } from './reading-order.js';

/** Columns may miss each other by this many points and still be one. */
const SLACK = 2;
/** A blank between two rows taller than this many font sizes ends the table. */
const ROW_GAP_EM = 2.5;

export interface CellDraft {
  row: number;
  col: number;
  colspan: number;
  header: boolean;
  segment: Segment;
}

export interface TableDraft {
  rows: number;
  cols: number;
  cells: CellDraft[];
  box: Box;
}

/** Where each segment falls among `columns` (first column and span), or undefined when one falls in none. */
function align(segments: readonly Segment[], columns: readonly [number, number][]): [number, number][] | undefined {
  const placed: [number, number][] = [];
  let next = 0;
  for (const s of segments) {
    let first = -1;
    let last = -1;
    for (let c = next; c < columns.length; c++) {
      const [x0, x1] = columns[c] as [number, number];
      if (s.box[0] < x1 + SLACK && s.box[2] > x0 - SLACK) {
        if (first < 0) first = c;
        last = c;
      } else if (first >= 0) break;
    }
    if (first < 0) return undefined;
    placed.push([first, last - first + 1]);
    next = last + 1;
  }
  return placed;
}

const allBold = (line: Line) => line.segments.every((s) => s.pieces.every((p) => p.font.bold));

/** Whether the table's first line is set apart as a header. */
function hasHeader(lines: readonly Line[]): boolean {
  const [first, second] = lines as [Line, Line];
  if (allBold(first) && !allBold(second)) return true;
  const fonts = (line: Line) => line.segments.flatMap((s) => s.pieces.map((p) => p.font.key));
  const others = new Set(lines.slice(1).flatMap(fonts));
  return fonts(first).every((key) => !others.has(key));
}

function draft(lines: readonly Line[], placements: [number, number][][], columns: number): TableDraft {
  const header = hasHeader(lines);
  const cells: CellDraft[] = [];
  lines.forEach((line, row) => {
    const placed = placements[row] as [number, number][];
    line.segments.forEach((segment, i) => {
      const [col, colspan] = placed[i] as [number, number];
      cells.push({ row, col, colspan, header: header && row === 0, segment });
    });
  });
  return { rows: lines.length, cols: columns, cells, box: unionBox(lines.map((l) => l.box)) };
}

/**
 * The tables among the `eligible` of `lines`: for each, the index of its first line, how many lines it takes, and the table. Lines
 * of a table are consecutive, in one band and column, with no blank between them taller than 2.5 font sizes.
 */
export function findTables(
  lines: readonly Line[],
  eligible: (line: Line) => boolean,
): { start: number; count: number; table: TableDraft }[] {
  const found: { start: number; count: number; table: TableDraft }[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] as Line;
    if (first.segments.length < 2 || first.segments.some((s) => s.rotated) || !eligible(first)) {
      i++;
      continue;
    }
    const columns: [number, number][] = first.segments.map((s) => [s.box[0], s.box[2]]);
    const placements: [number, number][][] = [first.segments.map((_, c) => [c, 1])];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as Line;
      const prev = lines[j - 1] as Line;
      const size = line.segments.reduce((m, s) => Math.max(m, s.size), 0);
      const gap = line.box[1] - prev.box[3];
      if (line.band !== prev.band || line.column !== prev.column || line.segments.length < 2 || !eligible(line)) break;
      if (gap > ROW_GAP_EM * size || gap < -size / 2) break;
      const placed = align(line.segments, columns);
      if (!placed) break;
      placed.forEach(([col, span], k) => {
        const box = (line.segments[k] as Segment).box;
        const column = columns[col] as [number, number];
        if (span === 1) columns[col] = [Math.min(column[0], box[0]), Math.max(column[1], box[2])];
      });
      placements.push(placed);
    }
    if (j - i >= 2) {
      found.push({ start: i, count: j - i, table: draft(lines.slice(i, j), placements, columns.length) });
      i = j;
    } else i++;
  }
  return found;
}
