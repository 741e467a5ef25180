/**
 * Asking and reading conversations: `ask` (with `--wait`, watching the answer stream in), `watch` and `threads`.
 * Each runs through a client (the running service, else the database directly) and prints for people (aligned
 * tables, colours on a terminal, relative times) or, with `--json`, JSON for scripts.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CommsClient } from '../client/types.js';
import type { Message } from '../domain/types.js';
import { REQUEST_ID } from '../domain/validate.js';
import { paramsFromPairs } from '../exchange/templates.js';
import {
  clientRunner,
  group,
  maxCostOption,
  maxIterationsOption,
  numberFrom,
  printList,
  usageError,
  wholeNumber,
} from './command-kit.js';
import { ago, duration, indent, type Palette, paintStatus, paletteFor, table } from './format.js';
import { EXIT, resolveTarget, type WatchOptions, watchUntilFinished } from './live-watch.js';
import { printErr, printJson, printJsonLine, printOut } from './output.js';
import { readDataFile } from './schema-commands.js';

/** The options `ask --wait` and `watch` share. */
interface WatchFlags {
  timeout?: number;
  cancelOnInterrupt?: boolean;
  json?: boolean;
}

/** The options of `ask`. */
type AskFlags = WatchFlags & {
  from?: string;
  thread?: string;
  idempotencyKey?: string;
  maxCost?: number;
  maxIterations?: number;
  wait?: boolean;
  schema?: string;
  template?: string;
  param?: string[];
  maxRepairs?: number;
};

const EXIT_CODES_HELP = `
Exit codes: 0 complete, 1 failed or cancelled, 2 timed out (or bad arguments), 130 interrupted (Ctrl-C).`;

