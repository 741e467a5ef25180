// `claude-comms example pdf-to-arangodb` as a newcomer runs it: against a service on a fresh data home (the bundled
// example modules), on a PDF generated with a known structure. Every output file is parsed and checked — each
// edge's _from and _to name a record written, keys follow ArangoDB's rules, counts agree with the PDF — the
// report's numbers match the files, and import.sh runs against a stand-in arangoimport on the PATH, edge
// collections first. Marker's own JSON output goes through the same way; a file that is not a PDF fails the run
// saying so.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, type Run, type Running, requireBuild, runCli, startCli } from '../support/cli.js';
import { notAPdf, REPORT, reportPdf } from '../support/pdfs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEY = /^[A-Za-z0-9_\-:.@()+,=;$!*'%]{1,254}$/;
const home = mkdtempSync(join(tmpdir(), 'cc-example-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];
const cli = (...args: string[]): Promise<Run> => runCli(env, args);
let service: Running;

const jsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A directory holding the stand-in `arangoimport`, for the PATH. */
function standInBin(): string {
  const bin = mkdtempSync(join(tmpdir(), 'cc-arango-bin-'));
  const script = join(ROOT, 'test/support/arangoimport.mjs');
  writeFileSync(join(bin, 'arangoimport'), `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
  chmodSync(join(bin, 'arangoimport'), 0o755);
  return bin;
}

/** The files of an output directory, checked: keys valid, every edge between records written; the records. */
function checkFiles(out: string): Map<string, Record<string, unknown>[]> {
  const records = new Map<string, Record<string, unknown>[]>();
  for (const c of ['documents', 'sections', 'blocks', 'has_section', 'has_block', 'next', 'parent_of'])
    records.set(c, jsonl(join(out, `${c}.jsonl`)));
  const keys = new Set<string>();
  for (const c of ['documents', 'sections', 'blocks'])
    for (const r of records.get(c) ?? []) {
      expect(r._key, `${c} ${JSON.stringify(r).slice(0, 80)}`).toMatch(KEY);
      expect(keys.has(`${c}/${r._key}`), `${c}/${r._key} twice`).toBe(false);
      keys.add(`${c}/${r._key}`);
    }
  for (const c of ['has_section', 'has_block', 'next', 'parent_of'])
    for (const e of records.get(c) ?? []) {
      expect(keys.has(e._from as string), `${c} from ${e._from}`).toBe(true);
      expect(keys.has(e._to as string), `${c} to ${e._to}`).toBe(true);
    }
  return records;
}

beforeAll(async () => {
  requireBuild();
  service = startCli(env, ['serve', '--port', '0']);
  await service.until((s) => /serving at (http:\S+)/.test(s.stdout), 'the service to listen');
});

afterAll(async () => {
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

describe('claude-comms example pdf-to-arangodb', () => {
  it('extracts a PDF, asks, checks, converts and writes files that import, with a report that matches them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-example-pdf-'));
    const pdf = join(dir, 'field-notes.pdf');
    writeFileSync(pdf, await reportPdf());
    const out = join(dir, 'out');
    const run = await cli('example', 'pdf-to-arangodb', '--pdf', pdf, '--out', out, '--wait');
    expect(run.code, run.stderr).toBe(0);
    // Live: each step as it moves, and the pages the extractor reports.
    for (const step of ['extract', 'requirements', 'check', 'review', 'convert', 'files'])
      expect(run.stderr).toContain(`step ${step}: complete`);
    expect(run.stderr).toMatch(/step extract: .*3 of 3/);
    expect(run.stdout).toContain(`to ${out}, with import.sh and report.md`);

    const records = checkFiles(out);
    // Agree with the PDF: one document with its title and pages; a section per heading (levels 1–3).
    const [document] = records.get('documents') ?? [];
    expect(document).toMatchObject({ title: REPORT.title, pageCount: 3 });
    const headings = (records.get('sections') ?? []).map((s) => s.heading);
    expect(headings).toEqual([REPORT.title, '1 Introduction', '2 Method', '2.1 Sites', '2.2 Instruments', '3 Results']);
    expect(records.get('has_section')).toHaveLength(6);
    // Sections nest: 2.1 and 2.2 under 2 Method.
    const keyOf = new Map((records.get('sections') ?? []).map((s) => [s.heading, `sections/${s._key}`]));
    const children = (records.get('parent_of') ?? [])
      .filter((e) => e._from === keyOf.get('2 Method'))
      .map((e) => e._to);
    expect(children.sort()).toEqual([keyOf.get('2.1 Sites'), keyOf.get('2.2 Instruments')].sort());
    const blocks = records.get('blocks') ?? [];
    const table = blocks.find((b) => b.kind === 'Table');
    expect(table).toBeDefined();
    expect(JSON.stringify(table)).toContain('River bank');
    expect(blocks.filter((b) => b.kind === 'ListGroup')).toHaveLength(2);

    // The report's numbers are the files'.
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      document: { pages: number; sections: number; tables: number };
      files: { collection: string; count: number }[];
      validation: { valid: boolean };
      steps: { step: string; status: string; ms: number }[];
    };
    expect(report.document).toMatchObject({ pages: 3, sections: 6, tables: 1 });
    for (const f of report.files) expect(f.count, f.collection).toBe(records.get(f.collection)?.length);
    expect(report.steps.map((s) => [s.step, s.status])).toEqual(
      ['extract', 'requirements', 'check', 'review', 'convert', 'files'].map((s) => [s, 'complete']),
    );
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain('3 pages');
    expect(markdown).toContain('## Steps');
    expect(markdown).toContain("## marker's review");

    // import.sh against the stand-in arangoimport: edge collections first, every file once.
    const log = join(dir, 'arangoimport.log');
    execFileSync('sh', [join(out, 'import.sh')], {
      env: { ...process.env, PATH: `${standInBin()}:${process.env.PATH}`, ARANGOIMPORT_LOG: log },
    });
    const calls = jsonl(log);
    expect(calls.map((c) => c.type)).toEqual(['edge', 'edge', 'edge', 'edge', 'document', 'document', 'document']);
    for (const c of calls) expect(c.count, String(c.collection)).toBe(records.get(c.collection as string)?.length);
  });

  it("takes marker's own JSON output instead of a PDF", async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cc-example-marker-')), 'out');
    const marker = join(ROOT, 'test/fixtures/pdf/marker-sample.json');
    const run = await cli('example', 'pdf-to-arangodb', '--marker-json', marker, '--out', out, '--wait');
    expect(run.code, run.stderr).toBe(0);
    const records = checkFiles(out);
    const fixture = JSON.parse(readFileSync(marker, 'utf8')) as { children: unknown[] };
    expect(records.get('documents')?.[0]?.pageCount).toBe(fixture.children.length);
  });

  it('says what is wrong with a file that is not a PDF, and with a PDF that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-example-bad-'));
    const bad = join(dir, 'notes.pdf');
    writeFileSync(bad, notAPdf());
    const run = await cli('example', 'pdf-to-arangodb', '--pdf', bad, '--out', join(dir, 'out'), '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/step extract: failed — .*not a PDF/i);
    const missing = await cli('example', 'pdf-to-arangodb', '--pdf', join(dir, 'nothing.pdf'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no PDF at ${join(dir, 'nothing.pdf')}`);
    const both = await cli('example', 'pdf-to-arangodb');
    expect(both.stderr).toContain('give the PDF to extract (--pdf FILE) or a marker JSON file (--marker-json FILE)');
  });
});
