/**
 * The `claude-comms` command line.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { isHubError } from '../domain/errors.js';
import type { HubEvent } from '../domain/types.js';
import { warnOfConfig } from './config-warning.js';
import { registerInitCommand } from './init-command.js';
import { printErr, printJsonLine, printOut } from './output.js';
import { registerServiceCommands } from './service-commands.js';
import { registerWorkCommands } from './work-commands.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function describe(event: HubEvent): string {
  const ids = [
    event.threadId && `thread=${event.threadId}`,
    event.messageId && `message=${event.messageId}`,
    event.taskId && `task=${event.taskId}`,
  ]
    .filter(Boolean)
    .join(' ');
  const data =
    event.type === 'message.content_updated'
      ? event.data.reset === true
        ? 'content cleared (the run starts again)'
        : `+${String(event.data.delta ?? '').length} chars`
      : JSON.stringify(event.data);
  return `${event.at}  #${event.seq}  ${event.type}  ${ids}  ${data}`;
}

/** The program: global options, `events`, and the service and work commands. */
function program(): Command {
  const cli = new Command('claude-comms')
    .description('A hub through which AI coding agents ask each other questions and track the work that follows.')
    .version(pkg.version, '-v, --version')
    .option(
      '--database <url>',
      'sqlite:PATH or postgres://… (default: $CLAUDE_COMMS_DATABASE or ~/.claude-comms/comms.db)',
    )
    .configureOutput({ writeOut: printOut, writeErr: printErr })
    .showHelpAfterError()
    // Usage errors (unknown option, missing or invalid argument) exit 2, as is customary, leaving exit 1 for
    // failures; help and --version exit 0. Subcommands inherit this.
    .exitOverride((err) => process.exit(err.exitCode === 1 ? 2 : err.exitCode));

  cli
    .command('events')
    .description('print the event log; with --follow, keep printing new events as they are committed')
    .option('-f, --follow', 'keep following until interrupted')
    .option('--after <cursor>', 'start after this cursor (default: the start of the log, or now with --follow)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { follow?: boolean; after?: string; json?: boolean }) => {
      // Loaded here rather than at start-up, which every command (even --version) would otherwise pay.
      const { openHub } = await import('../hub.js');
      const hub = await openHub({ database: cli.opts<{ database?: string }>().database, onConfigError: warnOfConfig });
      const print = (e: HubEvent) => (opts.json ? printJsonLine(e) : printOut(`${describe(e)}\n`));
      try {
        if (!opts.follow) {
          let after = opts.after;
          for (;;) {
            const page = await hub.events.list({ after, limit: 1000 });
            page.events.forEach(print);
            after = page.cursor;
            if (!page.hasMore) break;
          }
          return;
        }
        if (!opts.json) {
          printErr(
            `claude-comms: following events in ${hub.database} (schema ${await hub.schemaVersion()}); Ctrl-C to stop\n`,
          );
        }
        await hub.events.subscribe({ after: opts.after }, print);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      } finally {
        await hub.close();
      }
    });
  registerInitCommand(cli);
  registerServiceCommands(cli);
  registerWorkCommands(cli);
  return cli;
}

/** Runs the CLI with `argv` (as in `process.argv`). */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    // The message may carry text from the hub (a server's problem detail names what was asked for).
    printErr(
      `claude-comms: ${isHubError(err) ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
