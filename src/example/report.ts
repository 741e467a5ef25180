/**
 * The pdf-to-arangodb example's report: the requirements arangodb gave, the validation result, what the document
 * holds (pages, blocks by type, sections, tables), the import files, what the conversion could not supply or
 * dropped, marker's review and, once the run has ended, each step's time and cost — as Markdown for a person and
 * the same data as JSON for a program. Pure.
 */
import type { ConversionReport, DocumentBlock, PdfDocument, PdfRequirements } from '../exchange/pdf/index.js';
import type { ValidationResult } from '../exchange/validator.js';
import type { ImportFile } from './arango-files.js';

/** What a document holds, counted. */
export interface DocumentCounts {
  pages: number;
  blocks: number;
  byType: Record<string, number>;
  sections: number;
  tables: number;
}

/** A step of the run, as the report shows it. */
export interface StepLine {
  step: string;
  status: string;
  ms: number | null;
  costUsd: number;
}

export interface ReportData {
  source: string;
  requirements: PdfRequirements;
  validation: ValidationResult;
  document: DocumentCounts;
  files: ImportFile[];
  conversion: ConversionReport;
  review: string | null;
  steps?: StepLine[];
}

/** Counts the blocks of a document by type (Pages included in `pages`, not in `blocks`). */
export function countBlocks(document: PdfDocument): DocumentCounts {
  const byType: Record<string, number> = {};
  let blocks = 0;
  const visit = (block: DocumentBlock) => {
    const type = typeof block.block_type === 'string' ? block.block_type : 'unknown';
    if (type !== 'Page') {
      byType[type] = (byType[type] ?? 0) + 1;
      blocks++;
    }
    if (Array.isArray(block.children)) for (const child of block.children) if (child) visit(child as DocumentBlock);
  };
  const pages = Array.isArray(document.children) ? document.children : [];
  for (const page of pages) if (page) visit(page as DocumentBlock);
  return { pages: pages.length, blocks, byType, sections: byType.SectionHeader ?? 0, tables: byType.Table ?? 0 };
}

/** Text for one Markdown table cell: no line breaks, no pipes breaking the row. */
const cell = (text: unknown) => String(text).replace(/\s+/g, ' ').replace(/\|/g, '\\|');

function table(head: string[], rows: unknown[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`);

/** The report as Markdown. */
export function reportMarkdown(d: ReportData): string {
  const r = d.requirements;
  const target = r.target;
  const out: string[] = [
    '# PDF to ArangoDB',
    '',
    `Source: \`${d.source}\``,
    '',
    '## What arangodb asked for',
    '',
    `${r.consumer}: ${r.description ?? ''}`.trim(),
    '',
    ...table(
      ['collection', 'holds'],
      Object.entries(target?.collections ?? {}).map(([role, c]) => [(c as { name: string }).name, role]),
    ),
    '',
    ...table(
      ['edge collection', 'kind', 'from → to'],
      (target?.edges ?? []).map((e) => [e.collection ?? e.kind, e.kind, `${e.from} → ${e.to}`]),
    ),
    '',
    `Required metadata: ${
      r.metadata?.fields
        ?.filter((f) => f.required)
        .map((f) => `${f.name} (${f.type})`)
        .join(', ') || 'none'
    }.`,
    '',
    '## Validation',
    '',
    d.validation.valid
      ? 'The document meets every requirement.'
      : `${d.validation.issues.length} problem${d.validation.issues.length === 1 ? '' : 's'}:`,
    '',
    ...(d.validation.valid
      ? []
      : [
          ...table(
            ['rule', 'where', 'problem'],
            d.validation.issues.slice(0, 50).map((i) => [i.rule ?? '', i.path || '/', i.message]),
          ),
          ...(d.validation.issues.length > 50
            ? ['', `…and ${d.validation.issues.length - 50} more (report.json).`]
            : []),
          '',
        ]),
    '## The document',
    '',
    `${count(d.document.pages, 'page')}, ${count(d.document.blocks, 'block')}, ${count(d.document.sections, 'section heading')}, ${count(d.document.tables, 'table')}.`,
    '',
    ...table(
      ['block type', 'count'],
      Object.entries(d.document.byType).sort((a, b) => b[1] - a[1]),
    ),
    '',
    '## Import files',
    '',
    ...table(
      ['file', 'collection', 'type', 'records'],
      d.files.map((f) => [f.file, f.collection, f.type, f.count]),
    ),
    '',
    'Import them with `sh import.sh` (arangoimport; see the comments at its top for the server settings).',
    '',
    '## What the conversion supplied, could not supply, and dropped',
    '',
    `Supplied: ${d.conversion.supplied.join(', ') || 'nothing'}.`,
    '',
    ...(d.conversion.notSupplied.length
      ? [
          ...table(
            ['not supplied', 'why'],
            d.conversion.notSupplied.map((n) => [n.what, n.why]),
          ),
          '',
        ]
      : ['Everything asked for was supplied.', '']),
    ...(d.conversion.dropped.length
      ? [
          ...table(
            ['dropped', 'blocks'],
            d.conversion.dropped.map((x) => [x.what, x.count]),
          ),
          '',
        ]
      : ['Nothing was dropped.', '']),
    "## marker's review",
    '',
    d.review?.trim() || '(no review)',
    '',
  ];
  if (d.steps)
    out.push(
      '## Steps',
      '',
      ...table(
        ['step', 'status', 'time', 'cost'],
        d.steps.map((s) => [s.step, s.status, seconds(s.ms), `$${s.costUsd.toFixed(4)}`]),
      ),
      '',
    );
  return out.join('\n');
}
