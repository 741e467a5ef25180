import { describe, expect, it } from 'vitest';
import {
  ago,
  CLEAR_LINE,
  clipText,
  duration,
  forTerminal,
  indent,
  paintStatus,
  paletteFor,
  progressBar,
  table,
  usd,
  visibleWidth,
} from './format.js';

describe('human output', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  const earlier = (ms: number) => new Date(now - ms).toISOString();

  it('says how long ago in the largest whole unit, and gives the date past a month', () => {
    expect(ago(earlier(3_000), now)).toBe('just now');
    expect(ago(earlier(45_000), now)).toBe('45 s ago');
    expect(ago(earlier(3 * 60_000 + 20_000), now)).toBe('3 min ago');
    expect(ago(earlier(2 * 3_600_000), now)).toBe('2 h ago');
    expect(ago(earlier(86_400_000), now)).toBe('1 day ago');
    expect(ago(earlier(5 * 86_400_000), now)).toBe('5 days ago');
    expect(ago(earlier(-120_000), now)).toBe('in 2 min');
    expect(ago(earlier(40 * 86_400_000), now)).toBe('2026-03-22');
    expect(ago(null, now)).toBe('—');
  });

  it('gives durations, money and progress in a form people read at a glance', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(3_240)).toBe('3.2 s');
    expect(duration(125_000)).toBe('2 min 5 s');
    expect(duration(3_780_000)).toBe('1 h 3 min');
    expect(usd(0.01234)).toBe('$0.0123');
    expect(usd(12.5)).toBe('$12.50');
    expect(progressBar(40, 10)).toBe('[████░░░░░░]  40%');
    expect(progressBar(140, 4)).toBe('[████] 100%');
  });

  it('aligns table columns by what shows, ignoring colour escapes, and clips the last column to the width', () => {
    const red = paletteFor({ isTTY: true }, {}).red;
    const out = table(
      ['NAME', 'HEALTH', 'DESCRIPTION'],
      [
        ['marker', red('unhealthy'), 'PDF extractor'],
        ['arangodb', 'healthy', 'Database layer that stores documents as a graph'],
      ],
      40,
    );
    expect(forTerminal(out).replaceAll('\u001b[31m', '').replaceAll('\u001b[39m', '').split('\n')).toEqual([
      'NAME      HEALTH     DESCRIPTION',
      'marker    unhealthy  PDF extractor',
      'arangodb  healthy    Database layer tha…', // 40 columns,
      '',
    ]);
    expect(table(undefined, [['  task', 'abc']])).toBe('  task  abc\n');
  });

  it('colours only a terminal, and never with NO_COLOR', () => {
    expect(forTerminal(paletteFor({ isTTY: true }, {}).green('ok'))).toBe('\u001b[32mok\u001b[39m');
    expect(paletteFor({ isTTY: true }, { NO_COLOR: '1' }).green('ok')).toBe('ok');
    expect(paletteFor({ isTTY: false }, {}).green('ok')).toBe('ok');
    expect(forTerminal(paintStatus('failed', paletteFor({ isTTY: true }, {})))).toBe('\u001b[31mfailed\u001b[39m');
    expect(forTerminal(`50%${CLEAR_LINE}`)).toBe('50%\u001b[G\u001b[K');
  });

  it('colours text from the hub while its own escapes show escaped, even ones that look like our colours', () => {
    const p = paletteFor({ isTTY: true }, {});
    const hostile = 'a\u001b[31mb\u001b]52;c;eA==\u0007c\u009b2J';
    expect(forTerminal(`${p.bold(hostile)} ${hostile}\n`)).toBe(
      '\u001b[1ma\\x1b[31mb\\x1b]52;c;eA==\\x07c\\x9b2J\u001b[22m a\\x1b[31mb\\x1b]52;c;eA==\\x07c\\x9b2J\n',
    );
  });

  it('aligns and clips table cells from the hub by what shows once their control characters are escaped', () => {
    const out = forTerminal(
      table(
        ['ID', 'NAME'],
        [
          ['1', 'x\u001b[2Jy'],
          ['22', 'plain'],
        ],
      ),
    );
    expect(out).toBe('ID  NAME\n1   x\\x1b[2Jy\n22  plain\n');
    expect(visibleWidth('x\u001b[2Jy')).toBe(9);
    expect(clipText('ab\u001b]0;title\u0007cd', 8)).toBe('ab\\x1b]…');
  });

  it('indents every line, keeping CRLF line breaks whole so they do not show as escaped carriage returns', () => {
    expect(indent('one\ntwo\n')).toBe('  one\n  two');
    expect(forTerminal(indent('one\r\ntwo\r\n'))).toBe('  one\r\n  two');
  });

  it('counts and clips by code points, so emoji and accents do not break alignment', () => {
    expect(visibleWidth('café 👍')).toBe(6);
    expect(clipText('line one\nline two', 12)).toBe('line one li…');
  });
});
