/**
 * Runs a program to its end in its own process group: input on stdin, stdout collected (and handed on line by
 * line when asked), the tail of stderr kept to explain a failure. Everything it starts carries a run marker and
 * ends with it, whatever group or session it moved to; a timeout or an abort kills it all at once. Used by hook
 * commands and workflow command steps.
 */
import { spawn } from 'node:child_process';
import { exitError, lastLine } from './exit.js';
import { newRunMarker, RUN_MARKER, runWindow, stopRun } from './process-group.js';
import type { ProcessTracker } from './tracker.js';

/** How much of stderr is kept to explain a failure. */
const STDERR_TAIL_CHARS = 2000;
/** How long output may stay open after the program exits (a background child may hold it) before reading stops. */
const CLOSE_GRACE_MS = 200;
/** The longest line handed to `onLine`: longer ones (a program's whole JSON output on one line) are not lines to read. */
const MAX_LINE = 65_536;
/** Killed at once (nothing to save), then up to 1 s for its processes to disappear. */
const STOP_TIMES = { graceMs: 0, killWaitMs: 1000 };

export interface ProgramRun {
  /** `argv[0]` with its arguments, or a shell command line for `/bin/sh -c`. */
  argv: string[];
  cwd?: string;
  input: string;
  /** Added to the hub's environment. */
  env: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  processes?: ProcessTracker;
  /** Keep stdout (default: ignored). */
  collect?: boolean;
  /** Called with each line of stdout as it comes. */
  onLine?: (line: string) => void;
  /** Largest stdout kept, in characters; past it the program fails. */
  maxOutput?: number;
}

/** Resolves with stdout when the program exits with status 0; rejects with the reason otherwise. */
export async function runProgram(run: ProgramRun): Promise<string> {
  if (run.signal.aborted) throw new Error('stopped before it started');
  const marker = newRunMarker();
  run.processes?.runStarting(marker);
  const window = runWindow();
  const [command, ...args] = run.argv;
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(command as string, args, {
      detached: true,
      ...(run.cwd ? { cwd: run.cwd } : {}),
      env: { ...process.env, ...run.env, [RUN_MARKER]: marker },
      stdio: ['pipe', run.collect || run.onLine ? 'pipe' : 'ignore', 'pipe'],
    });
  } catch (err) {
    // Refused before it started (a NUL in an argument, no program given): nothing to watch for.
    run.processes?.runEnded(marker);
    throw new Error(`could not start ${String(command)}: ${(err as Error).message}`);
  }
  const started = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (started) {
    run.processes?.runEnded(marker);
    throw new Error(`could not start ${command}: ${started.message}`);
  }
  const pid = child.pid as number;
  run.processes?.started(pid);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  let stdout = '';
  let partial = '';
  let killedFor: string | undefined;
  let stopping: Promise<boolean> | undefined;
  const stop = () => {
    stopping ??= stopRun(pid, marker, STOP_TIMES, window);
    return stopping;
  };
  const kill = (why: string) => {
    killedFor ??= why;
    void stop();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (run.collect) {
      stdout += chunk;
      if (run.maxOutput !== undefined && stdout.length > run.maxOutput)
        kill(`its output passed ${run.maxOutput} characters`);
    }
    if (run.onLine) {
      // Only the new text is searched for line ends; a line longer than any report is let go unread.
      const lines = chunk.split('\n');
      const last = lines.pop() ?? '';
      if (lines.length) {
        run.onLine(partial + lines[0]);
        for (const line of lines.slice(1)) run.onLine(line);
        partial = '';
      }
      partial = (partial + last).length > MAX_LINE ? '' : partial + last;
    }
  });
  // A program that exits without reading its stdin makes the write fail with EPIPE; its exit status decides.
  child.stdin?.on('error', () => {});
  child.stdin?.end(run.input);
  const timer = setTimeout(() => kill(`timed out after ${run.timeoutMs} ms`), run.timeoutMs);
  const onAbort = () => kill('stopped');
  run.signal.addEventListener('abort', onAbort, { once: true });
  if (run.signal.aborted) onAbort();
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    await stop();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((resolve) => child.once('close', resolve)),
      new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(grace);
    child.stderr?.destroy();
    child.stdout?.destroy();
    if (partial && run.onLine) run.onLine(partial);
    if (killedFor) throw new Error(killedFor);
    if (code === 0) return stdout;
    throw new Error(exitError(code, signal, lastLine(stderr)));
  } finally {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onAbort);
    run.processes?.ended(pid);
    if (await (stopping ?? Promise.resolve(true)).catch(() => false)) run.processes?.runEnded(marker);
  }
}
