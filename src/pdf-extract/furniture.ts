/**
 * Page furniture: running headers and footers. A short line in the top or bottom 8% of its page is furniture when
 * it is a page number ("7", "Page 7 of 9", "vii") or when the same text, digits aside, stands in the same margin of
 * another page. A line there that is neither (an arXiv stamp on the first page only) stays text. Pure.
 */
import type { Line } from './reading-order.js';

const MARGIN_SHARE = 0.08;
const MAX_CHARS = 100;
const PAGE_NUMBER = /^(?:page\s+)?(?:\d{1,5}|[ivxl]{1,6})(?:\s*(?:of|\/)\s*\d{1,5})?$/i;

export type Furniture = 'PageHeader' | 'PageFooter';

const lineText = (line: Line) => line.segments.map((s) => s.text).join(' ');

/** Furniture lines of every page (pages given as their lines in reading order and their heights). */
export function findFurniture(pages: readonly { lines: readonly Line[]; height: number }[]): Map<Line, Furniture> {
  const candidates: { line: Line; kind: Furniture; key: string; page: number }[] = [];
  pages.forEach(({ lines, height }, page) => {
    for (const line of lines) {
      const text = lineText(line);
      if (text.length > MAX_CHARS || line.segments.some((s) => s.rotated)) continue;
      const kind =
        line.box[3] <= MARGIN_SHARE * height
          ? 'PageHeader'
          : line.box[1] >= (1 - MARGIN_SHARE) * height
            ? 'PageFooter'
            : undefined;
      if (kind) candidates.push({ line, kind, key: `${kind}:${text.replace(/\d+/g, '#').toLowerCase()}`, page });
    }
  });
  const pagesByKey = new Map<string, Set<number>>();
  for (const c of candidates) pagesByKey.set(c.key, (pagesByKey.get(c.key) ?? new Set()).add(c.page));
  const furniture = new Map<Line, Furniture>();
  for (const c of candidates)
    if (PAGE_NUMBER.test(lineText(c.line)) || (pagesByKey.get(c.key)?.size ?? 0) >= 2) furniture.set(c.line, c.kind);
  return furniture;
}
