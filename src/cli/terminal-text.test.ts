import { describe, expect, it } from 'vitest';
import { terminalJson, terminalText } from './terminal-text.js';

/** What a terminal would act on (a CR only when it is not the end of a CRLF line break). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('text from the hub on a terminal', () => {
  it('shows a clipboard write, a disguised link and a title change escaped, so nothing acts on the terminal', () => {
    expect(terminalText('copy \u001b]52;c;cm0gLXJmIH4K\u0007 me')).toBe('copy \\x1b]52;c;cm0gLXJmIH4K\\x07 me');
    expect(terminalText('\u001b]8;;https://evil.example/\u001b\\docs\u001b]8;;\u001b\\')).toBe(
      '\\x1b]8;;https://evil.example/\\x1b\\docs\\x1b]8;;\\x1b\\',
    );
    expect(terminalText('\u001b]0;pwned\u0007')).toBe('\\x1b]0;pwned\\x07');
  });

  it('shows screen clearing, 8-bit CSI and OSC, DEL and NUL escaped', () => {
    expect(terminalText('\u001b[2J\u001b[H')).toBe('\\x1b[2J\\x1b[H');
    expect(terminalText('\u009b31mred\u009d0;t\u009c')).toBe('\\x9b31mred\\x9d0;t\\x9c');
    expect(terminalText('a\u007fb\u0000c\u0008d')).toBe('a\\x7fb\\x00c\\x08d');
  });

  it('shows bidi overrides and isolates escaped, so text cannot read other than it is', () => {
    expect(terminalText('invoice\u202efdp.exe')).toBe('invoice\\u202efdp.exe');
    expect(terminalText('\u2066a\u2067b\u2068c\u2069 \u202a\u202b\u202c\u202d')).toBe(
      '\\u2066a\\u2067b\\u2068c\\u2069 \\u202a\\u202b\\u202c\\u202d',
    );
  });

  it('shows a lone carriage return escaped, so it cannot overwrite the line; a CRLF line break stays', () => {
    expect(terminalText('safe\rEVIL')).toBe('safe\\rEVIL');
    expect(terminalText('one\r\ntwo\r')).toBe('one\r\ntwo\\r');
  });

  it('keeps a normal answer exactly: line breaks, tabs, accents, emoji, right-to-left script', () => {
    const answer = 'Sections:\n\t1. café — naïve 👍🏽\n\t2. 日本語 עברית العربية\n\nC:\\Users\\x1b is a path\n';
    expect(terminalText(answer)).toBe(answer);
  });

  it('is idempotent: text shown once shows the same again', () => {
    const once = terminalText('\u001b]52;c;x\u0007\r\u202e\u009b');
    expect(once).not.toMatch(RAW);
    expect(terminalText(once)).toBe(once);
  });

  it('writes JSON that parses to the exact text and holds nothing a terminal acts on', () => {
    const value = { content: 'a\u001b]52;c;x\u0007 \u009b2J \u202eexe \u007f\r\n\tcafé 👍', n: 1 };
    const json = terminalJson(value);
    expect(json).not.toMatch(RAW);
    expect(JSON.parse(json)).toEqual(value);
    expect(JSON.parse(terminalJson(value, 2))).toEqual(value);
    expect(terminalJson(value, 2)).toBe(
      JSON.stringify(value, null, 2)
        .replace('\u009b', '\\u009b')
        .replace('\u202e', '\\u202e')
        .replace('\u007f', '\\u007f'),
    );
  });
});
