/**
 * `claude-comms workflow run FILE|NAME [--input k=v …] [--wait] | define FILE | list | show RUN | pause|resume|cancel
 * RUN | retry RUN STEP | start-from RUN STEP | approve|reject RUN STEP [--note TEXT]`: workflows from the command line. `--wait` follows the run live, a
 * line per step as it moves, and exits like `ask --wait`: 0 complete, 1 failed or cancelled, 2 timed out, 130 on
 * Ctrl-C (the run goes on).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import type { CommsClient } from '../client/types.js';
import type { DefinitionSource } from '../client/workflows.js';
import { HubError } from '../domain/errors.js';
import { isTerminal, STATUSES, type Status } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import type { WorkflowRun } from '../domain/workflow-types.js';
import { paramsFromPairs } from '../exchange/templates.js';
import { clientRunner, group, numberFrom, printList, wholeNumber } from './command-kit.js';
import { ago, duration, paintStatus, paletteFor, table, usd } from './format.js';
import { EXIT } from './live-watch.js';
import { printErr, printJson, printJsonLine, printOut } from './output.js';

function source(target: string): DefinitionSource {
  if (existsSync(target)) return { yaml: readFileSync(target, 'utf8'), file: basename(target) };
  if (/[/\\]|\.(ya?ml|json)$/i.test(target)) throw new HubError('validation', `no file ${target}`);
  return { workflow: target };
}

/** How long a step or run took, or has been running. */
function took(startedAt: string | null, completedAt: string | null): string {
  if (!startedAt) return '—';
  return duration((completedAt ? new Date(completedAt).getTime() : Date.now()) - new Date(startedAt).getTime());
}

