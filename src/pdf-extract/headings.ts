/**
 * Which draft blocks are section headers, and at what level. A short text block (at most four lines and 200
 * characters, with a letter in it) set at least a point and a tenth larger than the body size is a heading; its
 * level comes from the rank of its size among the headings' sizes, largest first. The outline, when the PDF has
 * one, confirms and corrects: a block found on an entry's page with the entry's title (numbering, case and
 * punctuation aside) is a heading at the entry's depth, whatever its size, and each heading size takes the level
 * its found headings have most often; a size no entry was found at takes the level after the size above it.
 * Pure.
 */
import type { Draft, TextStyle } from './paragraphs.js';

/** An entry of the PDF's outline (bookmarks), flattened in order. */
export interface OutlineEntry {
  title: string;
  /** 0 for a top-level entry. */
  depth: number;
  /** 0-based page it points to, when it points to one. */
  page: number | undefined;
}

export interface Headings {
  /** The level (1–6) of every draft that is a section header. */
  levels: Map<Draft, number>;
  /** For each outline entry, the draft it was found at. */
  found: (Draft | undefined)[];
}

const MAX_LEVEL = 6;
const MAX_LINES = 4;
const MAX_CHARS = 200;

export const draftText = (draft: Draft): string =>
  draft.lines
    .map((l) => l.segments.map((s) => s.text).join(' '))
    .join(' ')
    .trim();

/** A title as compared: without leading numbering ("2.1", "IV.", "A"), case, accents' forms and punctuation. */
export function comparable(title: string): string {
  const plain = title.normalize('NFKC').toLowerCase();
  const words = plain
    .replace(/^(?:(?:\d+|[ivxlc]+|[a-z])[.)]?(?:\d+[.)]?)*\s+)+/, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return words || plain.replace(/\s+/g, ' ').trim();
}

const shortEnough = (draft: Draft, text: string) =>
  draft.kind === 'Text' && draft.lines.length <= MAX_LINES && text.length <= MAX_CHARS && /\p{L}/u.test(text);

const sizeClass = (size: number) => Math.round(size * 2) / 2;
const clampLevel = (level: number) => Math.min(MAX_LEVEL, Math.max(1, level));

/** The section headers among the drafts of every page, matched with the outline where it names them. */
export function findHeadings(pages: readonly (readonly Draft[])[], outline: readonly OutlineEntry[], style: TextStyle) {
  const threshold = Math.max(style.bodySize + 1, style.bodySize * 1.1);
  const texts = new Map<Draft, string>();
  const candidates = new Set<Draft>();
  for (const drafts of pages)
    for (const draft of drafts) {
      const text = draftText(draft);
      texts.set(draft, text);
      if (draft.size >= threshold && shortEnough(draft, text)) candidates.add(draft);
    }

  const found: (Draft | undefined)[] = [];
  const matchedDepth = new Map<Draft, number>();
  for (const entry of outline) {
    const title = comparable(entry.title);
    const onPage = entry.page === undefined ? [] : (pages[entry.page] ?? []);
    const draft = onPage.find(
      (d) => !matchedDepth.has(d) && shortEnough(d, texts.get(d) ?? '') && comparable(texts.get(d) ?? '') === title,
    );
    found.push(draft);
    if (draft) matchedDepth.set(draft, entry.depth);
  }

  // Each heading size's level: the one its outlined headings have most often, else one below the size above it.
  const votes = new Map<number, Map<number, number>>();
  for (const [draft, depth] of matchedDepth) {
    const size = sizeClass(draft.size);
    const tally = votes.get(size) ?? new Map<number, number>();
    tally.set(depth + 1, (tally.get(depth + 1) ?? 0) + 1);
    votes.set(size, tally);
  }
  const sizes = [...new Set([...candidates].map((d) => sizeClass(d.size)))].sort((a, b) => b - a);
  const levelOfSize = new Map<number, number>();
  let above = 0;
  for (const size of sizes) {
    let level = above + 1;
    let most = 0;
    for (const [voted, n] of votes.get(size) ?? []) if (n > most) [level, most] = [voted, n];
    above = clampLevel(level);
    levelOfSize.set(size, above);
  }

  const levels = new Map<Draft, number>();
  for (const drafts of pages)
    for (const draft of drafts) {
      const depth = matchedDepth.get(draft);
      if (depth !== undefined) levels.set(draft, clampLevel(depth + 1));
      else if (candidates.has(draft)) levels.set(draft, levelOfSize.get(sizeClass(draft.size)) ?? 1);
    }
  return { levels, found } satisfies Headings;
}
