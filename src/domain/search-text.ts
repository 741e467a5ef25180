/**
 * The words of a text as search sees them — one definition, used to index on both databases and to read every
 * query, so SQLite and PostgreSQL match by the same rules — and the snippet of a hit with its matched words.
 *
 * A word is a run of letters, digits and their combining marks; anything else (spaces, punctuation, `_`, `-`,
 * `.`, `/`, `@`, emoji) separates words. Each word is compatibility-decomposed (NFKD: `ﬁ` is `fi`, full-width `Ａ`
 * is `a`), case-folded (`ß` is `ss`), stripped of accents (the combining diacritical marks U+0300–U+036F: `Café`
 * is `cafe`; other marks, such as a Japanese voicing mark or a Devanagari vowel sign, stay) and recomposed (NFC).
 * A query matches a text when every query word begins a word of the text.
 */
import { HubError } from './errors.js';
import { wellFormed } from './validate.js';

/** Longest word kept, in code points; a longer one is cut to it (PostgreSQL's index entries stay far below limits). */
export const MAX_WORD = 100;
/**
 * Most UTF-8 bytes of distinct words indexed per text (a 4,000,000-character answer of prose holds far fewer): a
 * PostgreSQL tsvector holds at most 1 MB of words, so both databases index the same first words of longer texts.
 */
export const MAX_INDEXED_BYTES = 1_000_000;
/** Longest query, in characters. */
export const MAX_QUERY = 500;

/** A run of letters, digits and marks: where words are in a text as written. */
const RUN = /[\p{L}\p{N}\p{M}]+/gu;
const ACCENTS = /[\u0300-\u036f]+/g;
/** What NFKD may bring into a run that is not part of a word (`½` decomposes to `1⁄2`). */
const SEPARATORS = /[^\p{L}\p{N}\p{M}]+/u;
const ASCII_WORD = /^[A-Za-z0-9]+$/;
/** A UTF-16 code unit past ASCII (surrogates included). */
const NOT_ASCII = /[\u0080-\uffff]/;
const ASCII_WORDS = /[a-z0-9]+/g;

/** The words a run of letters, digits and marks stands for (usually one). */
function fold(run: string): string[] {
  if (ASCII_WORD.test(run)) return [cut(run.toLowerCase())];
  // Upper then lower case: a fuller case folding than lower case alone (`ß` is `ss`, `ς` is `σ`).
  const folded = run.normalize('NFKD').toUpperCase().toLowerCase().replace(ACCENTS, '').normalize('NFC');
  return folded
    .split(SEPARATORS)
    .filter((w) => w !== '')
    .map(cut);
}

function cut(word: string): string {
  if (word.length <= MAX_WORD) return word;
  const points = [...word];
  return points.length <= MAX_WORD ? word : points.slice(0, MAX_WORD).join('');
}

/** Calls `found` with each word of `text` and where the run it comes from starts and ends. */
function eachWord(text: string, found: (word: string, start: number, end: number) => boolean | undefined): void {
  for (const m of text.matchAll(RUN)) {
    const start = m.index;
    const end = start + m[0].length;
    for (const word of fold(m[0])) if (found(word, start, end) === false) return;
  }
}

/** The words of `text`, in order, repeats included. */
export function searchWords(text: string): string[] {
  const words: string[] = [];
  eachWord(text, (w) => {
    words.push(w);
    return undefined;
  });
  return words;
}

/**
 * What both databases index for `text`: its distinct words, separated by spaces, up to `MAX_INDEXED_BYTES`; empty
 * when it has none.
 */
export function indexedWords(text: string): string {
  const seen = new Set<string>();
  let bytes = 0;
  const add = (w: string) => {
    if (seen.has(w)) return undefined;
    bytes += utf8Length(w) + 1;
    if (bytes > MAX_INDEXED_BYTES) return false;
    seen.add(w);
    return undefined;
  };
  // Text in ASCII (most questions, names and logs) has the same words by one match over the lower-cased text,
  // twice as fast as the general way for a short text: this runs inside the write transaction of every ask.
  if (!NOT_ASCII.test(text)) {
    for (const w of text.toLowerCase().match(ASCII_WORDS) ?? []) if (add(cut(w)) === false) break;
  } else eachWord(text, add);
  return [...seen].join(' ');
}

