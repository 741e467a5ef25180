/**
 * A page's text runs made into rows and segments. A row is text sharing a band of the page (runs whose heights
 * overlap by half, so a superscript stays in its line and the next line does not join it); a segment is a stretch
 * of a row without a wide gap — a line of a column, a table cell, one side of "Left text ... page 3". Pure.
 */
import { type Box, type FontFace, type TextRun, unionBox } from './page-text.js';

/** A gap wider than this many font sizes splits a row into segments: word gaps stay under half a size, even in
 * justified text; table columns and page gutters are wider. */
const SEGMENT_GAP_EM = 0.8;
/** A gap wider than this many font sizes between two runs is a word break when neither run has a space there. */
const WORD_GAP_EM = 0.15;
/** Runs whose vertical extents overlap by this share of the shorter one are on the same row. */
const SAME_ROW_OVERLAP = 0.5;
/** A bullet or item number standing alone: the text after it belongs to it, however far it is set off. */
const BARE_MARKER = /^(?:[•●○◦▪▫■□‣⁃∙·*►▸–—-]|\(?\d{1,3}[.)]|\([a-z]\))$/u;
/** How many of the latest rows a run is compared with: rows end as the sorted runs move down the page. */
const OPEN_ROWS = 8;

/** Text in one font, with the space before it already in `text` when it starts a word. */
export interface Piece {
  text: string;
  font: FontFace;
}

export interface Segment {
  pieces: Piece[];
  text: string;
  box: Box;
  /** Size and font of most of its characters. */
  size: number;
  font: FontFace;
  rotated: boolean;
}

export interface Row {
  segments: Segment[];
  box: Box;
}

/** The most common value of `key` over `runs`, counting each run's characters. */
export function dominant<T>(runs: readonly { text: string }[], key: (i: number) => T): T {
  const counts = new Map<T, number>();
  let best = key(0);
  let bestCount = -1;
  runs.forEach((run, i) => {
    const k = key(i);
    const n = (counts.get(k) ?? 0) + run.text.length;
    counts.set(k, n);
    if (n > bestCount) [best, bestCount] = [k, n];
  });
  return best;
}

function segmentOf(runs: TextRun[]): Segment {
  const pieces: Piece[] = [];
  runs.forEach((run, i) => {
    const before = runs[i - 1];
    const gap = before ? run.box[0] - before.box[2] : 0;
    const spaced = before !== undefined && /\s$/.test(before.text);
    const space = before && !spaced && !/^\s/.test(run.text) && gap > WORD_GAP_EM * run.size ? ' ' : '';
    pieces.push({ text: space + run.text, font: run.font });
  });
  const text = pieces
    .map((p) => p.text)
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    pieces,
    text,
    box: unionBox(runs.map((r) => r.box)),
    size: dominant(runs, (i) => Math.round((runs[i] as TextRun).size * 10) / 10),
    font: dominant(runs, (i) => (runs[i] as TextRun).font),
    rotated: runs.some((r) => r.rotated),
  };
}

/** A row's runs, left to right, cut into segments at wide gaps. */
function segmentsOf(runs: TextRun[]): Segment[] {
  runs.sort((a, b) => a.box[0] - b.box[0]);
  const segments: Segment[] = [];
  let current: TextRun[] = [];
  for (const run of runs) {
    const last = current[current.length - 1];
    const wide = last && run.box[0] - last.box[2] > SEGMENT_GAP_EM * Math.max(run.size, last.size);
    if (wide && !(current.length === 1 && BARE_MARKER.test(last.text.trim()))) {
      segments.push(segmentOf(current));
      current = [];
    }
    current.push(run);
  }
  if (current.length) segments.push(segmentOf(current));
  return segments;
}

interface OpenRow {
  runs: TextRun[];
  /** The vertical band of the row's longest run: what later runs must overlap to join it. */
  band: [number, number];
  bandChars: number;
}

function overlapShare(a: [number, number], top: number, bottom: number): number {
  const overlap = Math.min(a[1], bottom) - Math.max(a[0], top);
  const shorter = Math.min(a[1] - a[0], bottom - top);
  return shorter > 0 ? overlap / shorter : 0;
}

/**
 * The page's rows, top to bottom, each with its segments left to right. Blank runs are dropped, and a run drawn
 * twice at the same place (a faked bold) counts once; rotated runs make rows of their own.
 */
export function rowsOf(runs: readonly TextRun[]): Row[] {
  const seen = new Set<string>();
  const level: TextRun[] = [];
  const rows: Row[] = [];
  for (const run of runs) {
    if (run.text.trim() === '') continue;
    const key = `${run.text}|${Math.round(run.box[0])}|${Math.round(run.box[1])}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (run.rotated) rows.push({ segments: [segmentOf([run])], box: run.box });
    else level.push(run);
  }
  level.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  const open: OpenRow[] = [];
  for (const run of level) {
    const [, top, , bottom] = run.box;
    let best: OpenRow | undefined;
    let bestShare = SAME_ROW_OVERLAP;
    for (let i = open.length - 1; i >= Math.max(0, open.length - OPEN_ROWS); i--) {
      const row = open[i] as OpenRow;
      const share = overlapShare(row.band, top, bottom);
      if (share >= bestShare) [best, bestShare] = [row, share];
    }
    if (!best) {
      best = { runs: [], band: [top, bottom], bandChars: 0 };
      open.push(best);
    }
    best.runs.push(run);
    if (run.text.length > best.bandChars) [best.band, best.bandChars] = [[top, bottom], run.text.length];
  }
  for (const row of open) rows.push({ segments: segmentsOf(row.runs), box: unionBox(row.runs.map((r) => r.box)) });
  return rows.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
}
