/**
 * `claude-comms events`: the event log, a page at a time, or followed live (`--follow`) until Ctrl-C — through
 * the running service's API when there is one, else from the database, like every other command.
 */
import type { Command } from 'commander';
import type { HubEvent } from '../domain/types.js';
import { connectSaying } from './connection.js';
import { printErr, printJsonLine, printOut } from './output.js';

/** Exit statuses of a follow ended by a signal: 128 plus its number, as shells report it, and as `watch` does. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof SIGNAL_EXIT;
const SIGNALS = Object.keys(SIGNAL_EXIT) as Signal[];

/** An event on one line: time, position, type, what it concerns, and its data (content only by its length). */
export function describeEvent(event: HubEvent): string {
  const ids = [
    event.module && `module=${event.module}`,
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

/** Registers `events`. */
export function registerEventCommands(cli: Command): void {
  cli
    .command('events')
    .description('print the event log; with --follow, keep printing new events as they are committed')
    .option('-f, --follow', 'keep following until interrupted (Ctrl-C: exit 130)')
    .option('--after <cursor>', 'start after this cursor (default: the start of the log, or now with --follow)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { follow?: boolean; after?: string; json?: boolean }) => {
      const client = await connectSaying(cli.opts<{ database?: string }>().database);
      const print = (e: HubEvent) => (opts.json ? printJsonLine(e) : printOut(`${describeEvent(e)}\n`));
      try {
        if (!opts.follow) {
          let after = opts.after;
          for (;;) {
            const page = await client.events({ ...(after ? { after } : {}), limit: 1000 });
            page.events.forEach(print);
            after = page.cursor;
            if (!page.hasMore) break;
          }
          return;
        }
        let stop!: (signal: Signal) => void;
        const stopped = new Promise<Signal>((resolve) => {
          stop = resolve;
        });
        for (const signal of SIGNALS) process.once(signal, stop);
        try {
          const feed = await client.follow({ ...(opts.after ? { after: opts.after } : {}) }, print, (text) =>
            printErr(`claude-comms: ${text}\n`),
          );
          printErr('claude-comms: following events; Ctrl-C to stop\n');
          try {
            process.exitCode = SIGNAL_EXIT[await Promise.race([stopped, feed.failed])];
          } finally {
            feed.close();
          }
        } finally {
          for (const signal of SIGNALS) process.removeListener(signal, stop);
        }
      } finally {
        await client.close();
      }
    });
}
