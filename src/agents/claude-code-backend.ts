/**
 * The claude-code backend: runs a module's question through the real Claude Code CLI, via the pinned Agent SDK,
 * in the module's repository. It handles the pitfalls the reference documents: cost reported cumulatively
 * (turned into per-run cost), usage repeated across the lines of one API message (counted once), API errors
 * reported as `success` with `is_error`, a process that ends without a result or hangs (idle watchdog), unknown
 * resume ids, `CLAUDECODE` inherited from a parent session, and an `env` option that replaces instead of merging.
 * Each CLI runs in its own process group, so cancelling kills it and everything it started. The run's limits go
 * to the CLI (maxTurns, maxBudgetUsd), and its stopping at them is reported as the hub's `budget_exceeded`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Options, SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { budgetExceeded, COST_STEP_USD } from '../domain/budget.js';
import type { ClaudeCodeSettings } from '../domain/module-settings.js';
import {
  directoryProblem,
  newRunMarker,
  RUN_MARKER,
  runWindow,
  signalGroup,
  stopRun,
} from '../process/process-group.js';
import { runCost, UsageCounter } from './cost.js';
import type { AgentBackend, AgentEvent, AgentRequest, FailureReason } from './types.js';

const FILE_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
/** After an interrupt, how long the CLI gets to end its turn before SIGTERM; after SIGTERM, before SIGKILL. */
const GRACE_MS = 2000;
/** How the run's processes are ended once it is over: SIGTERM, SIGKILL after the grace, then up to 1 s to go. */
const STOP_TIMES = { graceMs: GRACE_MS, killWaitMs: 1000 };

/** What the agent is told of the hub's tools when it has them. */
const TOOLS_PROMPT =
  'You have the claude-comms tools: `ask` puts a question to another module (`list_modules` shows who answers what) and waits for its answer; `report_progress` records your progress, a verified criterion or an action on the task you are answering. Ask only what you cannot find in your own repository.';

/** Why a module without `executable` cannot run when the SDK's platform package (its bundled binary) is missing. */
export const NOT_INSTALLED =
  'the claude executable is not installed: reinstall with optional dependencies (npm ci without --omit=optional) or set `executable` in config.yaml';

let bundled: string | null | undefined;

