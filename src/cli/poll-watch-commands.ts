/**
 * `claude-comms poll add` and `poll remove`: watches on a reply, kept by the running service, that run a command
 * or call a webhook when the reply finishes — at least once, from the durable log, even across restarts.
 */
import type { Command } from 'commander';
import { serviceClient } from './connection.js';
import { plural } from './format.js';
import { printJsonLine, printOut } from './output.js';

/** Registers `poll add` and `poll remove` on the `poll` group. */
export function registerPollWatchCommands(poll: Command): void {
  poll
    .command('add <thread-id> <message-id>')
    .description(
      'run a command and/or call a webhook when a reply finishes (complete, failed or cancelled), at least once, even across restarts',
    )
    .option('--on-complete <command>', 'run with /bin/sh -c: the notification as JSON on stdin, $CLAUDE_COMMS_* set')
    .option('--webhook <url>', 'POST the notification there, signed (x-claude-comms-signature) with the secret shown')
    .option('--json', 'the watch as JSON (with the webhook secret)')
    .action(
      async (
        threadId: string,
        messageId: string,
        flags: { onComplete?: string; webhook?: string; json?: boolean },
        command: Command,
      ) => {
        if (flags.onComplete === undefined && flags.webhook === undefined) {
          command.error('claude-comms: give --on-complete <command>, --webhook <url>, or both');
        }
        const client = await serviceClient();
        const watch = await client.addWatch({
          threadId,
          messageId,
          ...(flags.onComplete === undefined ? {} : { command: flags.onComplete }),
          ...(flags.webhook === undefined ? {} : { webhook: flags.webhook }),
        });
        if (flags.json) {
          printJsonLine(watch);
          return;
        }
        const lines = [`watching message ${messageId}: watch ${watch.id}`];
        if (watch.secret) {
          lines.push(`  webhook secret  ${watch.secret}  (shown only now: it signs every notification)`);
        }
        printOut(`${lines.join('\n')}\n`);
      },
    );

  poll
    .command('remove <message-id>')
    .description('stop watching a reply: removes every live watch of the message')
    .action(async (messageId: string) => {
      const watches = await (await serviceClient()).removeWatches(messageId);
      printOut(
        watches.length
          ? `removed ${plural(watches.length, 'watch', 'watches')} of message ${messageId}\n`
          : `message ${messageId} has no live watches (a watch ends by itself once its reply has finished)\n`,
      );
    });
}
