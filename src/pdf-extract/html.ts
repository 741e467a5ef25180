/**
 * The html of a block's text, as marker writes it: words joined across lines (a line ending in a hyphen runs on
 * into a lowercase next line without a space), whitespace collapsed, `<b>` and `<i>` around text set bolder or in
 * italics where the block is not, and every character that means something in html escaped. Pure.
 */
import type { FontFace } from './page-text.js';
import type { Line } from './reading-order.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe inside an html element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

interface Chunk {
  text: string;
  bold: boolean;
  italic: boolean;
}

/** The lines' text in chunks of one style, whitespace collapsed across them, trimmed. */
function chunksOf(lines: readonly Line[]): Chunk[] {
  const chunks: Chunk[] = [];
  let last = '';
  const add = (text: string, font: FontFace | undefined) => {
    let t = text.replace(/\s+/g, ' ');
    if (last === '' || last.endsWith(' ')) t = t.replace(/^ /, '');
    if (t === '') return;
    const previous = chunks[chunks.length - 1];
    const bold = font ? font.bold : (previous?.bold ?? false);
    const italic = font ? font.italic : (previous?.italic ?? false);
    if (previous && previous.bold === bold && previous.italic === italic) previous.text += t;
    else chunks.push({ text: t, bold, italic });
    last = t;
  };
  lines.forEach((line, l) => {
    line.segments.forEach((segment, s) => {
      const first = segment.pieces[0]?.text ?? '';
      if (l > 0 && s === 0 && /\p{L}-$/u.test(last) && /^\p{Ll}/u.test(first.trimStart())) {
        // A word broken over two lines: joined, hyphen kept.
      } else if (l > 0 || s > 0) add(' ', undefined);
      for (const piece of segment.pieces) add(piece.text, piece.font);
    });
  });
  const end = chunks[chunks.length - 1];
  if (end) end.text = end.text.replace(/ $/, '');
  return chunks.filter((c) => c.text !== '');
}

/**
 * The lines' text as inline html, the first `skip` characters left out (a list item's marker); `<b>`/`<i>` mark
 * text bolder or more italic than `base`, the block's own font.
 */
export function inlineHtml(lines: readonly Line[], base: FontFace, skip = 0): string {
  let left = skip;
  let html = '';
  for (const chunk of chunksOf(lines)) {
    let text = chunk.text;
    if (left > 0) {
      const cut = Math.min(left, text.length);
      text = text.slice(cut);
      left -= cut;
      if (text === '') continue;
    }
    // Spaces stay outside the tags: `a <b>word</b> b`, not `a<b> word</b> b`.
    const [, before = '', core = '', after = ''] = /^(\s*)(.*?)(\s*)$/s.exec(text) ?? [];
    let piece = escapeHtml(core);
    if (chunk.italic && !base.italic) piece = `<i>${piece}</i>`;
    if (chunk.bold && !base.bold) piece = `<b>${piece}</b>`;
    html += before + piece + after;
  }
  return html.trim();
}
