/**
 * `claude-comms schema publish FILE | list | show NAME[@V] | validate NAME[@V] FILE | check FILE | types NAME[@V]`
 * and `claude-comms template list | show NAME[@V] | publish FILE`: the exchange registry from the command line.
 * A file is JSON or YAML: `{ name, version, description?, compatibility?, owner?, schema }` for a schema (or a bare
 * JSON Schema with `--name NAME@VERSION`), `{ name, version, description?, params, prompt, answerSchema }` for a
 * template. Values are validated here, against the schema fetched, so a large file never crosses the API.
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { HubError } from '../domain/errors.js';
import { parseRef } from '../domain/schema-ref.js';
import { COMPATIBILITY_MODES, type CompatibilityReport } from '../exchange/compat.js';
import { typesFor } from '../exchange/typescript.js';
import { formatIssues, validateValue } from '../exchange/validator.js';
import type { PublishSchemaInput } from '../registry/schema-registry.js';
import type { PublishTemplateInput } from '../registry/template-registry.js';
import { clientRunner, group, printList } from './command-kit.js';
import { ago, indent } from './format.js';
import { printErr, printJson, printOut } from './output.js';

/** A JSON or YAML file, read and parsed; `-` is stdin. */
export function readDataFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new HubError('validation', `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new HubError(
      'validation',
      `${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
}

/** A schema file as a publication: the envelope, or a bare schema named by `--name`. */
function schemaInput(
  file: string,
  opts: { name?: string; compatibility?: string; description?: string },
): PublishSchemaInput {
  const data = readDataFile(file) as Record<string, unknown>;
  let input: PublishSchemaInput;
  if (opts.name) {
    const ref = parseRef(opts.name);
    if (!ref.version) throw new HubError('validation', '--name takes NAME@VERSION');
    input = { name: ref.name, version: ref.version, schema: data as Record<string, unknown> };
  } else {
    if (!data || typeof data !== 'object' || !('schema' in data))
      throw new HubError(
        'validation',
        `${file} must hold { name, version, schema, description?, compatibility? } (or give a bare schema with --name NAME@VERSION)`,
      );
    input = data as unknown as PublishSchemaInput;
  }
  return {
    ...input,
    ...(opts.compatibility ? { compatibility: opts.compatibility as PublishSchemaInput['compatibility'] } : {}),
    ...(opts.description ? { description: opts.description } : {}),
  };
}

function printReport(report: CompatibilityReport): void {
  const against = report.against.length ? report.against.join(', ') : 'no earlier version';
  printOut(`${report.compatible ? 'compatible' : 'NOT compatible'} (${report.mode}, against ${against})\n`);
  for (const c of report.changes) printOut(`  ${c.direction === 'newly_accepted' ? '+' : '-'} ${c.description}\n`);
  for (const u of report.undecided) printOut(`  ? ${u.path || '(root)'}: ${u.reason}\n`);
}

export function registerSchemaCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  const schema = group(
    cli.command('schema').description('exchange schemas: publish, list, show, validate, check, types'),
  );
  const modeOption = new Option('--compatibility <mode>', 'the compatibility mode').choices(COMPATIBILITY_MODES);

  schema
    .command('publish')
    .description('publish a schema version (refused with a report if it breaks its compatibility mode)')
    .argument('<file>', 'JSON or YAML: { name, version, schema, description?, compatibility? }')
    .option('--name <NAME@VERSION>', 'the file is a bare JSON Schema, published as this')
    .option('--description <text>', 'what the format is for')
    .addOption(modeOption)
    .option('--json', 'print JSON')
    .action((file: string, opts: { name?: string; compatibility?: string; description?: string; json?: boolean }) =>
      withClient(async (client) => {
        const result = await client.exchange.publishSchema(schemaInput(file, opts));
        if (opts.json) return printJson(result);
        const { name, version } = result.schema;
        printOut(
          result.created
            ? `published ${name}@${version}\n`
            : `${name}@${version} was already published with this content\n`,
        );
        if (result.report.against.length) printReport(result.report);
      }),
    );

  schema
    .command('check')
    .description('check a draft version against the published ones, without publishing it (exit 1 if incompatible)')
    .argument('<file>', 'as for publish')
    .option('--name <NAME@VERSION>', 'the file is a bare JSON Schema')
    .addOption(new Option('--compatibility <mode>', 'judge in this mode').choices(COMPATIBILITY_MODES))
    .option('--json', 'print JSON')
    .action((file: string, opts: { name?: string; compatibility?: string; json?: boolean }) =>
      withClient(async (client) => {
        const report = await client.exchange.checkSchema(schemaInput(file, opts));
        if (opts.json) printJson(report);
        else printReport(report);
        if (!report.compatible) process.exitCode = 1;
      }),
    );

  schema
    .command('list')
    .description('the schemas, with their versions')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withClient(async (client) => {
        printList(opts, 'schemas', await client.exchange.listSchemas(), {
          empty: 'no schemas are published',
          header: ['NAME', 'LATEST', 'VERSIONS', 'MODE', 'OWNER', 'PUBLISHED', 'DESCRIPTION'],
          row: (s) => [
            s.name,
            s.latest,
            String(s.versions.length),
            s.compatibility,
            s.owner ?? '—',
            ago(s.updatedAt),
            s.description,
          ],
        });
      }),
    );

  schema
    .command('show')
    .description('a schema version (default: the latest) and the versions there are')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .option('--json', 'print JSON')
    .action((ref: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const found = await client.exchange.schema(ref);
        if (opts.json) return printJson(found);
        const versions = await client.exchange.schemaVersions(found.name);
        printOut(
          `${found.name}@${found.version}  ${found.compatibility}  owner ${found.owner ?? '—'}  published ${ago(found.createdAt)}\n` +
            `${found.description ? `${found.description}\n` : ''}versions: ${versions.map((v) => v.version).join(', ')}\n\n` +
            `${indent(JSON.stringify(found.body, null, 2))}\n`,
        );
      }),
    );

  schema
    .command('validate')
    .description('validate a JSON or YAML file against a schema version (exit 1 if invalid)')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .argument('<file>', 'the value ("-" reads stdin)')
    .option('--json', 'print JSON')
    .action((ref: string, file: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const found = await client.exchange.schema(ref);
        const value = readDataFile(file);
        const label = `${found.name}@${found.version}`;
        const result = { ...validateValue(found.body, value, `schema ${label}`), schema: label };
        if (opts.json) printJson(result);
        else if (result.valid) printOut(`${file} is valid against ${label}\n`);
        else
          printErr(
            `${file} is not valid against ${label} (${result.issues.length} issues):\n${formatIssues(result.issues)}\n`,
          );
        if (!result.valid) process.exitCode = 1;
      }),
    );

  schema
    .command('types')
    .description('TypeScript declarations generated from a schema version')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .action((ref: string) =>
      withClient(async (client) => {
        printOut(await typesFor(await client.exchange.schema(ref)));
      }),
    );

  const template = group(cli.command('template').description('query templates: list, show, publish'));
  template
    .command('list')
    .description('the query templates (latest versions)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withClient(async (client) => {
        printList(opts, 'templates', await client.exchange.listTemplates(), {
          empty: 'no templates are published',
          header: ['NAME', 'LATEST', 'PARAMS', 'ANSWER', 'DESCRIPTION'],
          row: (t) => [t.name, t.version, paramsLine(t.params), t.answerSchema, t.description],
        });
      }),
    );
  template
    .command('show')
    .description('a template version (default: the latest)')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .option('--json', 'print JSON')
    .action((ref: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const t = await client.exchange.template(ref);
        if (opts.json) return printJson(t);
        printOut(
          `${t.name}@${t.version}  answers in ${t.answerSchema}\n${t.description}\nparams: ${paramsLine(t.params)}\n\n${indent(t.prompt)}\n\n` +
            `ask with it: claude-comms ask MODULE --template ${t.name}@${t.version}${Object.keys(t.params.properties)
              .map((p) => ` --param ${p}=…`)
              .join('')}\n`,
        );
      }),
    );
  template
    .command('publish')
    .description('publish a query template version')
    .argument('<file>', 'JSON or YAML: { name, version, description?, params, prompt, answerSchema }')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const t = await client.exchange.publishTemplate(readDataFile(file) as PublishTemplateInput);
        if (opts.json) return printJson(t);
        printOut(`published template ${t.name}@${t.version} (answers in ${t.answerSchema})\n`);
      }),
    );
}

/** `format*, use` — the parameters, required ones starred. */
function paramsLine(params: { properties: Record<string, unknown>; required?: string[] }): string {
  const names = Object.keys(params.properties);
  return names.length ? names.map((n) => (params.required?.includes(n) ? `${n}*` : n)).join(', ') : '—';
}
