/**
 * Runs a hook's command: `/bin/sh -c COMMAND` in its own process group, the notification on stdin, the
 * `CLAUDE_COMMS_*` variables in its environment. Exit status 0 means delivered. Like an agent's run, everything
 * it starts carries a run marker and ends with it, whatever group or session it moved to.
 */
import { spawn } from 'node:child_process';
import { exitError, lastLine } from '../process/exit.js';
import { newRunMarker, RUN_MARKER, runWindow, stopRun } from '../process/process-group.js';
import type { ProcessTracker } from '../process/tracker.js';

/** How much of stderr is kept to explain a failure. */
const STDERR_TAIL_CHARS = 2000;

/** How long stderr may stay open after the shell exits (a background child may hold it) before we stop reading. */
const STDERR_CLOSE_GRACE_MS = 200;

/**
 * A hook command is killed at once (it has no state to save), and so is what it leaves behind; then up to 1 s for
 * its processes to disappear.
 */
const STOP_TIMES = { graceMs: 0, killWaitMs: 1000 };

/** One run of a hook command. */
export interface HookCommandRun {
  command: string;
  /** Written to its stdin. */
  input: string;
  /** Added to the hub's environment. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Aborting kills the process group at once. */
  signal: AbortSignal;
  /** Told of the process group, so it is killed if the hub's process dies. */
  processes?: ProcessTracker;
}

/**
 * Resolves when the command exits with status 0; rejects with the reason otherwise (exit status and the last
 * line of stderr, a signal, a timeout). A command that outlives `timeoutMs` or the signal has its whole process
 * group killed.
 */
export async function runHookCommand(run: HookCommandRun): Promise<void> {
  if (run.signal.aborted) throw new Error('stopped before it started');
  const marker = newRunMarker();
  run.processes?.runStarting(marker);
  const window = runWindow();
  const child = spawn('/bin/sh', ['-c', run.command], {
    detached: true,
    env: { ...process.env, ...run.env, [RUN_MARKER]: marker },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const started = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (started) {
    run.processes?.runEnded(marker);
    throw new Error(`could not start /bin/sh: ${started.message}`);
  }
  const pid = child.pid as number;
  run.processes?.started(pid);

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  // A command that exits without reading its stdin makes the write fail with EPIPE; its exit status decides.
  child.stdin?.on('error', () => {});
  child.stdin?.end(run.input);

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
  const timer = setTimeout(() => kill(`timed out after ${run.timeoutMs} ms`), run.timeoutMs);
  const onAbort = () => kill('stopped');
  run.signal.addEventListener('abort', onAbort, { once: true });
  // A stop that came while the program was starting found no listener yet.
  if (run.signal.aborted) onAbort();
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    // What the command left running, in its group or in a session of its own, ends with it.
    await stop();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((resolve) => child.once('close', resolve)),
      new Promise((resolve) => (grace = setTimeout(resolve, STDERR_CLOSE_GRACE_MS))),
    ]);
    clearTimeout(grace);
    child.stderr?.destroy();
    if (killedFor) throw new Error(killedFor);
    if (code === 0) return;
    throw new Error(exitError(code, signal, lastLine(stderr)));
  } finally {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onAbort);
    run.processes?.ended(pid);
    // Processes that would not end keep the marker with the reaper, which ends them with the hub.
    if (await (stopping ?? Promise.resolve(true)).catch(() => false)) run.processes?.runEnded(marker);
  }
}
