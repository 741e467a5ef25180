/**
 * The commands people use day to day: ask, watch, threads, modules, instances, tasks and tokens. Each runs
 * through a client (the running service, else the database directly) and prints for people (aligned tables,
 * colours on a terminal, relative times) or, with `--json`, one JSON document for scripts.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { STATUSES, type Status } from '../domain/status.js';
import type { HubEvent, Message, Task } from '../domain/types.js';
import { REQUEST_ID } from '../domain/validate.js';
import type { TaskLogEntry } from '../store/tasks.js';
import type { TokenStore } from '../store/tokens.js';
import { type CommsClient, connect, describeConnection, type InstanceAction, openTokens } from './client.js';
import {
  ago,
  clipText,
  duration,
  indent,
  type Palette,
  paintStatus,
  paletteFor,
  progressBar,
  table,
  usd,
} from './format.js';
import { EXIT, resolveTarget, type WatchOptions, watchUntilFinished } from './live-watch.js';
import { printErr, printJson, printJsonLine, printOut } from './output.js';

/** The options `ask --wait` and `watch` share. */
interface WatchFlags {
  timeout?: number;
  cancelOnInterrupt?: boolean;
  json?: boolean;
}

/** The options of `ask`. */
type AskFlags = WatchFlags & { from?: string; thread?: string; idempotencyKey?: string; wait?: boolean };

const EXIT_CODES_HELP = `
Exit codes: 0 complete, 1 failed or cancelled, 2 timed out (or bad arguments), 130 interrupted (Ctrl-C).`;

