import { describe, expect, it } from 'vitest';
import { gridFromHtml, headingLevelFromHtml, listItemsFromHtml, texFromHtml, textFromHtml } from './html.js';

describe('reading marker html', () => {
  it('strips tags and content-refs, decodes entities, keeps words apart across cells and lines', () => {
    expect(
      textFromHtml("<p>Ada &amp; Luis<br>Institute &#39;IDS&#x27;</p><content-ref src='/page/0/Text/3'></content-ref>"),
    ).toBe("Ada & Luis Institute 'IDS'");
    expect(textFromHtml('<p>a <i>b</i>c</p>')).toBe('a bc');
    expect(textFromHtml('x &unknown; y&nbsp;z')).toBe('x &unknown; y z');
  });

  it('reads heading levels, TeX and list items', () => {
    expect(headingLevelFromHtml('<h3>2.1 Keys</h3>')).toBe(3);
    expect(headingLevelFromHtml('<p>none</p>')).toBeUndefined();
    expect(texFromHtml('<p><math display="block">a &lt; b</math></p>')).toBe('a < b');
    expect(listItemsFromHtml('<ul><li>one</li><li><b>two</b></li></ul>')).toEqual(['one', 'two']);
  });

  it('places table cells on the grid as a browser does, spans pushing later cells right', () => {
    const grid = gridFromHtml(
      '<table><tr><th rowspan=2>A</th><th colspan="2">B</th></tr><tr><th>B1</th><th>B2</th></tr><tr><td>1</td><td>2</td><td>3</td></tr></table>',
    );
    expect(grid?.rows).toBe(3);
    expect(grid?.cols).toBe(3);
    expect(grid?.cells.map((c) => [c.text, c.row, c.col, c.rowspan, c.colspan, c.header])).toEqual([
      ['A', 0, 0, 2, 1, true],
      ['B', 0, 1, 1, 2, true],
      ['B1', 1, 1, 1, 1, true],
      ['B2', 1, 2, 1, 1, true],
      ['1', 2, 0, 1, 1, false],
      ['2', 2, 1, 1, 1, false],
      ['3', 2, 2, 1, 1, false],
    ]);
    expect(gridFromHtml('<p>no table</p>')).toBeUndefined();
  });
});
