import { describe, expect, it } from 'vitest';
import { markerSample } from '../../../test/fixtures/pdf/marker-sample.js';
import { assertSchema, validateValue } from '../validator.js';
import { BLOCK_TYPES, DOCUMENT_SCHEMA, type DocumentBlock } from './document-schema.js';

const at = (document: { children: DocumentBlock[] }, ...path: number[]): DocumentBlock => {
  let block = document.children[path[0] as number] as DocumentBlock;
  for (const i of path.slice(1)) block = (block.children as DocumentBlock[])[i] as DocumentBlock;
  return block;
};

describe('DOCUMENT_SCHEMA', () => {
  it('compiles in strict mode', () => {
    expect(() => assertSchema(DOCUMENT_SCHEMA)).not.toThrow();
  });

  it("accepts the marker sample, which has every kind of block marker's JSON renderer emits", () => {
    const sample = markerSample();
    expect(validateValue(DOCUMENT_SCHEMA, sample)).toEqual({ valid: true, issues: [] });
    const types = new Set<string>();
    const collect = (b: DocumentBlock) => {
      types.add(b.block_type);
      for (const c of b.children ?? []) collect(c);
    };
    sample.children.forEach(collect);
    for (const t of [
      'Page',
      'SectionHeader',
      'Text',
      'ListGroup',
      'ListItem',
      'Table',
      'TableCell',
      'Figure',
      'Caption',
    ])
      expect(types).toContain(t);
    for (const t of ['Equation', 'PageHeader', 'PageFooter', 'TextInlineMath', 'TableGroup', 'FigureGroup'])
      expect(types).toContain(t);
  });

  it('accepts what marker varies: null hierarchy and images, fields of its own, our optional fields', () => {
    const sample = markerSample();
    const text = at(sample, 0, 2);
    text.section_hierarchy = null;
    text.images = null;
    text.debug_data = { tokens: 12 };
    text.page = 0;
    text.font = { name: 'Times-Roman', size: 10.5, bold: false };
    (sample.metadata as Record<string, unknown>).debug_data_path = '/tmp/debug';
    expect(validateValue(DOCUMENT_SCHEMA, sample).valid).toBe(true);
    expect(BLOCK_TYPES).toHaveLength(24);
  });

  it('is strict on what consumers rely on: id, block_type, children — each issue at its pointer', () => {
    const sample = markerSample();
    at(sample, 0, 2).block_type = 'Paragraph' as DocumentBlock['block_type'];
    at(sample, 0, 4).id = 'page-0-text-4';
    delete (at(sample, 1, 2) as Partial<DocumentBlock>).children;
    at(sample, 2, 1).polygon = [
      [0, 0],
      [1, 0],
      [1, 1],
    ];
    at(sample, 2, 3).section_hierarchy = { one: '/page/0/SectionHeader/1' };
    const { valid, issues } = validateValue(DOCUMENT_SCHEMA, sample);
    expect(valid).toBe(false);
    const found = issues.map((i) => `${i.rule} ${i.path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'enum /children/0/children/2/block_type',
        'pattern /children/0/children/4/id',
        'required /children/1/children/2/children',
        'minItems /children/2/children/1/polygon',
        'pattern /children/2/children/3/section_hierarchy',
      ]),
    );
  });

  it('wants a Document whose children are Pages', () => {
    const sample = markerSample();
    (sample.children[1] as DocumentBlock).block_type = 'Text';
    const { issues } = validateValue(DOCUMENT_SCHEMA, { ...sample, block_type: 'Doc' });
    expect(issues.map((i) => `${i.rule} ${i.path}`)).toEqual(
      expect.arrayContaining(['const /block_type', 'const /children/1/block_type']),
    );
  });
});
