/**
 * The command backend: runs any program as a module's agent. The question goes to the program's stdin, its stdout
 * is the answer, its stderr goes to the task's log, and its exit status says whether it succeeded. A program that
 * wants to report more prints control lines: `@@claude-comms {"progress": 40}` (see `CONTROL_MARKER`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandSettings } from '../domain/module-settings.js';
import { errorText, exitError, lastLine } from '../process/exit.js';
import {
  directoryProblem,
  newRunMarker,
  RUN_MARKER,
  type RunWindow,
  runWindow,
  stopRun,
} from '../process/process-group.js';
import { CommandOutputParser } from './command-output.js';
import type { AgentBackend, AgentEvent, AgentRequest, FailureReason } from './types.js';

/**
 * SIGTERM to SIGKILL: long enough for an agent to save its state, short enough not to stall a worker; then how long
 * to wait for the processes to disappear before giving up on them.
 */
const STOP_TIMES = { graceMs: 2_000, killWaitMs: 1_000 };
/** When the program has exited, how long its stdout may stay open (held by an escaped descendant) before we stop reading. */
const STDIO_CLOSE_GRACE_MS = 1_000;
/** How much of stderr is kept to explain a failure. */
const STDERR_TAIL_CHARS = 2_048;
/** A stderr "line" longer than this is logged in pieces, so a program that never writes a newline cannot grow memory. */
const MAX_LOG_LINE_CHARS = 8_192;

/** How a run starts its program: the command backend's settings with their defaults. */
type RunSettings = CommandSettings & Required<Pick<CommandSettings, 'args' | 'env'>>;

/** Runs a program per request; see the file comment for the protocol. */
export class CommandBackend implements AgentBackend {
  private readonly settings: RunSettings;

  /** Takes settings checked by the module settings schema (domain/module-settings.ts). */
  constructor(settings: CommandSettings) {
    this.settings = { ...settings, args: settings.args ?? [], env: settings.env ?? {} };
  }

  /** Runs the program for one request; always ends with exactly one `done`, and no process of the run survives it. */
  async *run(request: AgentRequest): AsyncGenerator<AgentEvent, void, undefined> {
    const commandRun = new CommandRun(this.settings, request);
    try {
      yield* commandRun.events();
    } finally {
      await commandRun.stop('stopped by the consumer');
    }
  }
}

