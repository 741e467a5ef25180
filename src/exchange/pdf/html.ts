/**
 * Reading the small html fragments marker puts on its blocks: plain text (tags stripped, entities decoded,
 * `<content-ref>` placeholders dropped), a heading's level, an equation's TeX, list items and table cells with
 * their spans. Regular expressions suffice: each fragment is one block's own markup, not a whole page.
 */

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** `&amp;`, `&#39;`, `&#x2014;` and the like, as characters; an unknown entity is left as it is. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Tags that separate words: replaced by a space rather than nothing, so `<td>a</td><td>b</td>` reads `a b`. */
const BREAKING_TAG = /<\/?(?:p|br|li|ul|ol|tr|td|th|thead|tbody|table|h[1-6]|div|math|img)\b[^>]*>/gi;

/** The text of an html fragment: content-refs dropped, tags stripped, entities decoded, whitespace collapsed. */
export function textFromHtml(html: string): string {
  if (!html.includes('<')) return decodeEntities(html).replace(/\s+/g, ' ').trim();
  const bare = html
    .replace(/<content-ref\b[^>]*>(?:<\/content-ref>)?/gi, ' ')
    .replace(BREAKING_TAG, ' ')
    .replace(/<[^>]*>/g, '');
  return decodeEntities(bare).replace(/\s+/g, ' ').trim();
}

/** The level of the first `<h1>`…`<h6>` in the fragment. */
export function headingLevelFromHtml(html: string): number | undefined {
  const match = /<h([1-6])\b/i.exec(html);
  return match ? Number(match[1]) : undefined;
}

/** The TeX inside `<math>` (marker writes equations so), or undefined when there is none. */
export function texFromHtml(html: string): string | undefined {
  const match = /<math\b[^>]*>([\s\S]*?)<\/math>/i.exec(html);
  return match ? decodeEntities(match[1] ?? '').trim() : undefined;
}

/** The text of each `<li>` of a list fragment. */
export function listItemsFromHtml(html: string): string[] {
  return [...html.matchAll(/<li\b[^>]*>([\s\S]*?)<\/li>/gi)].map((m) => textFromHtml(m[1] ?? ''));
}

/** One cell of a table, placed on the grid: row and column are 0-based, spans at least 1. */
export interface GridCell {
  row: number;
  col: number;
  rowspan: number;
  colspan: number;
  header: boolean;
  text: string;
}

/** A table's cells and its size in rows and columns. */
export interface Grid {
  rows: number;
  cols: number;
  cells: GridCell[];
}

const SPAN_ATTRIBUTE = { rowspan: /\browspan\s*=\s*["']?(\d+)/i, colspan: /\bcolspan\s*=\s*["']?(\d+)/i };

function spanAttribute(attributes: string, name: keyof typeof SPAN_ATTRIBUTE): number {
  const match = attributes === '' ? null : SPAN_ATTRIBUTE[name].exec(attributes);
  const value = match ? Number(match[1]) : 1;
  return value >= 1 ? value : 1;
}

/**
 * The cells of an html table, each at its grid position: a cell spanning rows pushes the cells of the rows
 * below it to the right, as a browser lays them out. Undefined when the fragment has no `<tr>`.
 */
export function gridFromHtml(html: string): Grid | undefined {
  const rows = [...html.matchAll(/<tr\b[^>]*>([\s\S]*?)<\/tr>/gi)];
  if (rows.length === 0) return undefined;
  const taken = new Set<string>();
  const cells: GridCell[] = [];
  let cols = 0;
  rows.forEach((rowMatch, row) => {
    let col = 0;
    for (const cellMatch of (rowMatch[1] ?? '').matchAll(/<(td|th)\b([^>]*)>([\s\S]*?)<\/\1>/gi)) {
      while (taken.has(`${row},${col}`)) col++;
      const attributes = cellMatch[2] ?? '';
      const cell: GridCell = {
        row,
        col,
        rowspan: spanAttribute(attributes, 'rowspan'),
        colspan: spanAttribute(attributes, 'colspan'),
        header: (cellMatch[1] ?? '').toLowerCase() === 'th',
        text: textFromHtml(cellMatch[3] ?? ''),
      };
      for (let r = row; r < row + cell.rowspan; r++)
        for (let c = col; c < col + cell.colspan; c++) taken.add(`${r},${c}`);
      cells.push(cell);
      col += cell.colspan;
      cols = Math.max(cols, col);
    }
  });
  return { rows: rows.length, cols, cells };
}

/** A block's text: its `text` field, else its html stripped. */
export function textOf(block: { text?: unknown; html?: unknown }): string {
  if (typeof block.text === 'string') return block.text;
  return typeof block.html === 'string' ? textFromHtml(block.html) : '';
}
