/**
 * What agent backends share about the processes they start: each runs in its own process group, which is
 * signalled and watched as a whole, in a working directory checked before anything starts.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { errorText } from './command-output.js';

/** Sends `signal` to the process group led by `pid`; a group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether any live process remains in the process group. `kill(-pid, 0)` alone also counts zombies, and in a
 * container whose init reaps orphans late (seen: about 2 s) that would turn every stop into a SIGKILL wait, so on
 * Linux a positive answer is checked against /proc.
 */
export async function groupAlive(pid: number): Promise<boolean> {
  try {
    process.kill(-pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  const pids = await processIds();
  if (!pids) return true;
  for (const entry of pids) {
    const [state, , pgrp] = await statFields(entry);
    if (pgrp === String(pid) && state !== 'Z') return true;
  }
  return false;
}

/** The pids in /proc, or undefined when it cannot be read. */
async function processIds(): Promise<string[] | undefined> {
  const entries = await readdir('/proc').catch(() => undefined);
  return entries?.filter((entry) => /^\d+$/.test(entry));
}

/**
 * The fields of /proc/<pid>/stat after the command name, which may itself contain spaces and parentheses:
 * state, ppid, pgrp, …; none for a process gone meanwhile.
 */
async function statFields(pid: string): Promise<string[]> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return line ? line.slice(line.lastIndexOf(')') + 2).split(' ') : [];
}

/**
 * The environment variable that marks every process of one agent run. Children inherit it whatever process group
 * or session they move to — Claude Code runs each shell command in a session of its own, so a job a tool leaves
 * in the background is out of reach of the CLI's group.
 */
export const RUN_MARKER = 'CLAUDE_COMMS_RUN';

/** Live processes (Linux /proc) whose environment carries `RUN_MARKER=<run>`; none elsewhere. */
async function markedProcesses(run: string): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  const entry = `${RUN_MARKER}=${run}`;
  const found: number[] = [];
  for (const pid of (await processIds()) ?? []) {
    if (Number(pid) === process.pid) continue;
    // Unreadable (another user's, or gone meanwhile): not ours.
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (!environ.includes(entry) || !environ.split('\0').includes(entry)) continue;
    const [state] = await statFields(pid);
    if (state !== undefined && state !== 'Z') found.push(Number(pid));
  }
  return found;
}

/** Sends `signal` to every live process marked with `run`; answers how many there were. */
export async function signalMarked(run: string, signal: NodeJS.Signals): Promise<number> {
  const pids = await markedProcesses(run);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone since the scan.
    }
  }
  return pids.length;
}

/** Why `cwd` cannot be an agent's working directory (`label` names it in the answer), or undefined when it can. */
export async function directoryProblem(cwd: string, label: string): Promise<string | undefined> {
  try {
    return (await stat(cwd)).isDirectory() ? undefined : `${label} ${cwd} is not a directory`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${label} ${cwd} does not exist`
      : `${label} ${cwd}: ${errorText(err)}`;
  }
}