/** One run of the program: owns the child, its timers and listeners, and the queue of events not yet read. */
class CommandRun {
  private readonly queue: AgentEvent[] = [];
  private wake: (() => void) | undefined;
  private child: ChildProcess | undefined;
  /** The marker every process of this run carries (see `RUN_MARKER`). */
  private readonly run = newRunMarker();
  /** Where the pid counter stood before the run's program started (see `RunWindow`). */
  private window: RunWindow | undefined;
  /** Why we ended the run ourselves (timeout, abort, consumer); when set it is the run's failure. */
  private stopReason: Failure | undefined;
  private stopping: Promise<boolean> | undefined;
  private supervision: Promise<void> | undefined;
  private finished = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly settings: RunSettings,
    private readonly request: AgentRequest,
  ) {}

  /** The run's events, starting the program on the first read. */
  async *events(): AsyncGenerator<AgentEvent, void, undefined> {
    this.supervision = this.supervise().catch((err: unknown) =>
      this.finish(failure(`internal error: ${errorText(err)}`)),
    );
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        yield event;
        if (event.type === 'done') return;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Ends the run early (if it is still going) and waits until its processes are gone and its timers cleared. */
  async stop(reason: string): Promise<void> {
    if (!this.finished) this.terminate(failure(reason, 'cancelled'));
    await this.supervision;
  }

  private push(event: AgentEvent): void {
    if (this.finished) return;
    this.queue.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private finish(failed?: Failure): void {
    this.push(failed === undefined ? { type: 'done', ok: true } : { type: 'done', ok: false, ...failed });
    this.finished = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private async supervise(): Promise<void> {
    const { command, args, env } = this.settings;
    const { cwd, signal } = this.request;
    if (signal.aborted) return this.finish(CANCELLED);
    const cwdProblem = await directoryProblem(cwd, 'working directory');
    if (cwdProblem) return this.finish(failure(cwdProblem));
    if (signal.aborted || this.stopReason) return this.finish(this.stopReason ?? CANCELLED);

    // Known to the watchdog before anything of it exists, so the hub dying at any moment leaves nothing behind.
    this.request.processes?.runStarting(this.run);
    this.window = runWindow();
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env, ...this.request.env, [RUN_MARKER]: this.run },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    const started = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (started) {
      this.request.processes?.runEnded(this.run);
      return this.finish(spawnProblem(command, started));
    }
    const pid = child.pid as number;
    this.request.processes?.started(pid);
    child.on('error', (err) => this.push({ type: 'log', level: 'warn', text: `${command}: ${err.message}` }));

    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const noteOutput = this.watch();
    const { stdout, stderr, stdin } = child;
    const answer = new CommandOutputParser();
    const stdoutDecoder = new StringDecoder('utf8');
    stdout.on('data', (chunk: Buffer) => {
      noteOutput();
      for (const event of answer.push(stdoutDecoder.write(chunk))) this.push(event);
    });
    const errors = new StderrLog();
    const stderrDecoder = new StringDecoder('utf8');
    stderr.on('data', (chunk: Buffer) => {
      noteOutput();
      for (const line of errors.push(stderrDecoder.write(chunk))) this.push({ type: 'log', level: 'warn', text: line });
    });
    // A program that exits without reading its stdin makes the write fail with EPIPE; that is not the run's failure.
    stdin.on('error', () => {});
    stdin.end(this.request.prompt);

    await exited;
    // Descendants left behind by a program that exited by itself, in its group or not, are ended like the rest.
    // A run whose processes would not end keeps its marker with the reaper, which ends them with the hub.
    const ended = await this.terminateRun();
    this.request.processes?.ended(pid);
    if (ended) this.request.processes?.runEnded(this.run);
    else this.push({ type: 'log', level: 'warn', text: 'some processes of this run did not end when stopped' });
    await Promise.race([closed, sleep(STDIO_CLOSE_GRACE_MS)]);
    // Whoever still holds stdout open escaped the process group; stop reading rather than wait for it forever.
    stdout.destroy();
    stderr.destroy();

    for (const event of answer.push(stdoutDecoder.end())) this.push(event);
    for (const event of answer.end()) this.push(event);
    for (const line of errors.push(stderrDecoder.end())) this.push({ type: 'log', level: 'warn', text: line });
    for (const line of errors.end()) this.push({ type: 'log', level: 'warn', text: line });

    if (this.stopReason) return this.finish(this.stopReason);
    if (child.exitCode === 0) return this.finish();
    return this.finish(failure(exitError(child.exitCode, child.signalCode, lastLine(errors.tail))));
  }

  /** Arms the timeouts, the idle timer and the abort listener (`finish` removes them); returns "output seen". */
  private watch(): () => void {
    const { timeoutMs, idleTimeoutMs } = this.settings;
    let noteOutput = () => {};
    if (timeoutMs !== undefined) {
      const timer = setTimeout(() => this.terminate(failure(`timed out after ${timeoutMs} ms`, 'timeout')), timeoutMs);
      this.cleanups.push(() => clearTimeout(timer));
    }
    if (idleTimeoutMs !== undefined) {
      const timer = setTimeout(
        () => this.terminate(failure(`no output for ${idleTimeoutMs} ms`, 'idle')),
        idleTimeoutMs,
      );
      this.cleanups.push(() => clearTimeout(timer));
      noteOutput = () => timer.refresh();
    }
    const onAbort = () => this.terminate(CANCELLED);
    this.request.signal.addEventListener('abort', onAbort, { once: true });
    this.cleanups.push(() => this.request.signal.removeEventListener('abort', onAbort));
    if (this.request.signal.aborted) onAbort();
    return noteOutput;
  }

  private terminate(failed: Failure): void {
    this.stopReason ??= failed;
    if (this.child?.pid !== undefined) void this.terminateRun();
  }

  /** Ends the run's process group and marked processes (see `stopRun`); answers whether they are all gone. */
  private terminateRun(): Promise<boolean> {
    this.stopping ??= stopRun(this.child?.pid, this.run, STOP_TIMES, this.window).catch(() => false);
    return this.stopping;
  }
}

/** Splits stderr into log lines and keeps its tail, which explains a failed exit. */
class StderrLog {
  private partial = '';
  /** The last `STDERR_TAIL_CHARS` characters. */
  tail = '';

  push(chunk: string): string[] {
    this.tail = (this.tail + chunk).slice(-STDERR_TAIL_CHARS);
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LOG_LINE_CHARS) {
      lines.push(this.partial);
      this.partial = '';
    }
    return lines.map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
  }

  end(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest.trim() === '' ? [] : [rest];
  }
}

/** Why a run failed, as carried by its `done` event. */
interface Failure {
  error: string;
  reason: FailureReason;
}

function failure(error: string, reason: FailureReason = 'agent_error'): Failure {
  return { error, reason };
}

const CANCELLED = failure('cancelled', 'cancelled');

function spawnProblem(command: string, err: NodeJS.ErrnoException): Failure {
  if (err.code === 'ENOENT') return failure(`command not found: ${command}`, 'not_installed');
  if (err.code === 'EACCES') return failure(`command is not executable: ${command}`, 'not_installed');
  return failure(`could not start ${command}: ${err.message}`);
}
