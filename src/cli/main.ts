/**
 * The `claude-comms` command line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { dataHome } from '../config/paths.js';
import { isHubError } from '../domain/errors.js';
import { registerEventCommands } from './event-commands.js';
import { registerExampleCommands } from './example-commands.js';
import { registerInboxCommands } from './inbox-commands.js';
import { registerInitCommand } from './init-command.js';
import { registerMcpCommand } from './mcp-command.js';
import { registerModuleCommands } from './module-commands.js';
import { endQuietlyWhenOutputCloses, printErr, printOut } from './output.js';
import { registerPdfCommands } from './pdf-commands.js';
import { registerSchemaCommands } from './schema-commands.js';
import { registerSearchCommand } from './search-command.js';
import { registerServiceCommands } from './service-commands.js';
import { registerTaskCommands } from './task-commands.js';
import { registerTokenCommands } from './token-commands.js';
import { registerWorkCommands } from './work-commands.js';
import { registerWorkflowCommands } from './workflow-commands.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The program: global options and every command (exported for tests that walk the commands). */
export function program(): Command {
  const cli = new Command('claude-comms')
    .description('A hub through which AI coding agents ask each other questions and track the work that follows.')
    .version(pkg.version, '-v, --version')
    .option(
      '--database <url>',
      `sqlite:PATH or postgres://… (default: $CLAUDE_COMMS_DATABASE, else ${join(dataHome(), 'comms.db')})`,
    )
    .configureOutput({ writeOut: printOut, writeErr: printErr })
    .showHelpAfterError()
    // Usage errors (unknown option, missing or invalid argument) exit 2, as is customary, leaving exit 1 for
    // failures; help and --version exit 0. Subcommands inherit this.
    .exitOverride((err) => process.exit(err.exitCode === 1 ? 2 : err.exitCode));
  registerEventCommands(cli);
  registerInitCommand(cli);
  registerServiceCommands(cli);
  registerWorkCommands(cli);
  registerModuleCommands(cli);
  registerTaskCommands(cli);
  registerSearchCommand(cli);
  registerInboxCommands(cli);
  registerSchemaCommands(cli);
  registerPdfCommands(cli);
  registerWorkflowCommands(cli);
  registerExampleCommands(cli);
  registerTokenCommands(cli);
  registerMcpCommand(cli);
  return cli;
}

/** Runs the CLI with `argv` (as in `process.argv`). */
export async function main(argv: string[]): Promise<void> {
  endQuietlyWhenOutputCloses();
  try {
    await program().parseAsync(argv);
  } catch (err) {
    // The message may carry text from the hub (a server's problem detail names what was asked for).
    printErr(
      `claude-comms: ${isHubError(err) ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err)}\n`,
    );
    // A usage error found by a command itself (an unknown module) exits as commander's own do.
    process.exitCode = err instanceof CommanderError ? err.exitCode : 1;
  }
}