/** Registers the day-to-day commands. */
export function registerWorkCommands(cli: Command): void {
  const database = () => cli.opts<{ database?: string }>().database;
  /** Runs `action` with a client, after saying on stderr which way it reaches the hub. */
  const withClient = async (action: (client: CommsClient) => Promise<void>): Promise<void> => {
    const client = await connect(database());
    printErr(`claude-comms: ${describeConnection(client.connection)}\n`);
    try {
      await action(client);
    } finally {
      await client.close();
    }
  };
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
    .argument('<prompt>', 'the question ("-" reads it from stdin)')
    .option('--from <module>', 'the asking module (default: $CLAUDE_COMMS_MODULE, else cli)')
    .option('--thread <id>', 'continue this thread (the module resumes its session there)')
    .option(
      '--idempotency-key <key>',
      'makes retrying safe: the same key and question within 24 h give the first ask',
      idempotencyKey,
    )
    .option('-w, --wait', 'wait for the answer, showing it as it streams and the task’s progress')
    .addOption(timeoutOption())
    .option('--cancel-on-interrupt', 'with --wait, Ctrl-C cancels the reply (default: it only stops waiting)')
    .option('--json', 'print JSON (with --wait, JSON lines: asked, snapshot, events, result)')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((module: string, prompt: string, opts: AskFlags) =>
      withClient(async (client) => {
        const asked = await client.ask({
          from: opts.from ?? process.env.CLAUDE_COMMS_MODULE ?? 'cli',
          to: module,
          prompt: prompt === '-' ? await readStdin() : prompt,
          ...(opts.thread ? { threadId: opts.thread } : {}),
          ...(opts.idempotencyKey === undefined ? {} : { requestId: opts.idempotencyKey }),
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
  const threads = cli
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
    );
  threads
    .command('show')
    .description('a conversation: each message with its author, status, times and content')
    .argument('<id>', 'thread id')
    .option('--json', 'print JSON')
    .action((id: string, _opts: unknown, command: Command) =>
      withClient(async (client) => {
        const thread = await client.thread(id);
        if (wantsJson(command)) return printJson(thread);
        const p = paletteFor(process.stdout);
        const lines = [
          p.bold(thread.title ?? '(untitled)'),
          p.dim(`thread ${thread.id} · started by ${thread.createdBy ?? 'unknown'} ${ago(thread.createdAt)}`),
        ];
        for (const m of thread.messages) lines.push('', ...describeMessage(m, p));
        printOut(`${lines.join('\n')}\n`);
      }),
    );

  // ---- modules and instances
  cli
    .command('modules')
    .description('the modules: backend, health, paused, instances busy/idle/paused, description')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withClient(async (client) => {
        const modules = await client.modules();
        printList(opts, 'modules', modules, {
          empty: 'no modules; define them in config.yaml in the data home',
          header: ['NAME', 'BACKEND', 'HEALTH', 'PAUSED', 'BUSY/IDLE/PAUSED', 'DESCRIPTION'],
          row: (m, p) => [
            m.name,
            m.backend ?? '—',
            m.health === 'healthy' ? p.green(m.health) : p.red(m.health),
            m.paused ? p.yellow('yes') : 'no',
            `${m.instances.busy}/${m.instances.idle}/${m.instances.paused}`,
            m.description,
          ],
        });
        if (opts.json) return;
        const p = paletteFor(process.stdout);
        for (const m of modules) if (m.healthError) printOut(`${p.red(m.name)}: ${m.healthError}\n`);
        for (const m of modules) {
          if (m.removedAt)
            printOut(`${p.yellow(m.name)}: removed from config.yaml on ${m.removedAt}; add it back to serve it\n`);
        }
      }),
    );

  const instances = cli
    .command('instances')
    .description('the modules’ agents (instances pause|resume|terminate <id> to change one)')
    .option('--module <name>', 'only this module’s')
    .option('--all', 'include terminated instances')
    .option('--json', 'print JSON')
    .action((opts: { module?: string; all?: boolean; json?: boolean }) =>
      withClient(async (client) => {
        const list = await client.instances({
          ...(opts.module ? { module: opts.module } : {}),
          ...(opts.all ? { all: true } : {}),
        });
        printList(opts, 'instances', list, {
          empty: 'no instances; a worker makes them when questions arrive',
          header: ['ID', 'MODULE', 'STATE', 'RUNS', 'LAST ACTIVE', 'ANSWERING'],
          row: (i, p) => [
            i.id,
            i.module,
            paintStatus(i.state, p),
            String(i.runs),
            ago(i.lastActiveAt),
            i.messageId ?? (i.reason ? p.dim(i.reason) : '—'),
          ],
        });
      }),
    );
  const instanceActions: [InstanceAction, string][] = [
    ['pause', 'take no new reply (one it is answering finishes)'],
    ['resume', 'take replies again'],
    ['terminate', 'end it for good (a reply it is answering is cancelled)'],
  ];
  for (const [action, description] of instanceActions) {
    instances
      .command(action)
      .description(description)
      .argument('<id>', 'instance id')
      .option('--json', 'print JSON')
      .action((id: string, _opts: unknown, command: Command) =>
        withClient(async (client) => {
          const instance = await client.changeInstance(id, action);
          if (wantsJson(command)) return printJson(instance);
          printOut(
            `instance ${instance.id} (${instance.module}) is ${paintStatus(instance.state, paletteFor(process.stdout))}\n`,
          );
        }),
      );
  }

  // ---- tasks
  const task = cli.command('task').description('tracked work: create, update, verify, status, list, log');
  task
    .command('create')
    .description('record a task to track by hand')
    .argument('<name>', 'what the work is')
    .option('--criteria <text...>', 'acceptance criteria, each its own argument')
    .option('--module <name>', 'the module doing it')
    .option('--max-iterations <n>', 'an iteration budget', wholeNumber(1, 1_000_000))
    .option('--max-cost <usd>', 'a cost budget in dollars', numberFrom(0, 1_000_000))
    .option('--json', 'print JSON')
    .action(
      (
        name: string,
        opts: { criteria?: string[]; module?: string; maxIterations?: number; maxCost?: number; json?: boolean },
      ) =>
        withClient(async (client) => {
          const created = await client.createTask({
            name,
            ...(opts.module ? { module: opts.module } : {}),
            ...(opts.criteria ? { criteria: opts.criteria } : {}),
            ...(opts.maxIterations === undefined ? {} : { maxIterations: opts.maxIterations }),
            ...(opts.maxCost === undefined ? {} : { maxCostUsd: opts.maxCost }),
          });
          if (opts.json) return printJson(created);
          printOut(
            `created task ${created.id}\nreport progress: claude-comms task update ${created.id} <percent> ["note"]\n`,
          );
        }),
    );

  task
    .command('update')
    .description('report progress (a pending task starts processing); the note goes to the task’s log')
    .argument('<id>', 'task id')
    .argument('<percent>', 'progress from 0 to 100', numberFrom(0, 100))
    .argument('[note]', 'a line for the task’s log')
    .option('--iteration <n>', 'the iteration reached', wholeNumber(0, 1e9))
    .addOption(new Option('--status <status>', 'move it on (e.g. complete, failed)').choices(STATUSES))
    .option('--error <text>', 'with --status failed: why')
    .option('--json', 'print JSON')
    .action(
      (
        id: string,
        percent: number,
        note: string | undefined,
        opts: { iteration?: number; status?: Status; error?: string; json?: boolean },
      ) =>
        withClient(async (client) => {
          const before = await client.task(id);
          const status = opts.status ?? (before.status === 'pending' ? 'processing' : undefined);
          if (note !== undefined) await client.logTask(id, { text: note });
          const updated = await client.updateTask(id, {
            progress: percent,
            ...(opts.iteration === undefined ? {} : { iteration: opts.iteration }),
            ...(status ? { status } : {}),
            ...(opts.error ? { error: opts.error } : {}),
          });
          if (opts.json) return printJson(updated);
          const p = paletteFor(process.stdout);
          printOut(`task ${updated.id}: ${progressBar(updated.progress)}  ${paintStatus(updated.status, p)}\n`);
        }),
    );

  task
    .command('verify')
    .description('mark an acceptance criterion met')
    .argument('<id>', 'task id')
    .argument('<criterion>', 'its number as task status shows it (1, 2, …) or its exact text')
    .option('--json', 'print JSON')
    .action((id: string, criterion: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const which = /^\d+$/.test(criterion) ? Number(criterion) - 1 : criterion;
        const updated = await client.verifyCriterion(id, which);
        if (opts.json) return printJson(updated);
        const met = updated.criteria.filter((c) => c.verified).length;
        printOut(`task ${updated.id}: ${met} of ${updated.criteria.length} criteria met\n`);
      }),
    );

  task
    .command('status')
    .description('a task: status, progress, criteria, cost, files and its last log lines')
    .argument('<id>', 'task id')
    .option('--lines <n>', 'log lines to show (default 10)', wholeNumber(0, 100_000), 10)
    .option('--json', 'print JSON (the task with its whole log)')
    .action((id: string, opts: { lines: number; json?: boolean }) =>
      withClient(async (client) => {
        const found = await client.task(id);
        const log = await taskLog(client, id);
        if (opts.json) return printJson({ ...found, log: log.map((e) => ({ at: e.at, ...e.data })) });
        printOut(describeTask(found, log, opts.lines));
      }),
    );

  task
    .command('list')
    .description('tasks, newest first')
    .option('--status <statuses>', `only these (comma-separated: ${STATUSES.join(', ')})`, statusList)
    .option('--module <name>', 'only this module’s')
    .option('--search <text>', 'only names containing this (any case)')
    .option('--limit <n>', 'how many (default 100)', wholeNumber(1, 5000))
    .option('--json', 'print JSON')
    .action((opts: { status?: Status[]; module?: string; search?: string; limit?: number; json?: boolean }) =>
      withClient(async (client) => {
        const list = await client.tasks({
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.module ? { module: opts.module } : {}),
          ...(opts.search ? { q: opts.search } : {}),
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
        });
        printList(opts, 'tasks', list, {
          empty: 'no tasks match',
          header: ['ID', 'STATUS', 'PROGRESS', 'COST', 'MODULE', 'CREATED', 'NAME'],
          row: (t, p) => [
            t.id,
            paintStatus(t.status, p),
            `${Math.round(t.progress)}%`,
            usd(t.costUsd),
            t.module ?? '—',
            ago(t.createdAt),
            t.name,
          ],
        });
      }),
    );

  task
    .command('log')
    .description('add a line to a task’s log')
    .argument('<id>', 'task id')
    .argument('<message>', 'what happened')
    .addOption(new Option('--level <level>', 'how it reads').choices(['info', 'warn', 'error']).default('info'))
    .option('--json', 'print JSON')
    .action((id: string, message: string, opts: { level: TaskLogEntry['level']; json?: boolean }) =>
      withClient(async (client) => {
        await client.logTask(id, { text: message, ...(opts.level ? { level: opts.level } : {}) });
        if (opts.json) return printJson({ ok: true });
        printOut(`logged to task ${id}\n`);
      }),
    );

  // ---- tokens
  /** Tokens are kept in the database (the API does not hand them out): these commands always open it. */
  const withTokens = async (action: (tokens: TokenStore) => Promise<void>) => {
    const opened = await openTokens(database());
    printErr(`claude-comms: ${describeConnection(opened.connection)}\n`);
    try {
      await action(opened.tokens);
    } finally {
      await opened.close();
    }
  };
  const token = cli
    .command('token')
    .description('API tokens (required by a service listening on anything but loopback)');
  token
    .command('create')
    .description('make a token; it is shown once')
    .option('--module <name>', 'it may act only as this module (default: any)')
    .option('--label <text>', 'what it is for')
    .option('--json', 'print JSON (with the token)')
    .action((opts: { module?: string; label?: string; json?: boolean }) =>
      withTokens(async (tokens) => {
        const created = await tokens.create({
          ...(opts.module ? { module: opts.module } : {}),
          ...(opts.label ? { label: opts.label } : {}),
        });
        if (opts.json) return printJson(created);
        printOut(`${created.token}\n`);
        printErr(
          `token ${created.id}${created.module ? ` (module ${created.module})` : ' (any module)'} created.\n` +
            'Store it now: it is shown only this once. Clients send it as CLAUDE_COMMS_TOKEN or Authorization: Bearer.\n',
        );
      }),
    );
  token
    .command('list')
    .description('every token (never the secret), newest first')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withTokens(async (tokens) => {
        printList(opts, 'tokens', await tokens.list(), {
          empty: 'no tokens; make one with: claude-comms token create',
          header: ['ID', 'STATE', 'MODULE', 'CREATED', 'LAST USED', 'LABEL'],
          row: (t, p) => [
            t.id,
            t.revokedAt ? p.red('revoked') : p.green('active'),
            t.module ?? 'any',
            ago(t.createdAt),
            ago(t.lastUsedAt),
            t.label ?? '',
          ],
        });
      }),
    );
  token
    .command('revoke')
    .description('revoke a token: requests with it are refused from now on')
    .argument('<id>', 'token id (see token list)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      withTokens(async (tokens) => {
        const revoked = await tokens.revoke(id);
        if (opts.json) return printJson(revoked);
        printOut(`token ${revoked.id} revoked\n`);
      }),
    );
}

