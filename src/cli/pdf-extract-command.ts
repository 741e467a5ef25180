/**
 * `claude-comms pdf extract FILE [--out FILE] [--json]` and `claude-comms pdf extract --step`: the bundled PDF
 * extractor from the command line. With `--step` it is a workflow `command` step: it reads `{ "pdf": PATH }` (or
 * `{ "markerJson": PATH }`, a marker JSON output to check and hand on; other fields are ignored) as JSON on stdin, reports each page read as
 * an `@@claude-comms {"progress": …, "log": …}` line, and prints the document as one line of JSON last. Relative
 * paths are taken from the working directory.
 */
import { writeFileSync } from 'node:fs';
import { format } from 'node:util';
import type { Command } from 'commander';
import { HubError } from '../domain/errors.js';
import { DOCUMENT_SCHEMA, type DocumentBlock, type PdfDocument } from '../exchange/pdf/index.js';
import { formatIssues, validateValue } from '../exchange/validator.js';
import { extractPdf } from '../pdf-extract/index.js';
import { usageError, wholeNumber } from './command-kit.js';
import { printErr, printJson, printJsonLine, printOut } from './output.js';
import { readDataFile } from './schema-commands.js';

/** The most a workflow command step may print (src/workflows/steps.ts), less room for the progress lines. */
const MAX_STEP_OUTPUT = 64 * 1024 * 1024 - 64 * 1024;
/** A step's input is a small JSON object: a path, and perhaps the rest of a run's inputs. */
const MAX_STEP_INPUT = 1024 * 1024;

interface ExtractOptions {
  out?: string;
  json?: boolean;
  step?: boolean;
  maxPages?: number;
  timeout?: number;
}

/** What a document holds, counted for the summary line. */
export function summarize(document: PdfDocument) {
  const blocks: Record<string, number> = {};
  const count = (block: DocumentBlock) => {
    blocks[block.block_type] = (blocks[block.block_type] ?? 0) + 1;
    for (const child of block.children ?? []) count(child);
  };
  for (const page of document.children) for (const block of page.children ?? []) count(block);
  const metadata = document.metadata ?? {};
  return {
    pages: document.children.length,
    pageCount: typeof metadata.pageCount === 'number' ? metadata.pageCount : document.children.length,
    blocks,
    headings: blocks.SectionHeader ?? 0,
    tables: blocks.Table ?? 0,
  };
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function summaryLine(file: string, out: string, s: ReturnType<typeof summarize>): string {
  const pages =
    s.pages < s.pageCount ? `${s.pages} of ${s.pageCount} pages` : `${s.pages} page${s.pages === 1 ? '' : 's'}`;
  const byType = Object.entries(s.blocks)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  const total = Object.values(s.blocks).reduce((a, b) => a + b, 0);
  return `${file}: ${pages}, ${count(total, 'block')} (${byType}), ${count(s.headings, 'heading')}, ${count(s.tables, 'table')} → ${out}\n`;
}

/** Reports progress as a workflow step does: one `@@claude-comms` line per percent reached, at most 100. */
function stepProgress(): (done: number, total: number) => void {
  let reported = -1;
  return (done, total) => {
    const percent = Math.floor((done * 100) / total);
    if (percent === reported) return;
    reported = percent;
    printOut(`@@claude-comms ${JSON.stringify({ progress: percent, log: `page ${done} of ${total}` })}\n`);
  };
}

async function readStepInput(): Promise<{ pdf?: string; markerJson?: string }> {
  if (process.stdin.isTTY) throw usageError('--step reads {"pdf": "PATH"} or {"markerJson": "PATH"} as JSON on stdin');
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk;
    if (text.length > MAX_STEP_INPUT) throw new HubError('too_large', 'the step input on stdin is over 1 MB');
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    throw new HubError('validation', `the step input on stdin is not JSON: ${(err as Error).message}`);
  }
  const fields: Record<string, unknown> =
    input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  // Other fields are the workflow's own (a run's whole inputs may be handed on): only these two are read.
  const { pdf, markerJson } = fields;
  const path = pdf ?? markerJson;
  if ('pdf' in fields === 'markerJson' in fields || typeof path !== 'string' || path.trim() === '')
    throw new HubError(
      'validation',
      `the step input must have "pdf" or "markerJson" (one of them, a path); got ${text.trim().slice(0, 200) || 'nothing'}`,
    );
  return typeof pdf === 'string' ? { pdf } : { markerJson: markerJson as string };
}