/** How many bytes `word` takes in UTF-8. */
function utf8Length(word: string): number {
  if (ASCII_WORD.test(word)) return word.length;
  let n = 0;
  for (const ch of word) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * The words of a query, each to be matched as the beginning of a word: `validation` naming `q` when it is not
 * text, longer than `MAX_QUERY`, or holds no letter or digit to search for.
 */
export function queryWords(q: unknown, field = 'q'): string[] {
  if (typeof q !== 'string') throw new HubError('validation', `${field} must be a string`);
  if (q.length > MAX_QUERY) {
    throw new HubError('validation', `${field} is ${q.length} characters long; the limit is ${MAX_QUERY}`);
  }
  wellFormed(q, field);
  const words = [...new Set(searchWords(q))];
  if (!words.length) {
    throw new HubError('validation', `${field} holds no word to search for (a word is made of letters or digits)`);
  }
  return words;
}

/** A piece of a snippet: text as written, and whether it is a matched word. */
export interface SnippetPart {
  text: string;
  match: boolean;
}

/** About how many characters a snippet shows, and how many of them come before its first matched word. */
const SNIPPET_CHARS = 160;
const SNIPPET_LEAD = 40;
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/**
 * Where `words` (query words) occur in `text`: a window of about 160 characters from a little before the first
 * matched word, white space folded, with `…` where the text goes on, as pieces that say which are matched words.
 * A text with no match gives its beginning.
 */
export function snippet(text: string, words: readonly string[]): SnippetPart[] {
  const matches: [number, number][] = [];
  eachWord(text, (word, start, end) => {
    const first = matches[0];
    if (first && start > first[0] + SNIPPET_CHARS) return false;
    if (words.some((q) => word.startsWith(q)) && matches.at(-1)?.[0] !== start) matches.push([start, end]);
    return undefined;
  });
  const first = matches[0];
  // Near the end of the text, the window takes in more before the match instead (a short text shows whole).
  const start = first
    ? wordStart(text, Math.max(0, Math.min(first[0] - SNIPPET_LEAD, text.length - SNIPPET_CHARS)))
    : 0;
  // A match runs to the end of its word; a giant one (a blob of base64) is shown only in part.
  const end = wordEnd(
    text,
    Math.min(text.length, start + SNIPPET_CHARS),
    first ? pairEnd(text, Math.min(first[1], first[0] + SNIPPET_CHARS)) : 0,
  );
  const parts: SnippetPart[] = [];
  const push = (piece: string, match: boolean) => {
    const flat = piece.replace(/\s+/g, ' ');
    if (flat !== '') parts.push({ text: flat, match });
  };
  let at = start;
  for (const [s, e] of matches) {
    if (s >= end) break;
    push(text.slice(at, s), false);
    at = Math.min(e, end);
    push(text.slice(s, at), true);
  }
  push(text.slice(at, end), false);
  const head = parts[0];
  if (head && !head.match) head.text = head.text.trimStart();
  const tail = parts.at(-1);
  if (tail && !tail.match) tail.text = tail.text.trimEnd();
  const trimmed = parts.filter((p) => p.text !== '');
  if (start > 0) trimmed.unshift({ text: '… ', match: false });
  if (end < text.length) trimmed.push({ text: ' …', match: false });
  return trimmed;
}

/** `i`, moved past the second half of a surrogate pair it would split. */
function pairEnd(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff ? i + 1 : i;
}

/** Whether `i` falls inside a word (or between the halves of a surrogate pair). */
function insideWord(text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false;
  const code = text.charCodeAt(i);
  if (code >= 0xdc00 && code <= 0xdfff) return true;
  return WORD_CHAR.test(text.charAt(i - 1)) && WORD_CHAR.test(text.charAt(i));
}

/** `i`, or the end of the word it falls in. */
function wordStart(text: string, i: number): number {
  let at = i;
  while (insideWord(text, at)) at++;
  return at;
}

/** `i`, or the start of the word it falls in — but never before `floor` (the end of the first match). */
function wordEnd(text: string, i: number, floor: number): number {
  if (i <= floor) return Math.min(text.length, floor);
  let at = i;
  while (at > floor && insideWord(text, at)) at--;
  return at;
}
