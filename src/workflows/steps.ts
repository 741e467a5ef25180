/**
 * Running the steps that are not asks: `convert` (a named pure function), `validate` (a value against a schema:
 * the step fails with every issue when it does not pass; its output is the value) and `command` (a program: the
 * step's input as JSON on stdin, its JSON stdout as the output, `@@claude-comms {json}` lines as progress and log
 * on the step's task, and `CLAUDE_COMMS_STEP_ATTEMPT` naming the attempt so that a run again after a crash can
 * tell; in a module's directory when it names one).
 */
import { HubError } from '../domain/errors.js';
import type { ValidationResult } from '../exchange/validator.js';
import { formatIssues } from '../exchange/validator.js';
import { runProgram } from '../process/program.js';
import type { ProcessTracker } from '../process/tracker.js';
import type { TaskStore } from '../store/tasks.js';
import { converter } from './converters.js';
import type { StepDefinition } from './definition.js';

/** A program a workflow may run by name: declared in config.yaml, with its fixed argv. */
export interface DeclaredCommand {
  argv: string[];
  cwd?: string;
  timeoutMs?: number;
}

export interface StepContext {
  processes: ProcessTracker;
  /** A module's directory (its `cwd`), or `not_found` naming the modules. */
  moduleDir(name: string): Promise<string>;
  tasks: TaskStore;
  commands(): Record<string, DeclaredCommand>;
  validate(schema: string | Record<string, unknown>, value: unknown): Promise<ValidationResult & { schema: string }>;
}

/** Longest a command step may run without a `timeoutMs` of its own. */
const DEFAULT_COMMAND_MS = 30 * 60_000;
/** Largest JSON a command step may print. */
const MAX_OUTPUT = 64 * 1024 * 1024;
const PROGRESS = /^@@claude-comms (\{.*\})\s*$/;

export interface StepLaunch {
  runId: string;
  step: StepDefinition;
  attempt: number;
  spec: unknown;
  /** The step's task, which its progress and log go to. */
  taskId: string | null;
  /** For one item of a `forEach` step: its place in the list. */
  index?: number;
}

export async function runStep(
  ctx: StepContext,
  l: StepLaunch,
  signal: AbortSignal,
): Promise<{ output: unknown; costUsd?: number }> {
  const spec = l.spec as Record<string, unknown>;
  if (l.step.convert) {
    const fn = converter(String(spec.function));
    return { output: fn((spec.args as Record<string, unknown>) ?? {}) };
  }
  if (l.step.validate) {
    const result = await ctx.validate(spec.schema as string | Record<string, unknown>, spec.value);
    if (!result.valid)
      throw new HubError(
        'validation',
        `the value does not satisfy ${result.schema} (${result.issues.length} issues):\n${formatIssues(result.issues, 20)}`,
      );
    return { output: spec.value };
  }
  return runCommand(ctx, l, spec, signal);
}

async function runCommand(
  ctx: StepContext,
  l: StepLaunch,
  spec: Record<string, unknown>,
  signal: AbortSignal,
): Promise<{ output: unknown; costUsd?: number }> {
  let argv: string[];
  let cwd = typeof spec.cwd === 'string' ? spec.cwd : undefined;
  let timeoutMs = l.step.timeoutMs;
  if (typeof spec.name === 'string') {
    const declared = Object.hasOwn(ctx.commands(), spec.name) ? ctx.commands()[spec.name] : undefined;
    if (!declared)
      throw new HubError(
        'validation',
        `no command named ${spec.name} is declared in config.yaml (commands: ${Object.keys(ctx.commands()).join(', ') || 'none'})`,
      );
    argv = declared.argv;
    cwd = declared.cwd ?? cwd;
    timeoutMs ??= declared.timeoutMs;
  } else argv = spec.run as string[];
  if (typeof spec.module === 'string') cwd = await ctx.moduleDir(spec.module);
  const { taskId } = l;
  let cost = 0;
  const ran = runProgram({
    argv,
    ...(cwd ? { cwd } : {}),
    input: JSON.stringify(spec.input ?? null),
    env: {
      // An item of a forEach step has attempts of its own: `RUN:STEP[INDEX]:N`.
      CLAUDE_COMMS_STEP_ATTEMPT: `${l.runId}:${l.step.id}${l.index === undefined ? '' : `[${l.index}]`}:${l.attempt}`,
      CLAUDE_COMMS_RUN_ID: l.runId,
      CLAUDE_COMMS_STEP: l.step.id,
      ...(l.index === undefined ? {} : { CLAUDE_COMMS_ITEM: String(l.index) }),
    },
    timeoutMs: timeoutMs ?? DEFAULT_COMMAND_MS,
    signal,
    processes: ctx.processes,
    collect: true,
    maxOutput: MAX_OUTPUT,
    onLine: (line) => {
      const m = PROGRESS.exec(line);
      if (!m || !taskId) return;
      try {
        const report = JSON.parse(m[1] as string) as { progress?: number; log?: string; cost_usd?: number };
        // The cost so far (the last report counts), a finite amount of at least 0.
        if (typeof report.cost_usd === 'number' && Number.isFinite(report.cost_usd) && report.cost_usd >= 0)
          cost = report.cost_usd;
        if (typeof report.progress === 'number')
          void ctx.tasks
            .update(taskId, { progress: Math.max(0, Math.min(100, report.progress)) })
            .catch(() => undefined);
        if (typeof report.log === 'string')
          void ctx.tasks.log(taskId, { text: report.log.slice(0, 2000) }).catch(() => undefined);
      } catch {
        // not a report: ordinary output
      }
    },
  });
  // A failed attempt still spent what it reported: the error carries it to the step's cost.
  const stdout = await ran.catch((err: unknown) => {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { costUsd: cost });
  });
  const body = stdout
    .split('\n')
    .filter((line) => !PROGRESS.test(line))
    .join('\n')
    .trim();
  if (!body) return { output: null, costUsd: cost };
  try {
    return { output: JSON.parse(body) as unknown, costUsd: cost };
  } catch {
    throw new HubError('validation', `the command's output is not JSON: ${body.slice(0, 200)}`);
  }
}
