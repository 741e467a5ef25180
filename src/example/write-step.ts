/**
 * The last step of the pdf-to-arangodb example (`claude-comms example write-arango --step`, the built-in command
 * `arango-import-files`): from the conversion, the requirements, the validation result, the document and marker's
 * review, it writes into `out` the ArangoDB import files, `import.sh`, `report.md` and `report.json`, and answers
 * what it wrote. `addSteps` completes the report with each step's time and cost once the run has ended.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { HubError } from '../domain/errors.js';
import type { Conversion, PdfDocument, PdfRequirements } from '../exchange/pdf/index.js';
import type { ValidationResult } from '../exchange/validator.js';
import { type ImportFile, writeImport } from './arango-files.js';
import { countBlocks, type ReportData, reportMarkdown, type StepLine } from './report.js';

/** What the step is given on stdin. */
export interface WriteInput {
  out: string;
  /** The run's inputs: the PDF (`pdf`) or marker JSON file (`markerJson`) it read. */
  inputs: { pdf?: string; markerJson?: string };
  conversion: Conversion;
  requirements: PdfRequirements;
  validation: ValidationResult;
  document: PdfDocument;
  review?: string | null;
}

/** What it answers: the directory, the files with their collections and counts, the report's paths. */
export interface Written {
  out: string;
  files: ImportFile[];
  script: string;
  report: { markdown: string; json: string };
  valid: boolean;
  issues: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The input checked: every part there, with the shape it needs; `validation` naming what is not. */
export function checkInput(input: unknown): WriteInput {
  if (!isObject(input)) throw new HubError('validation', 'the input is not a JSON object');
  const missing = ['out', 'inputs', 'conversion', 'requirements', 'validation', 'document'].filter(
    (k) => input[k] === undefined || input[k] === null,
  );
  if (missing.length) throw new HubError('validation', `the input has no ${missing.join(', ')}`);
  if (typeof input.out !== 'string' || !isAbsolute(input.out))
    throw new HubError('validation', `out must be an absolute directory path, not ${JSON.stringify(input.out)}`);
  const conversion = input.conversion as Record<string, unknown>;
  if (!isObject(conversion) || !isObject(conversion.collections) || !isObject(conversion.edges))
    throw new HubError('validation', 'conversion is not what convertToRequiredFormat answers (collections, edges)');
  const validation = input.validation as Record<string, unknown>;
  if (!isObject(validation) || typeof validation.valid !== 'boolean' || !Array.isArray(validation.issues))
    throw new HubError('validation', 'validation is not what validatePdfFormat answers (valid, issues)');
  return input as unknown as WriteInput;
}

/** Writes the import files, the script and the report. */
export function writeExampleOutput(raw: unknown): Written {
  const input = checkInput(raw);
  const files = writeImport(input.conversion, input.out);
  const data: ReportData = {
    source: String(input.inputs.pdf ?? input.inputs.markerJson ?? '(unknown)'),
    requirements: input.requirements,
    validation: input.validation,
    document: countBlocks(input.document),
    files,
    conversion: input.conversion.report,
    review: typeof input.review === 'string' ? input.review : null,
  };
  const report = { markdown: join(input.out, 'report.md'), json: join(input.out, 'report.json') };
  writeFileSync(report.json, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(report.markdown, reportMarkdown(data));
  return {
    out: input.out,
    files,
    script: join(input.out, 'import.sh'),
    report,
    valid: input.validation.valid,
    issues: input.validation.issues.length,
  };
}

/** Adds the run's steps (time and cost) to the report in `out`, both forms. */
export function addSteps(out: string, steps: StepLine[]): void {
  const json = join(out, 'report.json');
  if (!existsSync(json)) throw new HubError('not_found', `no report in ${out}`);
  const data = { ...(JSON.parse(readFileSync(json, 'utf8')) as ReportData), steps };
  writeFileSync(json, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(out, 'report.md'), reportMarkdown(data));
}
