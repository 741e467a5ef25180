import { describe, expect, it } from 'vitest';
import { markerSample } from '../../../test/fixtures/pdf/marker-sample.js';
import type { DocumentBlock, PdfDocument } from './document-schema.js';
import { syntheticDocument } from './generate.js';
import { EXAMPLE_REQUIREMENTS, type PdfRequirements } from './requirements-schema.js';
import { validatePdfFormat } from './validate-format.js';

/** The block at `/children/a/children/b/…`. */
const at = (document: PdfDocument, ...path: number[]): DocumentBlock => {
  let block = document.children[path[0] as number] as DocumentBlock;
  for (const i of path.slice(1)) block = (block.children as DocumentBlock[])[i] as DocumentBlock;
  return block;
};

const requirementsWith = (change: (r: PdfRequirements) => void): PdfRequirements => {
  const copy = structuredClone(EXAMPLE_REQUIREMENTS);
  change(copy);
  return copy;
};

const found = (document: unknown, requirements = EXAMPLE_REQUIREMENTS) =>
  validatePdfFormat(document, requirements).issues.map((i) => `${i.rule} ${i.path}`);

describe('validatePdfFormat', () => {
  it('finds nothing wrong with the marker sample', () => {
    expect(validatePdfFormat(markerSample(), EXAMPLE_REQUIREMENTS)).toEqual({ valid: true, issues: [] });
  });

  it('finds each broken rule of a broken copy, at the JSON pointer of the value at fault', () => {
    const broken = markerSample();
    at(broken, 0, 4).id = '/page/0/Text/2';
    (at(broken, 1, 2).section_hierarchy as Record<string, string>)['2'] = '/page/1/SectionHeader/99';
    at(broken, 2, 4).page = 7;
    at(broken, 2, 1).level = 5;
    at(broken, 1, 4, 1, 12).col_id = 3;
    (broken.metadata?.table_of_contents ?? [])[2] = { title: '2 Method', heading_level: 2, page_id: 9 };
    const issues = validatePdfFormat(broken, EXAMPLE_REQUIREMENTS).issues;
    expect(issues.map((i) => `${i.rule} ${i.path}`).sort()).toEqual(
      [
        'unique-id /children/0/children/4/id',
        'unique-key /children/0/children/4/id',
        'parent-exists /children/1/children/2/section_hierarchy/2',
        'page-in-range /children/2/children/4/page',
        'page-in-range /metadata/table_of_contents/2/page_id',
        'heading-level /children/2/children/1/level',
        'cell-in-table /children/1/children/4/children/1/children/12/col_id',
      ].sort(),
    );
    const byRule = Object.fromEntries(issues.map((i) => [i.rule, i]));
    expect(byRule['unique-id']?.message).toContain('/children/0/children/2');
    expect(byRule['page-in-range']).toMatchObject({ expected: 'a page of the document (0–2)', found: '7' });
    expect(byRule['heading-level']).toMatchObject({ expected: 'a level of at most 3', found: '5' });
    expect(byRule['cell-in-table']).toMatchObject({ found: '3 + 1', expected: 'col_id + colspan at most 3' });
  });

  it('reads a heading level from html or section_hierarchy when the block has no level field', () => {
    const deep = markerSample();
    at(deep, 2, 1).html = '<h4>3 Results</h4>';
    at(deep, 2, 1).section_hierarchy = { '1': '/page/0/SectionHeader/1', '4': '/page/2/SectionHeader/0' };
    expect(found(deep)).toContain('heading-level /children/2/children/1/section_hierarchy/4');
    const shallow = requirementsWith((r) => {
      r.content.sections = { wanted: true, maxHeadingLevel: 1 };
    });
    expect(found(markerSample(), shallow)).toContain('heading-level /children/0/children/3/section_hierarchy/2');
  });

  it('reports a page named in an id that the document does not have', () => {
    const broken = markerSample();
    at(broken, 2, 3).id = '/page/4/Text/4';
    expect(found(broken)).toEqual(['page-in-range /children/2/children/3/id']);
  });

  it('reports required metadata that is missing and metadata of the wrong type', () => {
    const requirements = requirementsWith((r) => {
      r.metadata.fields.push({ name: 'doi', type: 'string', required: true });
    });
    const broken = markerSample();
    (broken.metadata as Record<string, unknown>).published = 'last spring';
    (broken.metadata as Record<string, unknown>).authors = ['Ada Brennan', 42];
    const issues = validatePdfFormat(broken, requirements).issues;
    expect(issues.map((i) => `${i.rule} ${i.path}`).sort()).toEqual(
      [
        'metadata-type /metadata/authors',
        'metadata-type /metadata/published',
        'required-metadata /metadata/doi',
      ].sort(),
    );
    expect(issues.find((i) => i.rule === 'required-metadata')).toMatchObject({
      found: '(missing)',
      expected: 'a string',
    });
  });

  it('reports a title derived from the first heading as missing when the document has no heading', () => {
    const headless = markerSample();
    for (const page of headless.children)
      page.children = (page.children ?? []).filter((b) => b.block_type !== 'SectionHeader');
    for (const page of headless.children) for (const b of page.children ?? []) b.section_hierarchy = null;
    const issues = found(headless);
    expect(issues).toContain('required-metadata /metadata/title');
    expect(issues).toContain('required-content /children');
  });

  it('reports keys that break the key pattern, and keys two blocks would share', () => {
    const noColons = requirementsWith((r) => {
      r.validation = { ...r.validation, keyPattern: '^[A-Za-z0-9_-]{1,254}$' };
    });
    const issues = validatePdfFormat(markerSample(), noColons).issues;
    expect(issues.every((i) => i.rule === 'key-pattern')).toBe(true);
    expect(issues[0]).toMatchObject({
      path: '/children/0/children/1/id',
      found: '"graph-native-storage-for-extracted-documents:page:0:SectionHeader:1"',
    });
    expect(issues).toHaveLength(15);

    const slugs = requirementsWith((r) => {
      r.target.keys = { strategy: 'slug' };
    });
    const clash = markerSample();
    at(clash, 0, 4).id = '/page/0/TEXT/2';
    expect(found(clash, slugs).sort()).toEqual([
      'id-matches-type /children/0/children/4/id',
      'unique-key /children/0/children/4/id',
    ]);
  });

  it('reports required content the document lacks and blocks without the required bounding box', () => {
    const requirements = requirementsWith((r) => {
      r.content.tables = { wanted: true, required: true };
      r.content.boundingBoxes = { wanted: true, required: true };
    });
    const broken = markerSample();
    const page1 = broken.children[1] as DocumentBlock;
    page1.children = (page1.children ?? []).filter((b) => b.block_type !== 'TableGroup');
    delete at(broken, 0, 2).bbox;
    delete at(broken, 0, 2).polygon;
    expect(found(broken, requirements).sort()).toEqual([
      'required-bbox /children/0/children/2/bbox',
      'required-content /children',
    ]);
  });

  it('reports schema issues and rule issues together', () => {
    const broken = markerSample();
    at(broken, 0, 2).block_type = 'Paragraph' as DocumentBlock['block_type'];
    at(broken, 0, 4).id = '/page/0/Text/2';
    expect(found(broken)).toEqual(
      expect.arrayContaining(['enum /children/0/children/2/block_type', 'unique-id /children/0/children/4/id']),
    );
    expect(found('not a document')).toEqual(['type ']);
  });

  it('accepts a synthetic 5 MB document', () => {
    const big = syntheticDocument(5_000_000);
    expect(JSON.stringify(big).length).toBeGreaterThanOrEqual(5_000_000);
    expect(validatePdfFormat(big, EXAMPLE_REQUIREMENTS)).toEqual({ valid: true, issues: [] });
  });
});
