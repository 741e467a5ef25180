import { describe, expect, it } from 'vitest';
import { markerSample } from '../../../test/fixtures/pdf/marker-sample.js';
import { type Conversion, convertToRequiredFormat } from './convert.js';
import { syntheticDocument } from './generate.js';
import { DEFAULT_KEY_PATTERN, EXAMPLE_REQUIREMENTS, type PdfRequirements } from './requirements-schema.js';

const requirementsWith = (change: (r: PdfRequirements) => void): PdfRequirements => {
  const copy = structuredClone(EXAMPLE_REQUIREMENTS);
  change(copy);
  return copy;
};

const withHierarchy = (hierarchy: 'nested' | 'flat-with-parent' | 'path') =>
  requirementsWith((r) => {
    r.content.sections = { ...r.content.sections, hierarchy };
  });

/** Every `collection/key` a conversion produced. */
const handles = (conversion: Conversion) =>
  new Set(Object.entries(conversion.collections).flatMap(([name, records]) => records.map((r) => `${name}/${r._key}`)));

describe('convertToRequiredFormat', () => {
  const converted = convertToRequiredFormat(markerSample(), EXAMPLE_REQUIREMENTS);
  const sections = converted.collections.pdf_sections ?? [];
  const blocks = converted.collections.pdf_blocks ?? [];

  it('gives every record a key ArangoDB accepts, unique, and every edge ends on a produced record', () => {
    const keys = Object.values(converted.collections).flatMap((records) => records.map((r) => r._key as string));
    expect(keys.length).toBe(1 + 4 + 11);
    for (const key of keys) expect(key).toMatch(new RegExp(DEFAULT_KEY_PATTERN));
    expect(new Set(keys).size).toBe(keys.length);
    const produced = handles(converted);
    const edges = Object.values(converted.edges).flat();
    expect(edges.length).toBeGreaterThan(0);
    for (const edge of edges) {
      expect(produced).toContain(edge._from);
      expect(produced).toContain(edge._to);
      expect(edge._key).toMatch(new RegExp(DEFAULT_KEY_PATTERN));
    }
    expect(converted.report.counts).toMatchObject({
      pdf_documents: 1,
      pdf_sections: 4,
      pdf_blocks: 11,
      pdf_has_section: 4,
      pdf_has_block: 11,
      pdf_next: 10,
      pdf_parent_of: 3,
      keysRewritten: 0,
    });
  });

  it('drops the kinds the requirements leave out and counts them', () => {
    expect(converted.report.dropped).toEqual([
      { what: 'PageFooter', count: 3 },
      { what: 'PageHeader', count: 3 },
    ]);
    expect(blocks.some((b) => b.kind === 'PageHeader')).toBe(false);
    const noTables = convertToRequiredFormat(
      markerSample(),
      requirementsWith((r) => {
        r.content.tables = { wanted: false };
      }),
    );
    expect(noTables.report.dropped).toEqual(
      expect.arrayContaining([
        { what: 'Table', count: 1 },
        { what: 'TableCell', count: 13 },
      ]),
    );
    expect(noTables.collections.pdf_blocks?.find((b) => b.kind === 'Caption')?.text).toMatch(/^Table 1/);
  });

  it('applies the renames and fills what it can derive: page, text from html, section, captions, cells, TeX', () => {
    expect(sections[0]).toMatchObject({ heading: 'Graph-Native Storage for Extracted Documents', level: 1 });
    expect(sections.every((s) => !('title' in s))).toBe(true);
    expect(blocks.every((b) => typeof b.kind === 'string' && !('type' in b))).toBe(true);
    const byId = new Map(blocks.map((b) => [b.sourceId, b]));
    expect(byId.get('/page/0/Text/2')).toMatchObject({
      text: 'Ada Brennan & Luis Ortega Institute for Document Systems',
      page: 0,
      section: sections[0]?._key,
    });
    expect(byId.get('/page/0/ListGroup/6')?.items).toHaveLength(3);
    const table = byId.get('/page/1/Table/6');
    expect(table).toMatchObject({
      page: 1,
      rows: 5,
      cols: 3,
      caption: 'Table 1: Records produced for the evaluation corpus.',
    });
    expect((table?.cells as object[] | undefined)?.[1]).toEqual({
      row: 0,
      col: 1,
      rowspan: 1,
      colspan: 2,
      header: true,
      text: 'Records',
    });
    expect(byId.get('/page/2/Figure/2')).toMatchObject({
      images: ['/page/2/Figure/2'],
      caption: expect.stringMatching(/^Figure 1/),
    });
    expect(byId.get('/page/1/Equation/3')?.latex).toBe('k(b) = \\mathrm{slug}(d) \\,\\|\\, \\mathrm{path}(b)');
    expect(converted.collections.pdf_documents?.[0]).toMatchObject({ title: sections[0]?.heading, pageCount: 3 });
  });

  it('keeps the hierarchy flat with parents, as paths, or nested, as asked', () => {
    const [root, intro] = sections;
    expect(root).toMatchObject({ parent: null, pages: [0, 2] });
    expect(intro).toMatchObject({ parent: root?._key, heading: '1 Introduction', pages: [0, 0] });

    const paths = convertToRequiredFormat(markerSample(), withHierarchy('path')).collections.pdf_sections ?? [];
    expect(paths.map((s) => s.path)).toEqual([
      ['Graph-Native Storage for Extracted Documents'],
      ['Graph-Native Storage for Extracted Documents', '1 Introduction'],
      ['Graph-Native Storage for Extracted Documents', '2 Method'],
      ['Graph-Native Storage for Extracted Documents', '3 Results'],
    ]);

    const nested = convertToRequiredFormat(markerSample(), withHierarchy('nested'));
    const roots = nested.collections.pdf_sections ?? [];
    expect(roots).toHaveLength(1);
    const subsections = roots[0]?.sections as { heading?: string; title: string; blocks: string[] }[];
    expect(subsections.map((s) => s.title)).toEqual(['1 Introduction', '2 Method', '3 Results']);
    expect(subsections[0]?.blocks).toHaveLength(3);
    expect(nested.edges.pdf_parent_of).toEqual([]);
    expect(nested.report.notSupplied).toContainEqual(expect.objectContaining({ what: 'parent_of edges' }));
    const fromRoot = `pdf_sections/${roots[0]?._key}`;
    expect(nested.edges.pdf_has_block?.every((e) => e._from === fromRoot)).toBe(true);
    expect(new Set(nested.collections.pdf_blocks?.map((b) => b.section))).toEqual(new Set([roots[0]?._key]));
  });

  it('links the document to its sections, sections to their blocks and subsections, blocks in reading order', () => {
    const doc = `pdf_documents/${converted.collections.pdf_documents?.[0]?._key}`;
    expect(converted.edges.pdf_has_section?.every((e) => e._from === doc && e.kind === 'has_section')).toBe(true);
    const order = blocks.map((b) => `pdf_blocks/${b._key}`);
    expect(converted.edges.pdf_next?.map((e) => [e._from, e._to])).toEqual(
      order.slice(1).map((to, i) => [order[i], to]),
    );
    const parents = converted.edges.pdf_parent_of?.map((e) => e._from);
    expect(new Set(parents)).toEqual(new Set([`pdf_sections/${sections[0]?._key}`]));
  });

  it('reports what it cannot supply: embeddings, metadata the document lacks, required fields left empty', () => {
    expect(converted.report.notSupplied).toContainEqual({
      what: 'embedding',
      why: expect.stringMatching(/does not compute vectors.*text-embedding-3-small.*1536/),
    });
    expect(converted.report.supplied).toEqual(
      expect.arrayContaining(['metadata.title', 'tables (cells, spans, header flags)']),
    );
    const needsDoi = requirementsWith((r) => {
      r.metadata.fields.push({ name: 'doi', type: 'string', required: true });
      r.validation = { ...r.validation, requiredFields: { blocks: ['text', 'language'] } };
    });
    const report = convertToRequiredFormat(markerSample(), needsDoi).report;
    expect(report.notSupplied).toEqual(
      expect.arrayContaining([
        { what: 'metadata.doi', why: 'required; the document does not have it' },
        { what: 'pdf_blocks.language', why: '11 of 11 records have no language' },
      ]),
    );
  });

  it('makes keys by the strategy asked, and rewrites those the key pattern refuses', () => {
    const hashed = convertToRequiredFormat(
      markerSample(),
      requirementsWith((r) => {
        r.target.keys = { strategy: 'hash', prefix: 'pdf-' };
      }),
    );
    for (const record of Object.values(hashed.collections).flat()) expect(record._key).toMatch(/^pdf-[0-9a-f]{32}$/);
    const slugged = convertToRequiredFormat(
      markerSample(),
      requirementsWith((r) => {
        r.target.keys = { strategy: 'slug' };
      }),
    );
    expect(slugged.collections.pdf_blocks?.[0]?._key).toBe(
      'graph-native-storage-for-extracted-documents-page-0-text-2',
    );

    const noColons = requirementsWith((r) => {
      r.validation = { ...r.validation, keyPattern: '^[A-Za-z0-9_-]{1,254}$' };
    });
    const rewritten = convertToRequiredFormat(markerSample(), noColons);
    expect(rewritten.report.counts.keysRewritten).toBe(15);
    for (const record of Object.values(rewritten.collections).flat())
      expect(record._key).toMatch(/^[A-Za-z0-9_-]{1,254}$/);
    const produced = handles(rewritten);
    for (const edge of Object.values(rewritten.edges).flat()) expect(produced).toContain(edge._to);
  });

  it('is deterministic: two runs give equal output, key for key', () => {
    const again = convertToRequiredFormat(markerSample(), EXAMPLE_REQUIREMENTS);
    expect(JSON.stringify(again)).toBe(JSON.stringify(converted));
  });

  it('converts a synthetic 5 MB document with every edge resolving', () => {
    const big = convertToRequiredFormat(syntheticDocument(5_000_000), EXAMPLE_REQUIREMENTS);
    const produced = handles(big);
    expect(produced.size).toBe(Object.values(big.collections).flat().length);
    for (const edge of Object.values(big.edges).flat()) {
      expect(produced.has(edge._from)).toBe(true);
      expect(produced.has(edge._to)).toBe(true);
    }
  });

  it('refuses requirements that are not valid pdf-requirements', () => {
    const invalid = requirementsWith((r) => {
      (r.target.keys as { strategy: string }).strategy = 'uuid';
    });
    expect(() => convertToRequiredFormat(markerSample(), invalid)).toThrow(/\/target\/keys\/strategy/);
  });
});
