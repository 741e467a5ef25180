/**
 * An interactive module's inbox from a terminal: `claude-comms inbox --as MODULE` lists the questions waiting for
 * it (`--brief`: one line, or nothing when none wait — for a Claude Code hook that tells the session), and
 * `claude-comms answer REPLY TEXT` answers one (`--part` for a part of the answer) as the MCP tool `answer` does.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { InboxItem } from '../domain/inputs.js';
import { clientRunner, usageError, wholeNumber } from './command-kit.js';
import { ago, clipText, indent, paintStatus, paletteFor, plural } from './format.js';
import { printErr, printJson, printOut } from './output.js';

/** The module the command acts as: `--as`, else CLAUDE_COMMS_MODULE. */
function identity(as: string | undefined): string {
  const module = as ?? process.env.CLAUDE_COMMS_MODULE;
  if (!module) throw usageError('name the module: --as MODULE (or set CLAUDE_COMMS_MODULE)');
  return module;
}

/** One line saying what waits, for a hook to hand the session; empty when nothing does. */
export function briefInbox(module: string, items: readonly InboxItem[], now = Date.now()): string {
  if (!items.length) return '';
  const oldest = items[0] as InboxItem;
  const askers = [...new Set(items.map((i) => i.from))].join(', ');
  return `${plural(items.length, 'question waits', 'questions wait')} for module ${module} (from ${askers}; oldest asked ${ago(oldest.askedAt, now)}): read them with the claude-comms MCP tool inbox and answer each with answer.`;
}

/** Registers `inbox` and `answer`. */
export function registerInboxCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  cli
    .command('inbox')
    .description('the questions waiting for an interactive module (backend: session), oldest first')
    .option('--as <module>', 'the module (default: CLAUDE_COMMS_MODULE)')
    .option('--brief', 'one line saying what waits, nothing when nothing does (for a Claude Code hook)')
    .option('--limit <n>', 'at most this many (default 50)', wholeNumber(1, 200))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nAnswer with the MCP tool `answer` from the module\'s session, or here: claude-comms answer REPLY "text".',
    )
    .action((opts: { as?: string; brief?: boolean; limit?: number; json?: boolean }) =>
      withClient(async (client) => {
        const module = identity(opts.as);
        const items = await client.inbox(module, opts.limit === undefined ? {} : { limit: opts.limit });
        if (opts.json) return printJson({ module, inbox: items });
        if (opts.brief) {
          const line = briefInbox(module, items);
          if (line) printOut(`${line}\n`);
          return;
        }
        if (!items.length) return printErr(`no questions wait for ${module}\n`);
        const p = paletteFor(process.stdout);
        const width = process.stdout.isTTY ? Math.max(40, (process.stdout.columns ?? 100) - 4) : 400;
        for (const item of items) {
          const head = `${item.replyId}  ${paintStatus(item.status, p)}  from ${item.from}, ${ago(item.askedAt)}`;
          const expires = item.expiresAt ? `, times out ${new Date(item.expiresAt).toLocaleTimeString()}` : '';
          const schema = item.schema ? '\n  (the answer must be JSON satisfying the question’s schema)' : '';
          const so = item.content ? `\n  answered so far: ${clipText(item.content.replace(/\s+/g, ' '), width)}` : '';
          printOut(`${head}${expires}\n${indent(item.question)}${schema}${so}\n\n`);
        }
      }),
    );

  cli
    .command('answer')
    .description("answer a question in an interactive module's inbox")
    .argument('<reply>', 'the reply id (from inbox)')
    .argument('[text]', 'the answer (or --file)')
    .option('--file <path>', 'read the answer from this file')
    .option('--part', 'a part of the answer: more follows (the reply stays processing)')
    .option('--json', 'print the reply as JSON')
    .action((reply: string, text: string | undefined, opts: { file?: string; part?: boolean; json?: boolean }) =>
      withClient(async (client) => {
        if ((text === undefined) === (opts.file === undefined))
          throw usageError('give the answer as text or with --file, not both');
        const content = opts.file === undefined ? (text as string) : readFileSync(opts.file, 'utf8');
        const message = await client.answer(reply, { content, final: !opts.part });
        if (opts.json) return printJson(message);
        printOut(
          message.status === 'complete'
            ? `answered ${reply}\n`
            : `added to ${reply} (${message.content.length} characters so far); finish with claude-comms answer ${reply} TEXT\n`,
        );
      }),
    );
}
