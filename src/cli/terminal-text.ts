/**
 * Text from the hub made safe to show on a terminal. Prompts, answers, task names, log lines and errors are
 * written by other agents and users; printed raw, their control sequences would act on the reader's terminal:
 * write to the clipboard (OSC 52), hide a link behind innocent words (OSC 8), set the window title, clear the
 * screen, or overwrite a line with a lone carriage return. Bidi overrides and isolates reorder what is shown, so
 * text reads other than it is. Each such character is shown escaped instead (`\x1b`, `\r`, `\u202e`), so the
 * reader sees that something was there; line breaks, tabs and every printable character stay as they are. Pure.
 */

/**
 * What is escaped: C0 controls but tab and line feed, a carriage return unless it ends a CRLF line break (which
 * overwrites nothing), DEL, C1 controls (U+0080–U+009F: 8-bit CSI and OSC among them), and the bidi embeddings,
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The characters of UNSAFE that JSON.stringify leaves as they are (it escapes C0 itself). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, digits: number) => (c.codePointAt(0) ?? 0).toString(16).padStart(digits, '0');

/** `text` with every character a terminal would act on shown escaped (`\x1b`, `\r`, `\u202e`). Idempotent. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\r' ? '\\r' : c < '\u0100' ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * `value` as JSON (indented by `space`, else on one line) that parses to exactly `value` and holds no character
 * a terminal would act on: JSON.stringify escapes C0 controls; DEL, C1 and bidi controls are escaped as `\uXXXX`
 * here (they can only occur inside strings, where that escape means the same character).
 */
export function terminalJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}
