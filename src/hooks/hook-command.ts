/**
 * Runs a hook's command: `/bin/sh -c COMMAND` in its own process group (process/program.ts), the notification on
 * stdin, the `CLAUDE_COMMS_*` variables in its environment. Exit status 0 means delivered. Like an agent's run,
 * everything it starts carries a run marker and ends with it, whatever group or session it moved to.
 */
import { runProgram } from '../process/program.js';
import type { ProcessTracker } from '../process/tracker.js';

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
  await runProgram({
    argv: ['/bin/sh', '-c', run.command],
    input: run.input,
    env: run.env,
    timeoutMs: run.timeoutMs,
    signal: run.signal,
    ...(run.processes ? { processes: run.processes } : {}),
  });
}