/** What a step's detail says in a line: why it was skipped, its approval, its module, its items. */
function stepNote(s: WorkflowRun['steps'][number]): string | undefined {
  const d = s.detail;
  if (!d) return undefined;
  const a = d.approval;
  const parts = [
    d.skipped ? `skipped: ${d.skipped}` : '',
    a
      ? a.decision
        ? `${a.decision.replace('_', ' ')}${a.by ? ` by ${a.by}` : ''}${a.note ? `: ${a.note}` : ''}`
        : `awaiting approval: ${a.message}`
      : '',
    d.routing ? `→ ${d.routing.chosen} (${d.routing.capability})` : '',
    d.items ? `${d.items.complete}/${d.items.total} items${d.items.failed ? `, ${d.items.failed} failed` : ''}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : undefined;
}

/** The run's steps as a tree of dependencies: each step under the step it waits on last in the definition. */
function showRun(run: WorkflowRun): string {
  const after = new Map(run.steps.map((s) => [s.stepId, s.after]));
  const p = paletteFor(process.stdout);
  const depth = new Map<string, number>();
  for (const s of run.steps)
    depth.set(s.stepId, Math.max(0, ...(after.get(s.stepId) ?? []).map((d) => (depth.get(d) ?? 0) + 1)));
  const rows = run.steps.map((s) => [
    `${'  '.repeat(depth.get(s.stepId) ?? 0)}${depth.get(s.stepId) ? '└ ' : ''}${s.stepId}`,
    s.kind,
    paintStatus(s.status, p),
    String(s.attempt),
    took(s.startedAt, s.completedAt),
    usd(s.costUsd),
    (s.error ?? stepNote(s) ?? (after.get(s.stepId)?.length ? `after ${after.get(s.stepId)?.join(', ')}` : '')).split(
      '\n',
    )[0] ?? '',
  ]);
  return (
    `run ${run.id}  ${run.workflow}  ${paintStatus(run.status, p)}  ${took(run.startedAt, run.completedAt)}  ${usd(run.costUsd)}\n` +
    (run.error ? `${run.error}\n` : '') +
    table(
      ['STEP', 'KIND', 'STATUS', 'ATTEMPT', 'TOOK', 'COST', ''],
      rows,
      process.stdout.isTTY ? process.stdout.columns : undefined,
    )
  );
}

/**
 * Follows a run to its end: the feed opens before the run starts (`start`), so no step's move is missed; answers the
 * run as started and the exit code.
 */
export async function startAndWait(
  client: CommsClient,
  start: () => Promise<WorkflowRun>,
  opts: { timeout?: number; json?: boolean },
): Promise<{ run: WorkflowRun; code: number }> {
  let done!: (code: number) => void;
  const ended = new Promise<number>((resolve) => (done = resolve));
  let id: string | undefined;
  const early: HubEvent[] = [];
  /** The run's steps by their tasks: what their programs log (pages extracted…) is shown under the step. */
  const stepOfTask = new Map<string, string>();
  const show = (event: HubEvent) => {
    if (event.type === 'task.logged' && event.taskId && stepOfTask.has(event.taskId)) {
      if (opts.json) printJsonLine(event);
      else printErr(`step ${stepOfTask.get(event.taskId)}: ${event.data.text.split('\n')[0]}\n`);
      return;
    }
    if (event.runId !== id) return;
    if (event.type === 'step_run.status_changed' && event.taskId) stepOfTask.set(event.taskId, event.data.stepId);
    if (opts.json) printJsonLine(event);
    else if (event.type === 'step_run.status_changed')
      printErr(
        `step ${event.data.stepId}: ${event.data.to}${event.data.attempt > 1 ? ` (attempt ${event.data.attempt})` : ''}${event.data.error ? ` — ${event.data.error.split('\n')[0]}` : ''}${
          event.data.to === 'waiting' ? ` — claude-comms workflow approve ${id} ${event.data.stepId} (or reject)` : ''
        }\n`,
      );
    if (event.type === 'workflow_run.status_changed' && isTerminal(event.data.to))
      done(event.data.to === 'complete' ? EXIT.complete : EXIT.failed);
  };
  const feed = await client.follow({ types: ['workflow_run.*', 'step_run.*', 'task.logged'] }, (event) =>
    id === undefined ? early.push(event) : show(event),
  );
  let run: WorkflowRun;
  try {
    run = await start();
  } catch (err) {
    feed.close();
    throw err;
  }
  id = run.id;
  for (const s of run.steps) if (s.taskId) stepOfTask.set(s.taskId, s.stepId);
  if (opts.json) printJsonLine(run);
  else printErr(`started run ${run.id} of ${run.workflow} (${run.steps.length} steps)\n`);
  for (const event of early.splice(0)) show(event);
  const now = await client.workflows.get(run.id);
  if (isTerminal(now.status)) done(now.status === 'complete' ? EXIT.complete : EXIT.failed);
  const timer = opts.timeout === undefined ? undefined : setTimeout(() => done(EXIT.timeout), opts.timeout * 1000);
  const interrupted = () => done(EXIT.interrupted);
  process.once('SIGINT', interrupted);
  const code = await Promise.race([ended, feed.failed]);
  clearTimeout(timer);
  process.off('SIGINT', interrupted);
  feed.close();
  if (code === EXIT.timeout)
    printErr(`still running after ${opts.timeout} s; the run goes on: claude-comms workflow show ${run.id}\n`);
  if (code === EXIT.interrupted) printErr(`stopped watching; the run goes on: claude-comms workflow show ${run.id}\n`);
  return { run, code };
}

export function registerWorkflowCommands(cli: Command): void {
  const withClient = clientRunner(cli);
  const workflow = group(cli.command('workflow').description('workflows: run, define, list, show, control'));

  workflow
    .command('run')
    .description('start a run of a workflow file (YAML or JSON) or of a saved workflow by name')
    .argument('<workflow>', 'a file, or the name of a saved workflow')
    .option(
      '--input <key=value>',
      'a run input (repeatable; a value that parses as JSON is that JSON)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('-w, --wait', 'follow the run to its end, a line per step, and exit 0 complete, 1 failed or cancelled')
    .addOption(
      new Option('--timeout <seconds>', `with --wait, stop waiting after this long (exit ${EXIT.timeout})`).argParser(
        numberFrom(0.001, 365 * 86_400),
      ),
    )
    .option('--json', 'print JSON (with --wait, JSON lines: the run as started, its events, the run as it ended)')
    .action((target: string, opts: { input: string[]; wait?: boolean; timeout?: number; json?: boolean }) =>
      withClient(async (client) => {
        const start = () => client.workflows.start(source(target), paramsFromPairs(opts.input));
        if (!opts.wait) {
          const run = await start();
          if (opts.json) printJson(run);
          else printOut(`${run.id}\nfollow it: claude-comms workflow show ${run.id}\n`);
          return;
        }
        const { run, code } = await startAndWait(client, start, opts);
        process.exitCode = code;
        const final = await client.workflows.get(run.id);
        if (opts.json) printJsonLine(final);
        else printOut(showRun(final));
      }),
    );

  workflow
    .command('define')
    .description('save a workflow definition under its name (runs keep the one they started with)')
    .argument('<file>', 'YAML or JSON')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        if (!existsSync(file)) throw new HubError('validation', `no file ${file}`);
        const saved = await client.workflows.define({ yaml: readFileSync(file, 'utf8') });
        if (opts.json) printJson(saved);
        else printOut(`saved workflow ${saved.name}\n`);
      }),
    );

  workflow
    .command('list')
    .description('runs, newest first')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(STATUSES))
    .option('--limit <n>', 'how many (default 20)', wholeNumber(1, 500))
    .option('--json', 'print JSON')
    .action((opts: { status?: Status; limit?: number; json?: boolean }) =>
      withClient(async (client) => {
        const runs = await client.workflows.list({
          limit: opts.limit ?? 20,
          ...(opts.status ? { status: opts.status } : {}),
        });
        printList(opts, 'runs', runs, {
          empty: 'no workflow runs',
          header: ['RUN', 'WORKFLOW', 'STATUS', 'STEPS', 'COST', 'TOOK', 'STARTED'],
          row: (r, p) => [
            r.id,
            r.workflow,
            paintStatus(r.status, p),
            `${r.steps.filter((s) => s.status === 'complete' || s.status === 'skipped').length}/${r.steps.length}`,
            usd(r.costUsd),
            took(r.startedAt, r.completedAt),
            ago(r.createdAt),
          ],
        });
      }),
    );

  workflow
    .command('show')
    .description("a run's steps with status, attempts, time and cost, as a tree of dependencies")
    .argument('<run>', 'the run id')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const run = await client.workflows.get(id);
        if (opts.json) return printJson(run);
        printOut(showRun(run));
      }),
    );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    workflow
      .command(action)
      .description(
        action === 'pause'
          ? 'running steps finish; no new one starts until resume'
          : action === 'resume'
            ? 'go on with a paused run'
            : 'stop a run: its running steps are stopped, its unfinished steps cancelled',
      )
      .argument('<run>', 'the run id')
      .option('--json', 'print JSON')
      .action((id: string, opts: { json?: boolean }) =>
        withClient(async (client) => {
          const run = await client.workflows.control(id, action);
          if (opts.json) printJson(run);
          else printOut(`run ${id}: ${run.status}\n`);
        }),
      );
  }

  for (const action of ['retry', 'start-from'] as const) {
    workflow
      .command(action)
      .description(
        action === 'retry'
          ? 'run a failed step again, with what depends on it; what completed stays'
          : 'start a new run from a step, reusing the outputs of the steps not downstream of it',
      )
      .argument('<run>', 'the run id')
      .argument('<step>', 'the step id')
      .option('--json', 'print JSON')
      .action((id: string, step: string, opts: { json?: boolean }) =>
        withClient(async (client) => {
          const run =
            action === 'retry' ? await client.workflows.retry(id, step) : await client.workflows.startFrom(id, step);
          if (opts.json) printJson(run);
          else printOut(action === 'retry' ? `run ${id}: retrying ${step}\n` : `started run ${run.id} from ${step}\n`);
        }),
      );
  }

  for (const decision of ['approve', 'reject'] as const) {
    workflow
      .command(decision)
      .description(
        decision === 'approve'
          ? 'approve a step waiting for an approval: it completes and the run goes on'
          : 'reject a step waiting for an approval: it fails, and the run with it',
      )
      .argument('<run>', 'the run id')
      .argument('<step>', 'the step id')
      .option('--note <text>', 'why (kept with the decision)')
      .option('--json', 'print JSON')
      .action((id: string, step: string, opts: { note?: string; json?: boolean }) =>
        withClient(async (client) => {
          const run = await client.workflows.decide(id, step, decision, opts.note);
          if (opts.json) printJson(run);
          else printOut(`run ${id}: ${step} ${decision === 'approve' ? 'approved' : 'rejected'}\n`);
        }),
      );
  }
}
