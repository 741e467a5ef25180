import { describe, expect, it } from 'vitest';
import { indexedWords, MAX_WORD, queryWords, searchWords, snippet } from './search-text.js';

const marked = (parts: { text: string; match: boolean }[]) =>
  parts.map((p) => (p.match ? `[${p.text}]` : p.text)).join('');

describe('search words', () => {
  it('are runs of letters and digits, lower-cased, split at punctuation, paths, addresses and emoji', () => {
    expect(searchWords('Deploy FAILED: see /srv/app-v2/log.txt or mail ops@example.com 🚀 v1.2_rc3')).toEqual([
      'deploy',
      'failed',
      'see',
      'srv',
      'app',
      'v2',
      'log',
      'txt',
      'or',
      'mail',
      'ops',
      'example',
      'com',
      'v1',
      '2',
      'rc3',
    ]);
  });

  it('drop accents but keep other marks, and fold compatibility forms', () => {
    expect(searchWords('Café Ünïcödé ﬁle ＡＢＣ Straße ΣΟΦΟΣ σοφοσ')).toEqual([
      'cafe',
      'unicode',
      'file',
      'abc',
      'strasse',
      'σοφος',
      'σοφος',
    ]);
    // A Japanese voicing mark and a Devanagari vowel sign are part of their words.
    expect(searchWords('が हिंदी')).toEqual(['が', 'हिंदी']);
    expect(searchWords('½')).toEqual(['1', '2']);
    expect(searchWords('한국어 東京タワー')).toEqual(['한국어', '東京タワー']);
  });

  it('index ASCII text with the same words as any other text', () => {
    // Random ASCII (some with a word past the length limit), then the same with `é` added, which takes the general
    // way and adds the word `e`: the other words must be the same.
    const alphabet = 'aZ09 _-./@:*"\'\n\t';
    for (let round = 0; round < 200; round++) {
      let text = round % 2 ? 'x'.repeat(150) : '';
      for (let i = 0; i < 300; i++) text += alphabet[Math.floor(Math.random() * alphabet.length)];
      const general = indexedWords(`${text} é`)
        .split(' ')
        .filter((w) => w !== 'e');
      expect(indexedWords(text)).toBe(general.join(' '));
    }
  });

  it('cuts very long words and indexes each distinct word once', () => {
    expect(searchWords('x'.repeat(MAX_WORD + 50))).toEqual(['x'.repeat(MAX_WORD)]);
    expect(indexedWords('the cat, the CAT and the hat')).toBe('the cat and hat');
    expect(indexedWords('— !! 🚀')).toBe('');
  });
});

describe('query words', () => {
  it('are the words of the query, each once', () => {
    expect(queryWords('"Deploy" AND deploy* NEAR(x) -y')).toEqual(['deploy', 'and', 'near', 'x', 'y']);
  });

  it('refuse a query with no word, too long, or not text, naming q', () => {
    for (const q of ['', '   ', '*', '"":*&|!()', '🚀🚀']) {
      expect(() => queryWords(q)).toThrow(
        expect.objectContaining({ code: 'validation', message: expect.stringMatching(/^q holds no word/) }),
      );
    }
    expect(() => queryWords('a'.repeat(10_000))).toThrow(
      expect.objectContaining({ code: 'validation', message: 'q is 10000 characters long; the limit is 500' }),
    );
    expect(() => queryWords(42)).toThrow(
      expect.objectContaining({ code: 'validation', message: 'q must be a string' }),
    );
    expect(() => queryWords('a\ud800b')).toThrow(expect.objectContaining({ code: 'validation' }));
  });
});

describe('snippets', () => {
  it('mark every word that begins with a query word, as written', () => {
    expect(marked(snippet('The Deployment failed; deploying again.', ['deploy']))).toBe(
      'The [Deployment] failed; [deploying] again.',
    );
    expect(marked(snippet('Ein Café in Zürich', ['cafe', 'zur']))).toBe('Ein [Café] in [Zürich]');
    // A text that fits shows whole, wherever the match is.
    const short = `${'word '.repeat(20)}needle`;
    expect(marked(snippet(short, ['needle']))).toBe(`${'word '.repeat(20)}[needle]`);
  });

  it('show a window around the first match, cut at words, with white space folded', () => {
    const text = `${'lorem ipsum '.repeat(30)}the needle\n\n  is here ${'dolor sit '.repeat(40)}`;
    expect(marked(snippet(text, ['needle']))).toBe(
      `… ${'lorem ipsum '.repeat(3)}the [needle] is here ${'dolor sit '.repeat(10).trimEnd()} …`,
    );
    // A match inside a giant word (a blob) is shown in part.
    const blob = marked(snippet(`${'x'.repeat(300)} needle`, ['x']));
    expect(blob).toBe(`[${'x'.repeat(160)}] …`);
  });

  it('never cut a surrogate pair, and give the beginning of a text with no match', () => {
    const text = `${'😀'.repeat(100)} word`;
    for (const p of snippet(text, ['zzz'])) expect(p.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(marked(snippet('short text', ['zzz']))).toBe('short text');
  });
});