/** Registers `ask`, `watch` and `threads`. */
export function registerWorkCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  /** How `ask --wait` and `watch` watch; with no service to answer, they say so before waiting. */
  const watchOptions = (client: CommsClient, opts: WatchFlags): WatchOptions => {
    const c = client.connection;
    const nothingAnswers = c.kind === 'direct' && (c.why === 'none' || c.why === 'silent');
    return {
      json: Boolean(opts.json),
      cancelOnInterrupt: Boolean(opts.cancelOnInterrupt),
      ...(opts.timeout === undefined ? {} : { timeoutSeconds: opts.timeout }),
      ...(nothingAnswers
        ? {
            hint: 'no service is running, so nothing answers until `claude-comms serve` (or `claude-comms poll start`) runs; waiting anyway',
          }
        : {}),
    };
  };

  cli
    .command('ask')
    .description('ask a module a question; with --wait, watch the answer stream in')
    .argument('<module>', 'the module to ask')
    .argument('[prompt]', 'the question ("-" reads it from stdin); optional with --template')
    .option('--from <module>', 'the asking module (default: $CLAUDE_COMMS_MODULE, else cli)')
    .option('--schema <schema>', 'the answer must satisfy this schema: NAME@VERSION, or a JSON Schema file')
    .option('--template <template>', 'ask a query template (NAME or NAME@VERSION) with its --param values')
    .option(
      '--param <key=value>',
      'a template parameter (repeatable; a value that parses as JSON is that JSON)',
      collect,
      [],
    )
    .option('--max-repairs <n>', 'repair rounds a structured answer may have (default 2)', wholeNumber(0, 10))
    .option('--thread <id>', 'continue this thread (the module resumes its session there)')
    .option(
      '--idempotency-key <key>',
      'makes retrying safe: the same key and question within 24 h give the first ask',
      idempotencyKey,
    )
    .addOption(maxCostOption('the answer may cost (default: the module’s maxCostUsd)'))
    .addOption(maxIterationsOption('the answer may take (default: the module’s maxIterations)'))
    .option('-w, --wait', 'wait for the answer, showing it as it streams and the task’s progress')
    .addOption(timeoutOption())
    .option('--cancel-on-interrupt', 'with --wait, Ctrl-C cancels the reply (default: it only stops waiting)')
    .option('--json', 'print JSON (with --wait, JSON lines: asked, snapshot, events, result)')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((module: string, prompt: string | undefined, opts: AskFlags) =>
      withClient(async (client) => {
        if (prompt === undefined && !opts.template) throw usageError('give the question, or a --template to ask');
        if (opts.param?.length && !opts.template) throw usageError('--param sets a parameter of a --template');
        const asked = await client.ask({
          from: opts.from ?? process.env.CLAUDE_COMMS_MODULE ?? 'cli',
          to: module,
          ...(prompt === undefined ? {} : { prompt: prompt === '-' ? await readStdin() : prompt }),
          ...(opts.schema ? { schema: schemaOption(opts.schema) } : {}),
          ...(opts.template ? { template: opts.template, params: paramsFromPairs(opts.param ?? []) } : {}),
          ...(opts.maxRepairs === undefined ? {} : { maxRepairs: opts.maxRepairs }),
          ...(opts.thread ? { threadId: opts.thread } : {}),
          ...(opts.idempotencyKey === undefined ? {} : { requestId: opts.idempotencyKey }),
          ...(opts.maxCost === undefined ? {} : { maxCostUsd: opts.maxCost }),
          ...(opts.maxIterations === undefined ? {} : { maxIterations: opts.maxIterations }),
        });
        if (asked.replayed && !opts.json) {
          printErr(`already asked with idempotency key ${opts.idempotencyKey}: nothing new was asked\n`);
        }
        if (!opts.wait) {
          if (opts.json) return printJson(asked);
          printOut(
            `asked ${module}\n${table(undefined, [
              ['  reply', asked.messageId],
              ['  task', asked.taskId],
              ['  thread', asked.threadId],
            ])}watch it: claude-comms watch ${asked.messageId}\n`,
          );
          return;
        }
        if (opts.json) printJsonLine({ type: 'asked', ...asked });
        else printErr(`asked ${module}: reply ${asked.messageId} (task ${asked.taskId}, thread ${asked.threadId})\n`);
        process.exitCode = await watchUntilFinished(client, { messageId: asked.messageId }, watchOptions(client, opts));
      }),
    );

  cli
    .command('retry')
    .description('answer a failed or cancelled reply again: a new reply to the same question, with its own task')
    .argument('<id>', 'the reply (message) id, or its task id')
    .option('-w, --wait', 'wait for the new answer, showing it as it streams and the task’s progress')
    .addOption(timeoutOption())
    .option('--cancel-on-interrupt', 'with --wait, Ctrl-C cancels the reply (default: it only stops waiting)')
    .option('--json', 'print JSON (with --wait, JSON lines: retried, snapshot, events, result)')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((id: string, opts: WatchFlags & { wait?: boolean }) =>
      withClient(async (client) => {
        const target = await resolveTarget(client, id);
        const retried =
          'messageId' in target ? await client.retry(target.messageId, 'message') : await client.retry(id, 'task');
        if (!opts.wait) {
          if (opts.json) return printJson(retried);
          printOut(
            `retried ${id}\n${table(undefined, [
              ['  reply', retried.messageId],
              ['  task', retried.taskId],
              ['  thread', retried.threadId],
            ])}watch it: claude-comms watch ${retried.messageId}\n`,
          );
          return;
        }
        if (opts.json) printJsonLine({ type: 'retried', ...retried });
        else printErr(`retried ${id}: reply ${retried.messageId} (task ${retried.taskId})\n`);
        process.exitCode = await watchUntilFinished(
          client,
          { messageId: retried.messageId },
          watchOptions(client, opts),
        );
      }),
    );

  cli
    .command('watch')
    .description('follow a reply or a task until it finishes: the answer as it streams, statuses, progress')
    .argument('<id>', 'a reply (message) id or a task id')
    .addOption(timeoutOption())
    .option('--cancel-on-interrupt', 'Ctrl-C cancels the reply or task (default: it only stops watching)')
    .option('--json', 'JSON lines: snapshot, each event, result')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((id: string, opts: WatchFlags) =>
      withClient(async (client) => {
        process.exitCode = await watchUntilFinished(
          client,
          await resolveTarget(client, id),
          watchOptions(client, opts),
        );
      }),
    );

  // ---- threads
  const threads = group(
    cli
      .command('threads')
      .description('list conversations, newest first (threads show <id>: one conversation)')
      .option('--limit <n>', 'how many (default 100)', wholeNumber(1, 1000))
      .option('--json', 'print JSON')
      .action((opts: { limit?: number; json?: boolean }) =>
        withClient(async (client) => {
          printList(opts, 'threads', await client.threads(opts.limit), {
            empty: 'no threads yet; start one with: claude-comms ask <module> "<question>"',
            header: ['ID', 'UPDATED', 'BY', 'TITLE'],
            row: (t) => [t.id, ago(t.updatedAt), t.createdBy ?? '—', t.title ?? ''],
          });
        }),
      ),
  );
  threads
    .command('show')
    .description('a conversation: each message with its author, status, times and content')
    .argument('<id>', 'thread id')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const thread = await client.thread(id);
        if (opts.json) return printJson(thread);
        const p = paletteFor(process.stdout);
        const lines = [
          p.bold(thread.title ?? '(untitled)'),
          p.dim(`thread ${thread.id} · started by ${thread.createdBy ?? 'unknown'} ${ago(thread.createdAt)}`),
        ];
        for (const m of thread.messages) lines.push('', ...describeMessage(m, p));
        printOut(`${lines.join('\n')}\n`);
      }),
    );
}

/** `--timeout SECONDS`: stop waiting (exit 2), leaving the work to go on. */
function timeoutOption(): Option {
  return new Option(
    '--timeout <seconds>',
    `stop waiting after this long (exit ${EXIT.timeout}); the work goes on`,
  ).argParser(numberFrom(0.001, 365 * 86_400));
}

function idempotencyKey(value: string): string {
  if (!REQUEST_ID.test(value)) {
    throw new InvalidArgumentError('expected 1 to 255 printable ASCII characters, not starting or ending with a space');
  }
  return value;
}

/** A message in a conversation: a header line (author, role, status, times), then its content indented. */
function describeMessage(m: Message, p: Palette): string[] {
  const took =
    m.startedAt && m.completedAt ? ` · took ${duration(Date.parse(m.completedAt) - Date.parse(m.startedAt))}` : '';
  const header = `${p.bold(m.author)} ${p.dim(`(${m.role})`)} · ${paintStatus(m.status, p)} · ${ago(m.createdAt)}${took}`;
  const body = m.content ? indent(m.content) : p.dim('  (no content yet)');
  const id = m.retryOf ? `  ${m.id} · retry of ${m.retryOf}` : `  ${m.id}`;
  return [header, p.dim(id), body, ...(m.error ? [p.red(indent(`error: ${m.error}`))] : [])];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Repeated options gathered into a list. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--schema`: a published schema's name, or a file holding a JSON Schema. */
function schemaOption(value: string): string | Record<string, unknown> {
  if (/\.(json|ya?ml)$/i.test(value) || value.includes('/')) return readDataFile(value) as Record<string, unknown>;
  return value;
}
