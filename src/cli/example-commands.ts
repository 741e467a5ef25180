/**
 * `claude-comms example pdf-to-arangodb --pdf FILE | --marker-json FILE [--out DIR] [--wait]`: the worked example —
 * the workflow `examples/pdf-to-arangodb.yaml` run on a PDF (or a marker JSON file), followed live with `--wait`
 * (each step, pages extracted), and its report completed with each step's time and cost once the run has ended.
 * `example write-arango --step` is the program of the example's last step (the built-in command
 * `arango-import-files`): its input as JSON on stdin, what it wrote as JSON on stdout.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { EXAMPLE_DIR } from '../config/example.js';
import { HubError } from '../domain/errors.js';
import type { WorkflowRun } from '../domain/workflow-types.js';
import { addSteps, type Written, writeExampleOutput } from '../example/write-step.js';
import { clientRunner, group, numberFrom } from './command-kit.js';
import { EXIT } from './live-watch.js';
import { printErr, printJson, printOut } from './output.js';
import { startAndWait } from './workflow-commands.js';

/** The example's workflow file. */
export const EXAMPLE_WORKFLOW = join(EXAMPLE_DIR, 'pdf-to-arangodb.yaml');

/** A file the example reads: absolute, there, a file. */
function inputFile(path: string, what: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new HubError('validation', `no ${what} at ${full}`);
  if (!statSync(full).isFile()) throw new HubError('validation', `${full} is not a file (the ${what} must be one)`);
  return full;
}

/** Each step's time and cost, as the report lists them. */
function stepLines(run: WorkflowRun) {
  return run.steps.map((s) => ({
    step: s.stepId,
    status: s.status,
    ms: s.startedAt && s.completedAt ? Date.parse(s.completedAt) - Date.parse(s.startedAt) : null,
    costUsd: s.costUsd,
  }));
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export function registerExampleCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  const example = group(cli.command('example').description('the worked examples'));

  example
    .command('pdf-to-arangodb')
    .description(
      'marker extracts a PDF, arangodb says what structure it needs; the document is checked, reviewed, converted and written as ArangoDB import files with a report',
    )
    .option('--pdf <file>', 'the PDF to extract')
    .option('--marker-json <file>', "a marker JSON file to use instead of extracting a PDF (marker's own output)")
    .option('--out <dir>', 'where the import files and the report go (default: ./pdf-to-arangodb-NAME)')
    .option('-w, --wait', 'follow the run to its end, a line per step, and exit 0 complete, 1 failed or cancelled')
    .addOption(
      new Option('--timeout <seconds>', `with --wait, stop waiting after this long (exit ${EXIT.timeout})`).argParser(
        numberFrom(0.001, 365 * 86_400),
      ),
    )
    .option('--json', 'print JSON (with --wait, JSON lines: the run as started, its events, the run as it ended)')
    .action(
      (opts: { pdf?: string; markerJson?: string; out?: string; wait?: boolean; timeout?: number; json?: boolean }) =>
        withClient(async (client) => {
          if (!opts.pdf === !opts.markerJson)
            throw new HubError(
              'validation',
              'give the PDF to extract (--pdf FILE) or a marker JSON file (--marker-json FILE)',
            );
          const source = opts.pdf
            ? inputFile(opts.pdf, 'PDF')
            : inputFile(opts.markerJson as string, 'marker JSON file');
          const out = resolve(opts.out ?? `pdf-to-arangodb-${basename(source).replace(/\.[^.]+$/, '')}`);
          const inputs = { ...(opts.pdf ? { pdf: source } : { markerJson: source }), out };
          const start = () =>
            client.workflows.start(
              { yaml: readFileSync(EXAMPLE_WORKFLOW, 'utf8'), file: 'pdf-to-arangodb.yaml' },
              inputs,
            );
          if (!opts.wait) {
            const run = await start();
            if (opts.json) printJson(run);
            else
              printOut(
                `${run.id}\nstarted pdf-to-arangodb on ${source}; follow it with claude-comms workflow show ${run.id} (files go to ${out})\n`,
              );
            return;
          }
          const { run, code } = await startAndWait(client, start, opts);
          const ended = await client.workflows.get(run.id);
          if (ended.status === 'complete') {
            // The files step ran in the service: on this machine, its report gets the steps' times and costs.
            if (existsSync(join(out, 'report.json'))) addSteps(out, stepLines(ended));
            const written = ended.output as { valid?: boolean; issues?: number; files?: Written['files'] } | null;
            if (opts.json) printJson(ended);
            else
              printOut(
                `${written?.valid ? 'the document meets' : `the document has ${written?.issues ?? '?'} problems against`} arangodb's requirements\n` +
                  `wrote ${(written?.files ?? []).map((f) => `${f.file} (${f.count})`).join(', ')}\n` +
                  `to ${out}, with import.sh and report.md\n`,
              );
          } else if (opts.json) printJson(ended);
          else printErr(`the run ${ended.status}${ended.error ? `: ${ended.error}` : ''}\n`);
          process.exitCode = code;
        }),
    );

  example
    .command('write-arango')
    .description("the example's last step: ArangoDB import files, import.sh and the report, from its input")
    .requiredOption('--step', 'read the input as JSON on stdin, print what was written as JSON (as a workflow step)')
    .action(async () => {
      let input: unknown;
      try {
        input = JSON.parse(await readStdin());
      } catch (err) {
        throw new HubError('validation', `the input on stdin is not JSON: ${(err as Error).message}`);
      }
      printOut(`${JSON.stringify(writeExampleOutput(input))}\n`);
    });
}
