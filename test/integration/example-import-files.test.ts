// The pdf-to-arangodb example's files, from a real-shaped marker document and arangodb's example requirements:
// every JSONL record parses with a valid _key, every edge's _from and _to name a record written, the counts agree
// with the document, and import.sh — run with sh against a stand-in arangoimport on the PATH — creates the edge
// collections first, as edge collections, then the documents, each file given once; the report's numbers match.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeExampleOutput } from '../../src/example/write-step.js';
import {
  convertToRequiredFormat,
  type PdfDocument,
  type PdfRequirements,
  validatePdfFormat,
} from '../../src/exchange/pdf/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAND_IN = join(ROOT, 'test/support/arangoimport.mjs');
const KEY = /^[A-Za-z0-9_\-:.@()+,=;$!*'%]{1,254}$/;

const document = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/pdf/marker-sample.json'), 'utf8')) as PdfDocument;
const requirements = JSON.parse(
  readFileSync(join(ROOT, 'examples/arangodb/requirements.json'), 'utf8'),
) as PdfRequirements;

/** A directory holding `arangoimport` (the stand-in), for the PATH. */
function standInBin(): string {
  const bin = mkdtempSync(join(tmpdir(), 'cc-arango-bin-'));
  writeFileSync(join(bin, 'arangoimport'), `#!/bin/sh\nexec "${process.execPath}" "${STAND_IN}" "$@"\n`);
  chmodSync(join(bin, 'arangoimport'), 0o755);
  return bin;
}

const jsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the example import files', () => {
  it('writes valid records and edges, an import script that creates edge collections first, and a true report', () => {
    const out = mkdtempSync(join(tmpdir(), 'cc-arango-out-'));
    const conversion = convertToRequiredFormat(document, requirements);
    const validation = validatePdfFormat(document, requirements);
    const written = writeExampleOutput({
      out,
      inputs: { markerJson: '/data/paper.json' },
      conversion,
      requirements,
      validation,
      document,
      review: 'I would change nothing.',
    });

    // The collections arangodb asked for, edges included, each file once.
    expect(written.files.map((f) => [f.collection, f.type])).toEqual([
      ['has_section', 'edge'],
      ['has_block', 'edge'],
      ['next', 'edge'],
      ['parent_of', 'edge'],
      ['documents', 'document'],
      ['sections', 'document'],
      ['blocks', 'document'],
    ]);
    const records = new Map<string, Record<string, unknown>[]>();
    for (const f of written.files) {
      const lines = jsonl(join(out, f.file));
      expect(lines).toHaveLength(f.count);
      records.set(f.collection, lines);
    }
    const keys = new Set<string>();
    for (const name of ['documents', 'sections', 'blocks'])
      for (const r of records.get(name) ?? []) {
        expect(r._key).toMatch(KEY);
        keys.add(`${name}/${r._key}`);
      }
    expect(keys.size).toBe(['documents', 'sections', 'blocks'].reduce((n, c) => n + (records.get(c)?.length ?? 0), 0));
    // Every edge joins two records written.
    for (const kind of ['has_section', 'has_block', 'next', 'parent_of'])
      for (const e of records.get(kind) ?? []) {
        expect(keys.has(e._from as string), `${kind} ${e._from}`).toBe(true);
        expect(keys.has(e._to as string), `${kind} ${e._to}`).toBe(true);
      }
    // One document; a section per heading kept; counts as the conversion reported them.
    expect(records.get('documents')).toHaveLength(1);
    expect(records.get('sections')?.length).toBe(conversion.report.counts.sections);
    expect(records.get('has_section')?.length).toBe(records.get('sections')?.length);

    // The script, run with a stand-in arangoimport: edge collections first, as edges; then documents.
    const log = join(out, 'arangoimport.log');
    const said = execFileSync('sh', [written.script], {
      env: {
        ...process.env,
        PATH: `${standInBin()}:${process.env.PATH}`,
        ARANGOIMPORT_LOG: log,
        ARANGO_DATABASE: 'papers',
      },
      encoding: 'utf8',
    });
    expect(said).toContain('imported 7 collections');
    const calls = jsonl(log);
    expect(calls.map((c) => [c.collection, c.type, c.count])).toEqual(
      written.files.map((f) => [f.collection, f.type, f.count]),
    );
    expect(calls.every((c) => c.database === 'papers' && c.duplicates === 'replace')).toBe(true);
    const firstDocument = calls.findIndex((c) => c.type === 'document');
    expect(calls.slice(firstDocument).every((c) => c.type === 'document')).toBe(true);

    // The report says what the files hold.
    const report = JSON.parse(readFileSync(written.report.json, 'utf8')) as {
      document: { pages: number; sections: number; tables: number };
      files: { collection: string; count: number }[];
      validation: { valid: boolean; issues: unknown[] };
      source: string;
    };
    expect(report.source).toBe('/data/paper.json');
    expect(report.document.pages).toBe(document.children?.length);
    expect(report.files.find((f) => f.collection === 'blocks')?.count).toBe(records.get('blocks')?.length);
    expect(report.validation.valid).toBe(validation.valid);
    const markdown = readFileSync(written.report.markdown, 'utf8');
    expect(markdown).toContain(`| blocks.jsonl | blocks | document | ${records.get('blocks')?.length} |`);
    expect(markdown).toContain('I would change nothing.');
  });

  it('refuses an input that is not what the steps before it answer, naming what is wrong', () => {
    const base = {
      out: '/tmp/x',
      inputs: {},
      conversion: { collections: {}, edges: {}, report: {} },
      requirements: {},
      validation: { valid: true, issues: [] },
      document: {},
    };
    expect(() => writeExampleOutput([])).toThrow(/not a JSON object/);
    expect(() => writeExampleOutput({ ...base, conversion: undefined, document: undefined })).toThrow(
      /the input has no conversion, document/,
    );
    expect(() => writeExampleOutput({ ...base, out: 'relative' })).toThrow(/out must be an absolute directory/);
    expect(() => writeExampleOutput({ ...base, validation: { ok: 1 } })).toThrow(/validation is not/);
    expect(() =>
      writeExampleOutput({
        ...base,
        out: mkdtempSync(join(tmpdir(), 'cc-arango-bad-')),
        conversion: { collections: { 'no/slash': [] }, edges: {}, report: {} },
      }),
    ).toThrow(/"no\/slash" is not an ArangoDB collection name/);
  });
});
