/**
 * `claude-comms pdf requirements MODULE | check DOCUMENT REQUIREMENTS | convert DOCUMENT REQUIREMENTS | extract
 * FILE`: asking a module what structure it needs from PDFs (the `pdf-structure` template), checking a structured
 * document against the answer, converting it into the collections and edges the answer asks for, and extracting
 * a PDF's structure (`pdf-extract-command.ts`). Files are JSON or YAML (a marker JSON output is a document as it
 * is).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CommsClient, LiveFeed } from '../client/types.js';
import { isTerminal } from '../domain/status.js';
import {
  convertToRequiredFormat,
  type PdfDocument,
  type PdfRequirements,
  validatePdfFormat,
} from '../exchange/pdf/index.js';
import { formatIssues } from '../exchange/validator.js';
import { clientRunner, group, wholeNumber } from './command-kit.js';
import { printErr, printJson, printOut } from './output.js';
import { registerPdfExtractCommand } from './pdf-extract-command.js';
import { readDataFile } from './schema-commands.js';

export function registerPdfCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  const pdf = group(
    cli.command('pdf').description('PDF exchange: ask for requirements, check, convert and extract documents'),
  );
  registerPdfExtractCommand(pdf);

  pdf
    .command('requirements')
    .description('ask a module what structure it needs from PDF documents (answered in pdf-requirements@1.0.0)')
    .argument('<module>', 'the module to ask')
    .option('--from <module>', 'the asking module (default: $CLAUDE_COMMS_MODULE, else marker)')
    .option('--purpose <text>', 'what the documents are for')
    .option('--document-kind <text>', 'what kind of PDFs they are')
    .option('--timeout <seconds>', 'how long to wait for the answer (default 600)', wholeNumber(1, 86_400))
    .option('--out <file>', 'write the requirements there instead of printing them')
    .action(
      (
        module: string,
        opts: { from?: string; purpose?: string; documentKind?: string; timeout?: number; out?: string },
      ) =>
        withClient(async (client) => {
          const asked = await client.ask({
            from: opts.from ?? process.env.CLAUDE_COMMS_MODULE ?? 'marker',
            to: module,
            template: 'pdf-structure',
            params: {
              ...(opts.purpose ? { purpose: opts.purpose } : {}),
              ...(opts.documentKind ? { documentKind: opts.documentKind } : {}),
            },
          });
          printErr(`asked ${module}: reply ${asked.messageId}; waiting for its answer\n`);
          const done = await finished(client, asked.messageId, (opts.timeout ?? 600) * 1000);
          const reply = await client.message(asked.messageId);
          if (done !== 'complete' || reply.value == null) {
            printErr(`${module} did not answer with requirements (${done}): ${reply.error ?? 'no value'}\n`);
            process.exitCode = 1;
            return;
          }
          const text = `${JSON.stringify(reply.value, null, 2)}\n`;
          if (opts.out) {
            writeFileSync(opts.out, text);
            printErr(`wrote ${opts.out}\n`);
          } else printOut(text);
        }),
    );

  pdf
    .command('check')
    .description('check a structured document against requirements: its shape and every rule (exit 1 if not met)')
    .argument('<document>', 'a document@1 file (marker JSON output validates as it is)')
    .argument('<requirements>', 'a pdf-requirements@1 file')
    .option('--json', 'print JSON')
    .action((document: string, requirements: string, opts: { json?: boolean }) => {
      const result = validatePdfFormat(readDataFile(document), readDataFile(requirements) as PdfRequirements);
      if (opts.json) printJson(result);
      else if (result.valid) printOut(`${document} meets ${requirements}\n`);
      else
        printErr(
          `${document} does not meet ${requirements} (${result.issues.length} issues):\n${formatIssues(result.issues)}\n`,
        );
      if (!result.valid) process.exitCode = 1;
    });

  pdf
    .command('convert')
    .description('convert a structured document into the collections and edges the requirements ask for')
    .argument('<document>', 'a document@1 file')
    .argument('<requirements>', 'a pdf-requirements@1 file')
    .option('--out <file>', 'write the conversion (JSON) there instead of printing it')
    .action((document: string, requirements: string, opts: { out?: string }) => {
      const conversion = convertToRequiredFormat(
        readDataFile(document) as PdfDocument,
        readDataFile(requirements) as PdfRequirements,
      );
      const text = `${JSON.stringify(conversion, null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, text);
      else printOut(text);
      const { counts, notSupplied } = conversion.report;
      printErr(
        `converted: ${Object.entries(counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}\n`,
      );
      for (const n of notSupplied) printErr(`not supplied: ${n.what} (${n.why})\n`);
    });
}

/** The reply's final status, or `timeout`: followed live, after checking it has not finished already. */
async function finished(client: CommsClient, messageId: string, timeoutMs: number): Promise<string> {
  let feed: LiveFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      client
        .follow({ messageId, types: ['message.status_changed'] }, (event) => {
          if (event.type === 'message.status_changed' && isTerminal(event.data.to)) resolve(event.data.to);
        })
        .then(async (live) => {
          feed = live;
          live.failed.catch(reject);
          const now = await client.message(messageId);
          if (isTerminal(now.status)) resolve(now.status);
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    feed?.close();
  }
}
