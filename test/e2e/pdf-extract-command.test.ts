// `claude-comms pdf extract` run as users and workflow steps run it (the built bin, in child processes): the
// document on stdout, --out with its summary line or JSON, --max-pages and --timeout reaching the command, --step
// with a PDF (progress lines, then the document) and with a marker JSON file, and bad input refused by name.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PdfDocument } from '../../src/exchange/pdf/document-schema.js';
import { requireBuild } from '../support/cli.js';
import { encryptedPdf, longPdf, reportPdf } from '../support/pdfs.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'claude-comms.js');
const home = mkdtempSync(join(tmpdir(), 'cc-pdf-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
const report = join(home, 'report.pdf');
const marker = join(root, 'test', 'fixtures', 'pdf', 'marker-sample.json');

/** Runs the CLI to its end with `input` on stdin (closed at once when there is none), all its output read. */
function cli(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd: home });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const SUMMARY =
  '3 pages, 40 blocks (TableCell 12, SectionHeader 6, Text 6, ListItem 6, PageFooter 3, ListGroup 2, ' +
  'PageHeader 2, TableGroup 1, Caption 1, Table 1), 6 headings, 1 table';

beforeAll(async () => {
  requireBuild();
  writeFileSync(report, await reportPdf());
});

describe('claude-comms pdf extract', () => {
  it('prints the document, or writes it to --out with a summary line or --json', async () => {
    const printed = await cli(['pdf', 'extract', 'report.pdf']);
    expect(printed.code).toBe(0);
    const doc = JSON.parse(printed.stdout) as PdfDocument;
    expect([doc.block_type, doc.children.length, doc.metadata?.title]).toEqual([
      'Document',
      3,
      'Field Notes on Soil Moisture',
    ]);

    const written = await cli(['pdf', 'extract', 'report.pdf', '--out', 'report.json']);
    expect([written.code, written.stdout]).toEqual([0, `report.pdf: ${SUMMARY} → report.json\n`]);
    expect(JSON.parse(readFileSync(join(home, 'report.json'), 'utf8'))).toEqual(doc);

    const json = await cli(['pdf', 'extract', 'report.pdf', '--out', 'report.json', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      file: 'report.pdf',
      out: 'report.json',
      pages: 3,
      pageCount: 3,
      blocks: {
        SectionHeader: 6,
        Text: 6,
        ListGroup: 2,
        ListItem: 6,
        PageFooter: 3,
        PageHeader: 2,
        TableGroup: 1,
        Caption: 1,
        Table: 1,
        TableCell: 12,
      },
      headings: 6,
      tables: 1,
    });
  });

  it('hands --max-pages and --timeout to the extraction', async () => {
    const two = await cli(['pdf', 'extract', 'report.pdf', '--out', 'two.json', '--max-pages', '2']);
    expect(two.stdout).toMatch(/^report\.pdf: 2 of 3 pages, /);
    // 800 pages take seconds to read, even on a fast machine.
    writeFileSync(join(home, 'long.pdf'), await longPdf(800));
    const late = await cli(['pdf', 'extract', 'long.pdf', '--timeout', '1']);
    expect([late.code, late.stdout]).toEqual([1, '']);
    expect(late.stderr).toMatch(/^claude-comms: long\.pdf: extraction did not finish within 1 s \(.+\) \[timeout\]\n$/);
  });

  it('refuses an encrypted PDF and a missing file by name, with exit status 1', async () => {
    writeFileSync(join(home, 'locked.pdf'), await encryptedPdf());
    const locked = await cli(['pdf', 'extract', 'locked.pdf']);
    expect([locked.code, locked.stdout]).toEqual([1, '']);
    expect(locked.stderr).toMatch(/^claude-comms: locked\.pdf is encrypted: .* \[validation\]\n$/);
    const missing = await cli(['pdf', 'extract', 'gone.pdf']);
    expect([missing.code, missing.stderr]).toEqual([1, 'claude-comms: gone.pdf does not exist [not_found]\n']);
  });
});

describe('claude-comms pdf extract --step', () => {
  it('reads {"pdf"} on stdin, reports each page, then prints the document on one line', async () => {
    // A run's whole inputs may be handed on: fields other than "pdf" are not read.
    const run = await cli(['pdf', 'extract', '--step'], JSON.stringify({ pdf: 'report.pdf', out: '/elsewhere' }));
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '@@claude-comms {"progress":33,"log":"page 1 of 3"}',
      '@@claude-comms {"progress":66,"log":"page 2 of 3"}',
      '@@claude-comms {"progress":100,"log":"page 3 of 3"}',
    ]);
    expect(lines.length).toBe(4);
    const doc = JSON.parse(lines[3] as string) as PdfDocument;
    expect(doc.metadata?.table_of_contents?.map((t) => t.title)).toEqual([
      'Field Notes on Soil Moisture',
      '1 Introduction',
      '2 Method',
      '2.1 Sites',
      '3 Results',
    ]);
  });

  it('reads {"markerJson"}: checks the marker JSON file and hands it on as it is', async () => {
    const run = await cli(['pdf', 'extract', '--step'], JSON.stringify({ markerJson: marker }));
    expect(run.code).toBe(0);
    const [progress, document] = run.stdout.trimEnd().split('\n');
    expect(progress).toBe(`@@claude-comms {"progress":100,"log":"checked ${marker}: 3 pages of marker JSON"}`);
    expect(JSON.parse(document as string)).toEqual(JSON.parse(readFileSync(marker, 'utf8')));
  });

  it('refuses a marker file that is not a document, input naming both or neither, and a FILE too', async () => {
    writeFileSync(join(home, 'not-a-document.json'), JSON.stringify({ pages: [] }));
    const wrong = await cli(['pdf', 'extract', '--step'], '{"markerJson": "not-a-document.json"}');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trimEnd().split('\n').pop()).toBe(
      "claude-comms: not-a-document.json is not a document@1.0.0 (2 issues; the first at /block_type: the value must have required property 'block_type') [validation]",
    );
    const both = await cli(['pdf', 'extract', '--step'], '{"pdf": "a.pdf", "markerJson": "b.json"}');
    expect([both.code, both.stderr]).toEqual([
      1,
      'claude-comms: the step input must have "pdf" or "markerJson" (one of them, a path); got {"pdf": "a.pdf", "markerJson": "b.json"} [validation]\n',
    ]);
    const neither = await cli(['pdf', 'extract', '--step'], '{"pdf": 7}');
    expect([neither.code, neither.stderr]).toEqual([
      1,
      'claude-comms: the step input must have "pdf" or "markerJson" (one of them, a path); got {"pdf": 7} [validation]\n',
    ]);
    const withFile = await cli(['pdf', 'extract', 'report.pdf', '--step']);
    expect(withFile.code).toBe(2);
  });
});