/** The binary shipped in the SDK's platform package for this machine, if installed (looked up once). */
export function bundledExecutable(): string | undefined {
  if (bundled === undefined) {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    const musl = process.platform === 'linux' && !report?.header?.glibcVersionRuntime;
    const name = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}${musl ? '-musl' : ''}`;
    try {
      const path = createRequire(import.meta.url).resolve(
        `${name}/${process.platform === 'win32' ? 'claude.exe' : 'claude'}`,
      );
      bundled = existsSync(path) ? path : null;
    } catch {
      bundled = null;
    }
  }
  return bundled ?? undefined;
}

/**
 * Signals the CLI's whole process group — also once the CLI itself has exited, since a tool may have left a
 * process running in it (a job started in the background), which must not outlive the run.
 */
function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid) signalGroup(child.pid, signal);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => (typeof v?.text === 'string' ? v.text : '')).join('');
  return '';
}

/** The Agent SDK, loaded on first use: most processes that open a hub never run Claude Code. */
let sdk: Promise<typeof import('@anthropic-ai/claude-agent-sdk')> | undefined;
function loadSdk(): Promise<typeof import('@anthropic-ai/claude-agent-sdk')> {
  sdk ??= import('@anthropic-ai/claude-agent-sdk');
  return sdk;
}

/** Runs questions through Claude Code. */
export class ClaudeCodeBackend implements AgentBackend {
  /** Takes settings checked by the module settings schema (domain/module-settings.ts). */
  constructor(private readonly settings: ClaudeCodeSettings = {}) {}

  async *run(request: AgentRequest): AsyncIterable<AgentEvent> {
    const executable = this.settings.executable ?? bundledExecutable();
    if (!executable || !existsSync(executable)) {
      yield {
        type: 'done',
        ok: false,
        reason: 'not_installed',
        error: this.settings.executable
          ? `the claude executable ${this.settings.executable} does not exist; fix \`executable\` in config.yaml`
          : NOT_INSTALLED,
      };
      return;
    }
    const limits = request.limits ?? {};
    const tools = this.settings.hubTools === false ? undefined : request.tools;
    const cwdProblem = await directoryProblem(request.cwd, "the module's directory");
    if (cwdProblem) {
      yield { type: 'done', ok: false, reason: 'agent_error', error: cwdProblem };
      return;
    }

    // The SDK's env replaces the environment: start from ours, and never let a parent Claude Code session leak in.
    const env: Record<string, string | undefined> = { ...process.env, ...this.settings.env, ...request.env };
    delete env.CLAUDECODE;
    // Marks the CLI and everything it starts, wherever they go (see RUN_MARKER); the watchdog knows it first.
    const run = newRunMarker();
    env[RUN_MARKER] = run;
    request.processes?.runStarting(run);
    const window = runWindow();
    let child: ChildProcess | undefined;
    const stderr: string[] = [];
    const logs: AgentEvent[] = [];
    let stopReason: FailureReason | undefined;
    let stopError: string | undefined;
    const options: Options = {
      cwd: request.cwd,
      env,
      pathToClaudeCodeExecutable: executable,
      includePartialMessages: true,
      systemPrompt: this.settings.systemPrompt
        ? [this.settings.systemPrompt, request.systemPrompt, tools ? TOOLS_PROMPT : ''].filter(Boolean).join('\n\n')
        : {
            type: 'preset',
            preset: 'claude_code',
            append: [request.systemPrompt, tools ? TOOLS_PROMPT : '', this.settings.appendSystemPrompt]
              .filter(Boolean)
              .join('\n\n'),
          },
      ...(this.settings.model ? { model: this.settings.model } : {}),
      // The hub's tools are allowed without asking: a headless agent cannot be asked (allowedTools only allows,
      // it hides no other tool).
      ...(this.settings.allowedTools || tools
        ? { allowedTools: [...(this.settings.allowedTools ?? []), ...(tools ? [`mcp__${tools.server}`] : [])] }
        : {}),
      ...(tools
        ? {
            mcpServers: {
              [tools.server]: { type: 'stdio' as const, command: tools.command, args: tools.args, env: tools.env },
            },
            // Over stdin, the servers' env (the database's URL, with any password) stays off the CLI's command line,
            // where other users of the machine could read it; an `executable` of unknown age may not read stdin's.
            mcpServersDelivery: this.settings.executable ? ('argv' as const) : ('initialize' as const),
          }
        : {}),
      ...(this.settings.permissionMode ? { permissionMode: this.settings.permissionMode } : {}),
      ...(limits.maxIterations != null ? { maxTurns: limits.maxIterations } : {}),
      // The CLI stops a run once its cost *reaches* maxBudgetUsd (CLI 2.1.329: a $0.021 turn under a $0.021 budget
      // stops, under $0.0210001 it completes), while an agent may spend exactly its limit (domain/budget.ts): the
      // CLI is given the limit plus the smallest cost the hub tells apart. Its turns already follow the hub's rule:
      // a run may take maxTurns turns, and wanting one more ends it with num_turns = maxTurns + 1.
      ...(limits.maxCostUsd != null ? { maxBudgetUsd: limits.maxCostUsd + COST_STEP_USD } : {}),
      ...(request.resumeSessionId ? { resume: request.resumeSessionId } : {}),
      spawnClaudeCodeProcess: (spawnOptions) => {
        // Its own process group: cancelling kills the CLI and every tool process it started.
        const spawned = spawn(spawnOptions.command, spawnOptions.args, {
          cwd: spawnOptions.cwd,
          env: spawnOptions.env,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
        spawned.stderr?.on('data', (chunk: Buffer) => {
          const line = chunk.toString('utf8').trim();
          if (!line) return;
          stderr.push(line);
          if (stderr.length > 20) stderr.shift();
          logs.push({ type: 'log', level: 'warn', text: line });
        });
        child = spawned;
        if (spawned.pid !== undefined) request.processes?.started(spawned.pid);
        return spawned;
      },
    };
    const q = (await loadSdk()).query({ prompt: request.prompt, options });

    const stop = (reason: FailureReason, error: string) => {
      if (stopReason) return;
      stopReason = reason;
      stopError = error;
      // Interrupt first (the CLI ends its turn cleanly), then SIGTERM, then SIGKILL, on the whole group.
      void q.interrupt().catch(() => undefined);
      setTimeout(() => killGroup(child, 'SIGTERM'), GRACE_MS).unref();
      setTimeout(() => killGroup(child, 'SIGKILL'), 2 * GRACE_MS).unref();
    };
    const onAbort = () => stop('cancelled', 'cancelled');
    request.signal.addEventListener('abort', onAbort);
    if (request.signal.aborted) onAbort();
    const idleMs = this.settings.idleTimeoutMs ?? 600_000;
    const idle = setTimeout(() => stop('idle', `no output from the agent for ${idleMs} ms`), idleMs);
    const total = this.settings.timeoutMs
      ? setTimeout(() => stop('timeout', `timed out after ${this.settings.timeoutMs} ms`), this.settings.timeoutMs)
      : undefined;

    const usage = new UsageCounter();
    let result: Extract<SDKMessage, { type: 'result' }> | undefined;
    let thrown: unknown;
    try {
      for await (const message of q) {
        idle.refresh();
        while (logs.length) yield logs.shift() as AgentEvent;
        if (message.type === 'system' && message.subtype === 'init') {
          yield { type: 'session', sessionId: message.session_id };
        } else if (message.type === 'stream_event') {
          const e = message.event;
          if (e.type === 'content_block_delta' && e.delta.type === 'text_delta')
            yield { type: 'text', text: e.delta.text };
        } else if (message.type === 'assistant') {
          usage.record(message.message.id, message.message.usage as Parameters<UsageCounter['record']>[1]);
          for (const block of message.message.content) {
            if (block.type !== 'tool_use') continue;
            const input = (block.input ?? {}) as Record<string, unknown>;
            const path = FILE_TOOLS.has(block.name)
              ? ((input.file_path ?? input.notebook_path) as string | undefined)
              : undefined;
            yield { type: 'tool_use', id: block.id, name: block.name, input, ...(path ? { path } : {}) };
          }
        } else if (message.type === 'user') {
          const content = message.message.content;
          if (Array.isArray(content)) {
            for (const block of content) {
              if (block.type === 'tool_result') {
                yield {
                  type: 'tool_result',
                  id: block.tool_use_id,
                  isError: block.is_error === true,
                  text: text(block.content),
                };
              }
            }
          }
        } else if (message.type === 'result') {
          result = message;
        }
      }
    } catch (err) {
      // The SDK throws after an error result (non-zero exit) or when the process dies; the result, if any, decides.
      thrown = err;
    } finally {
      clearTimeout(idle);
      if (total) clearTimeout(total);
      request.signal.removeEventListener('abort', onAbort);
      // Whatever a tool left running — in the group or in a session of its own — ends with the run. The answer
      // does not wait for it; group and marker stay registered until it is over, so should the hub die
      // meanwhile, the reaper ends what is left.
      const pgid = child?.pid;
      // A run whose processes would not end keeps its marker with the reaper, which ends them with the hub.
      void stopRun(pgid, run, STOP_TIMES, window)
        .catch(() => false)
        .then((ended) => {
          if (pgid !== undefined) request.processes?.ended(pgid);
          if (ended) request.processes?.runEnded(run);
        });
    }
    while (logs.length) yield logs.shift() as AgentEvent;

    const costUsd = result ? runCost(request.previousSessionCostUsd, result.total_cost_usd) : 0;
    if (result) {
      const tokens = usage.totals();
      yield {
        type: 'usage',
        costUsd,
        sessionCostUsd: result.total_cost_usd,
        tokensIn: tokens.tokensIn,
        tokensOut: tokens.tokensOut,
        turns: result.num_turns,
      };
    }
    if (stopReason) {
      yield { type: 'done', ok: false, reason: stopReason, error: stopError };
    } else if (!result) {
      const last = stderr.at(-1) ?? (thrown instanceof Error ? thrown.message : undefined);
      yield {
        type: 'done',
        ok: false,
        reason: 'no_result',
        error: `the agent ended without a result${last ? `: ${last}` : ''}`,
      };
    } else if (result.subtype === 'success' && !result.is_error) {
      yield { type: 'done', ok: true };
    } else {
      // An API error arrives as subtype "success" with is_error: its text is the message.
      const errors = 'errors' in result ? result.errors : [];
      const message = errors.length ? errors.join('; ') : 'result' in result ? String(result.result) : result.subtype;
      if (result.subtype === 'error_max_turns' || result.subtype === 'error_max_budget_usd') {
        // The CLI stopped at the limits it was given: the same failure, named the same way, as the worker's own.
        const error =
          budgetExceeded(limits, { costUsd, iterations: result.num_turns }) ?? `budget exceeded: ${message}`;
        yield { type: 'done', ok: false, reason: 'budget_exceeded', error };
        return;
      }
      const reason: FailureReason = errors.some((e) => e.startsWith('No conversation found with session ID'))
        ? 'session_not_found'
        : 'agent_error';
      yield { type: 'done', ok: false, reason, error: message };
    }
  }
}