/**
 * Whether `--json` was given to `command` or to the group it belongs to: `threads show ID --json` reaches
 * `threads`, which has a `--json` of its own and takes it wherever it stands.
 */
function wantsJson(command: Command): boolean {
  return Boolean(command.optsWithGlobals<{ json?: boolean }>().json);
}

/** `--timeout SECONDS`: stop waiting (exit 2), leaving the work to go on. */
function timeoutOption(): Option {
  return new Option(
    '--timeout <seconds>',
    `stop waiting after this long (exit ${EXIT.timeout}); the work goes on`,
  ).argParser(numberFrom(0.001, 365 * 86_400));
}

/** A parser for a number from `min` to `max`; bad input is a usage error naming the range. */
function numberFrom(min: number, max: number, whole = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    }
    return n;
  };
}

function wholeNumber(min: number, max: number): (value: string) => number {
  return numberFrom(min, max, true);
}

function idempotencyKey(value: string): string {
  if (!REQUEST_ID.test(value)) {
    throw new InvalidArgumentError('expected 1 to 255 printable ASCII characters, not starting or ending with a space');
  }
  return value;
}

function statusList(value: string): Status[] {
  const statuses = value.split(',').map((s) => s.trim());
  const wrong = statuses.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (wrong.length)
    throw new InvalidArgumentError(`unknown status ${wrong.join(', ')}; expected ${STATUSES.join(', ')}`);
  return statuses as Status[];
}

