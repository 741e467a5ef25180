/**
 * Human output of the command line: colours (only on a terminal, never with NO_COLOR), aligned tables,
 * relative times, durations, money and progress bars, and `forTerminal`, which makes a text ready to write.
 * Pure apart from reading whether a stream is a terminal and drawing one random mark per process.
 */
import { randomBytes } from 'node:crypto';
import { terminalText } from './terminal-text.js';

/**
 * Our own escapes (styles, clearing a line) hold this mark where ESC goes until `forTerminal`, which first shows
 * every control character of the text escaped (text from the hub may carry any) and only then turns the marks
 * into ESC. Random per process (64 bits), so no text from the hub can contain it and pass for one of ours.
 */
const ESC_MARK = `\uE000${randomBytes(8).toString('hex')}\uE000`;

/** Our own escapes: `ESC [ params letter`. */
const OWN_ESCAPES = new RegExp(`${ESC_MARK}\\[[0-9;]*[A-Za-z]`, 'g');

/** `text` as it goes to a terminal: control characters from the hub shown escaped, our own escapes made real. */
export function forTerminal(text: string): string {
  return terminalText(text).replaceAll(ESC_MARK, '\u001b');
}

/** Moves to the start of the line and clears it, so a progress line is redrawn in place. */
export const CLEAR_LINE = `${ESC_MARK}[G${ESC_MARK}[K`;

/** Styles that wrap text in ANSI escapes, or leave it as it is. */
export interface Palette {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const ansi = (open: number, close: number) => (text: string) => `${ESC_MARK}[${open}m${text}${ESC_MARK}[${close}m`;

const COLOURS: Palette = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  cyan: ansi(36, 39),
};

const PLAIN: Palette = {
  bold: (t) => t,
  dim: (t) => t,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
};

/** Colours for `stream` when it is a terminal and NO_COLOR is unset or empty (https://no-color.org). */
export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return stream.isTTY && !env.NO_COLOR ? COLOURS : PLAIN;
}

/** How many terminal columns `text` takes once written (our escapes take none; each code point one). */
export function visibleWidth(text: string): number {
  return [...terminalText(text.replace(OWN_ESCAPES, ''))].length;
}

/** `text` as written (see forTerminal), cut to `max` columns with an ellipsis; line breaks become spaces. */
export function clipText(text: string, max: number): string {
  const flat = terminalText(text.replace(/\s*\n\s*/g, ' '));
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('')}…` : flat;
}

/**
 * Rows aligned in columns two spaces apart (under `header` when given), the last column unpadded. With `width`
 * (a terminal's columns), the last column is clipped so that lines do not wrap.
 */
export function table(
  header: readonly string[] | undefined,
  rows: readonly (readonly string[])[],
  width?: number,
): string {
  const all = header ? [header, ...rows] : rows;
  const columns = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...all.map((r) => visibleWidth(r[i] ?? ''))));
  const last = columns - 1;
  const lines = all.map((r) => {
    const cells = r.map((cell, i) => (i === last ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell))));
    if (width !== undefined && visibleWidth(cells.join('  ')) > width) {
      const room = width - visibleWidth(cells.slice(0, last).join('  ')) - 2;
      if (room >= 10) cells[last] = clipText((r[last] ?? '').replace(OWN_ESCAPES, ''), room);
    }
    return cells.join('  ').trimEnd();
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** `3 min ago`, `in 2 h`, `just now`; dates older than a month as the date. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  const size = Math.abs(seconds);
  if (size < 10) return 'just now';
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  if (size >= 30 * 86_400) return iso.slice(0, 10);
  const [unit, name] = units.find(([u]) => size >= u) ?? [1, 's'];
  const count = Math.floor(size / unit);
  const label = name === 'day' ? (count === 1 ? 'day' : 'days') : name;
  return seconds >= 0 ? `${count} ${label} ago` : `in ${count} ${label}`;
}

/** `850 ms`, `3.2 s`, `2 min 5 s`, `1 h 3 min`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** Dollars: four decimals below $1 (agent runs cost cents), two above. */
export function usd(amount: number): string {
  return `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
}

/** `[██████░░░░░░░░░░░░░░]  30%`. */
export function progressBar(percent: number, width = 20): string {
  const clamped = Math.min(100, Math.max(0, percent));
  const filled = Math.round((clamped / 100) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${`${Math.round(clamped)}%`.padStart(4)}`;
}

/** A status in its colour: green done, red failed, yellow cancelled or paused, cyan working. */
export function paintStatus(status: string, p: Palette): string {
  switch (status) {
    case 'complete':
      return p.green(status);
    case 'failed':
      return p.red(status);
    case 'cancelled':
    case 'paused':
    case 'waiting':
      return p.yellow(status);
    case 'processing':
    case 'busy':
      return p.cyan(status);
    default:
      return status;
  }
}

/** `text` with every line indented by `by` spaces (a CRLF line break stays whole). */
export function indent(text: string, by = 2): string {
  const pad = ' '.repeat(by);
  return text
    .replace(/\r?\n$/, '')
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

/** `n` with the word for one or for many: `1 watch`, `2 watches`. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