/** A marker JSON file, checked against document@1.0.0: every issue on stderr, then one line saying why. */
function loadMarkerJson(file: string): PdfDocument {
  const document = readDataFile(file);
  const { valid, issues } = validateValue(DOCUMENT_SCHEMA, document, file);
  if (valid) return document as PdfDocument;
  printErr(`${formatIssues(issues, 20)}\n`);
  const first = issues[0];
  throw new HubError(
    'validation',
    `${file} is not a document@1.0.0 (${issues.length} issues; the first at ${first?.path || '/'}: ${first?.message})`,
  );
}

async function runStep(opts: ExtractOptions): Promise<void> {
  // Stdout carries the progress lines and the document only: whatever a library says on the console goes to stderr.
  for (const level of ['log', 'info', 'warn', 'debug'] as const)
    console[level] = (...args: unknown[]) => printErr(`${format(...args)}\n`);
  const input = await readStepInput();
  let document: PdfDocument;
  if (input.markerJson !== undefined) {
    document = loadMarkerJson(input.markerJson);
    const log = `checked ${input.markerJson}: ${document.children.length} pages of marker JSON`;
    printOut(`@@claude-comms ${JSON.stringify({ progress: 100, log })}\n`);
  } else
    document = await extractPdf(input.pdf as string, {
      onPage: stepProgress(),
      ...(opts.maxPages && { maxPages: opts.maxPages }),
      ...(opts.timeout && { timeoutMs: opts.timeout * 1000 }),
    });
  const text = JSON.stringify(document);
  if (text.length > MAX_STEP_OUTPUT)
    throw new HubError(
      'too_large',
      `the document is ${(text.length / 1024 / 1024).toFixed(1)} MB of JSON, more than a workflow step may print ` +
        '(64 MB); extract fewer pages with --max-pages',
    );
  printJsonLine(document);
}

export function registerPdfExtractCommand(pdf: Command): void {
  pdf
    .command('extract')
    .description('extract the structure of a PDF as a document@1.0.0 (headings, paragraphs, lists, tables)')
    .argument('[file]', 'the PDF (not with --step)')
    .option('--out <file>', 'write the document there and print a one-line summary instead')
    .option('--json', 'with --out: print the summary as JSON')
    .option('--step', 'run as a workflow command step: {"pdf": PATH} or {"markerJson": PATH} on stdin')
    .option('--max-pages <n>', 'read at most this many pages, from the first (default 2000)', wholeNumber(1, 100_000))
    .option('--timeout <seconds>', 'give up after this long (default 600)', wholeNumber(1, 86_400))
    .action(async (file: string | undefined, opts: ExtractOptions) => {
      if (opts.step) {
        if (file !== undefined || opts.out)
          throw usageError('--step reads its input from stdin: give no FILE and no --out');
        return runStep(opts);
      }
      if (file === undefined) throw usageError("give the PDF to extract (or --step to read a workflow step's input)");
      const document = await extractPdf(file, {
        ...(opts.maxPages && { maxPages: opts.maxPages }),
        ...(opts.timeout && { timeoutMs: opts.timeout * 1000 }),
      });
      if (!opts.out) return printJson(document);
      writeFileSync(opts.out, `${JSON.stringify(document, null, 2)}\n`);
      const summary = summarize(document);
      if (opts.json) printJson({ file, out: opts.out, ...summary });
      else printOut(summaryLine(file, opts.out, summary));
    });
}
