/**
 * Tracked work by hand (the original design's create_task, update_progress and get_task_status): `task create`,
 * `update`, `verify`, `status`, `list` and `log`, besides the tasks the hub makes for each question.
 */
import { type Command, Option } from 'commander';
import type { CommsClient } from '../client/types.js';
import { HubError } from '../domain/errors.js';
import type { TaskLogEntry } from '../domain/inputs.js';
import { STATUSES, type Status } from '../domain/status.js';
import type { HubEvent, Task } from '../domain/types.js';
import {
  clientRunner,
  maxCostOption,
  maxIterationsOption,
  moduleNames,
  numberFrom,
  printList,
  requireModule,
  statusList,
  wholeNumber,
} from './command-kit.js';
import { ago, clipText, paintStatus, paletteFor, progressBar, table, usd } from './format.js';
import { printJson, printOut } from './output.js';

/** Registers `task` and its subcommands. */
export function registerTaskCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  const task = cli.command('task').description('tracked work: create, update, verify, status, list, log');
  task
    .command('create')
    .description('record a task to track by hand')
    .argument('<name>', 'what the work is')
    .option('--criteria <text...>', 'acceptance criteria, each its own argument')
    .option('--module <name>', 'the module doing it')
    .addOption(maxIterationsOption('its agent may take'))
    .addOption(maxCostOption('its agent may spend'))
    .option('--json', 'print JSON')
    .action(
      (
        name: string,
        opts: { criteria?: string[]; module?: string; maxIterations?: number; maxCost?: number; json?: boolean },
      ) =>
        withClient(async (client) => {
          if (opts.module) requireModule(opts.module, await moduleNames(client));
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
        let which: number | string = criterion;
        if (/^\d+$/.test(criterion)) {
          // Numbered from 1 here, from 0 in the API, whose message would name the index: a wrong one is said here.
          const { criteria } = await client.task(id);
          const n = Number(criterion);
          if (n < 1 || n > criteria.length) {
            throw new HubError('not_found', `task ${id} has no criterion #${criterion} (it has ${criteria.length})`);
          }
          which = n - 1;
        }
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
    .option('--search <words>', 'only tasks with these words in their name or log (as `search` matches them)')
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
        // A module named by tasks is no typo, even if it is no longer defined (its old tasks are listed).
        if (opts.module && !list.length && !(await client.tasks({ module: opts.module, limit: 1 })).length) {
          requireModule(opts.module, await moduleNames(client));
        }
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
  if (t.retryOf) fields.push(['retry of', `task ${t.retryOf}`]);
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