/** Every `task.logged` event of a task, oldest first. */
async function taskLog(client: CommsClient, taskId: string): Promise<HubEvent[]> {
  const entries: HubEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.events({ taskId, types: ['task.logged'], limit: 1000, ...(after ? { after } : {}) });
    entries.push(...page.events);
    if (!page.hasMore) return entries;
    after = page.cursor;
  }
}

/** A message in a conversation: a header line (author, role, status, times), then its content indented. */
function describeMessage(m: Message, p: Palette): string[] {
  const took =
    m.startedAt && m.completedAt ? ` · took ${duration(Date.parse(m.completedAt) - Date.parse(m.startedAt))}` : '';
  const header = `${p.bold(m.author)} ${p.dim(`(${m.role})`)} · ${paintStatus(m.status, p)} · ${ago(m.createdAt)}${took}`;
  const body = m.content ? indent(m.content) : p.dim('  (no content yet)');
  return [header, p.dim(`  ${m.id}`), body, ...(m.error ? [p.red(indent(`error: ${m.error}`))] : [])];
}

/** A task for people: status and progress, budget, criteria, files and the last `lines` log entries. */
function describeTask(t: Task, log: HubEvent[], lines: number): string {
  const p = paletteFor(process.stdout);
  const fields: [string, string][] = [
    ['status', `${paintStatus(t.status, p)}  ${progressBar(t.progress)}`],
    ['module', t.module ?? '—'],
    ['iteration', t.maxIterations ? `${t.iteration} of ${t.maxIterations}` : String(t.iteration)],
    [
      'cost',
      `${usd(t.costUsd)}${t.maxCostUsd === null ? '' : ` of ${usd(t.maxCostUsd)}`} · ${t.tokensIn.toLocaleString('en-US')} tokens in, ${t.tokensOut.toLocaleString('en-US')} out`,
    ],
    [
      'times',
      `created ${ago(t.createdAt)}${t.startedAt ? `, started ${ago(t.startedAt)}` : ''}${t.completedAt ? `, finished ${ago(t.completedAt)}` : ''}`,
    ],
  ];
  if (t.messageId) fields.push(['reply', t.messageId]);
  if (t.error) fields.push(['error', p.red(t.error)]);
  const out = [
    `${p.bold(t.name)}`,
    p.dim(`task ${t.id} (${t.kind})`),
    table(
      undefined,
      fields.map(([k, v]) => [`  ${k}`, v]),
    ).trimEnd(),
  ];
  if (t.criteria.length) {
    out.push(`  criteria (${t.criteria.filter((c) => c.verified).length} of ${t.criteria.length} met)`);
    t.criteria.forEach((c, i) => {
      out.push(`    ${c.verified ? p.green('✓ pass   ') : p.yellow('· pending')}  ${i + 1}. ${c.text}`);
    });
  }
  if (t.filesCreated.length) out.push(`  files created   ${t.filesCreated.join(', ')}`);
  if (t.filesModified.length) out.push(`  files modified  ${t.filesModified.join(', ')}`);
  if (lines > 0 && log.length) {
    const shown = log.slice(-lines);
    out.push(`  log (${shown.length === log.length ? log.length : `last ${shown.length} of ${log.length}`})`);
    for (const e of shown) {
      const d = e.data as { level?: string; text?: string; action?: string; target?: string };
      const what = [d.action, d.target].filter(Boolean).join(' ');
      const level = d.level === 'error' ? p.red('error') : d.level === 'warn' ? p.yellow('warn ') : p.dim('info ');
      out.push(
        `    ${p.dim(ago(e.at).padEnd(12))} ${level} ${clipText(`${what ? `${what}: ` : ''}${d.text ?? ''}`, 200)}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * A list: with `--json`, `{ [key]: items }`; else a table clipped to the terminal, or `empty` on stderr when
 * there is nothing to list.
 */
function printList<T>(
  opts: { json?: boolean },
  key: string,
  items: readonly T[],
  view: { empty: string; header: string[]; row: (item: T, p: Palette) => string[] },
): void {
  if (opts.json) printJson({ [key]: items });
  else if (!items.length) say(view.empty);
  else {
    const p = paletteFor(process.stdout);
    printOut(
      table(
        view.header,
        items.map((item) => view.row(item, p)),
        width(),
      ),
    );
  }
}

/** A line for people when there is nothing to list. */
function say(text: string): void {
  printErr(`${text}\n`);
}

/** The terminal's width, to clip the last column of tables; none when stdout is not a terminal. */
function width(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
