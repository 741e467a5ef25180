import { describe, expect, it } from 'vitest';
import { assertSchema, validateValue } from '../validator.js';
import { planFor } from './plan.js';
import { EXAMPLE_REQUIREMENTS, PDF_REQUIREMENTS_SCHEMA, type PdfRequirements } from './requirements-schema.js';

const withChanges = (change: (r: PdfRequirements) => void): PdfRequirements => {
  const copy = structuredClone(EXAMPLE_REQUIREMENTS);
  change(copy);
  return copy;
};

const failures = (value: unknown) =>
  validateValue(PDF_REQUIREMENTS_SCHEMA, value).issues.map((i) => `${i.rule} ${i.path}`);

describe('PDF_REQUIREMENTS_SCHEMA', () => {
  it('compiles in strict mode and accepts the example an ArangoDB import would answer', () => {
    expect(() => assertSchema(PDF_REQUIREMENTS_SCHEMA)).not.toThrow();
    expect(validateValue(PDF_REQUIREMENTS_SCHEMA, EXAMPLE_REQUIREMENTS)).toEqual({ valid: true, issues: [] });
  });

  it('accepts the least a consumer can say: content parts, validation and embedding default', () => {
    const least = {
      consumer: 'search-index',
      metadata: { fields: [] },
      content: {},
      target: {
        collections: {
          documents: { name: 'docs' },
          sections: { name: 'sections' },
          blocks: { name: 'blocks', blockTypes: ['Text'] },
        },
        edges: [],
        keys: { strategy: 'hash' },
      },
    };
    expect(failures(least)).toEqual([]);
    const plan = planFor(least as PdfRequirements);
    expect(plan.sections).toMatchObject({
      wanted: true,
      required: false,
      maxHeadingLevel: 6,
      hierarchy: 'flat-with-parent',
    });
    expect(plan.keyPattern.test("a-b_c:d.e@f(g)+h,i=j;k$l!m*n'o%p")).toBe(true);
    expect(plan.keyPattern.test('page/0')).toBe(false);
  });

  it('refuses a part required but not wanted, an edge between the wrong collections, a key pattern that is no regex', () => {
    const bad = withChanges((r) => {
      r.content.tables = { wanted: false, required: true };
      r.target.edges.push({ kind: 'parent_of', collection: 'pdf_parent_of', from: 'documents', to: 'blocks' });
      r.target.edges.push({ kind: 'next', collection: 'pdf_next', from: 'blocks', to: 'sections' });
      r.validation = { keyPattern: '^[a-z+$' };
      r.target.collections.sections.rename = { _key: 'id' };
      r.target.keys.prefix = 'pdf/';
    });
    expect(failures(bad)).toEqual(
      expect.arrayContaining([
        'not /content/tables',
        'enum /target/edges/4/from',
        'enum /target/edges/4/to',
        'not /target/edges/5',
        'format /validation/keyPattern',
        'pattern /target/collections/sections/rename',
        'pattern /target/keys/prefix',
      ]),
    );
    expect(() => planFor(bad)).toThrow(/not valid pdf-requirements[\s\S]*\/content\/tables/);
  });

  it('refuses unknown metadata types and block types, naming the allowed ones', () => {
    const bad = withChanges((r) => {
      (r.metadata.fields[0] as { type: string }).type = 'text';
      (r.target.collections.blocks.blockTypes as string[]).push('Paragraph');
    });
    const issues = validateValue(PDF_REQUIREMENTS_SCHEMA, bad).issues;
    expect(issues.find((i) => i.path === '/metadata/fields/0/type')?.expected).toContain('"string[]"');
    expect(issues.some((i) => i.path === '/target/collections/blocks/blockTypes/10' && i.rule === 'enum')).toBe(true);
  });
});
