/**
 * What agent backends and hook commands share about the processes they start: each run's program leads a process
 * group of its own, and every process of the run carries a marker in its environment (`RUN_MARKER`) that follows
 * it into any group or session it moves to. A run ends when both are gone (`stopRun`). Agents also run in a
 * working directory checked before anything starts.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorText } from './exit.js';

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

/*
 * /proc is read synchronously: its files are made by the kernel on the spot, never wait for a disk, and take a few
 * microseconds each. Read through fs/promises (a file handle and four thread-pool trips a file), a look at 71
 * processes cost 9 ms and 12 ms of CPU, at the end of every run: the worker answered 50 questions a second instead
 * of 321 (bench/worker-throughput.ts, row 7).
 */

/** The pids in /proc, or undefined when it cannot be read. */
async function processIds(): Promise<string[] | undefined> {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
}

/** A file of /proc, or '' when it cannot be read; `error` receives why. */
function readProc(path: string, encoding: 'utf8' | 'latin1', error?: (err: NodeJS.ErrnoException) => void): string {
  try {
    return readFileSync(path, encoding);
  } catch (err) {
    error?.(err as NodeJS.ErrnoException);
    return '';
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name, which may itself contain spaces and parentheses:
 * state, ppid, pgrp, …; none for a process gone meanwhile.
 */
async function statFields(pid: string): Promise<string[]> {
  const line = readProc(`/proc/${pid}/stat`, 'utf8');
  return line ? line.slice(line.lastIndexOf(')') + 2).split(' ') : [];
}

/**
 * The environment variable that marks every process of one run (an agent's or a hook command's). Children
 * inherit it whatever process group or session they move to — Claude Code runs each shell command in a session
 * of its own, and any program may `setsid` — so what a run leaves in the background is found all the same.
 */
export const RUN_MARKER = 'CLAUDE_COMMS_RUN';

/** A new run's marker value: a UUID, which no other run and no stray environment carries. */
export function newRunMarker(): string {
  return randomUUID();
}

/** How a run's processes are stopped. */
export interface StopTimes {
  /** Between SIGTERM and SIGKILL (0: SIGKILL at once). */
  graceMs: number;
  /** After SIGKILL, how long to wait for the processes to disappear before giving up on them. */
  killWaitMs: number;
}

/** How often to look again while a run's processes are being stopped. */
const STOP_POLL_MS = 25;
/**
 * How soon to look again at processes that could not be told (see `Sighting`) when nothing else of the run is
 * left: an exec or an exit takes well under a millisecond. Waiting a whole STOP_POLL_MS for them — they are often
 * another run's, starting or ending — held each reply 25 ms or more, and took the worker from 321 to 50 answers a
 * second (bench/worker-throughput.ts, row 7).
 */
const UNSURE_POLL_MS = 1;

/**
 * Ends everything of a run: the process group led by `pgid` and every process marked with `run`, wherever it
 * went. SIGTERM, then SIGKILL after the grace period. Each look signals what it finds, so a process forked after
 * the previous look (by one that had not yet received its signal) is caught too. Resolves once a look finds nothing
 * of the run and no process it cannot tell (see `Sighting`), or `killWaitMs` after the SIGKILL; answers whether
 * nothing is left.
 */
export async function stopRun(
  pgid: number | undefined,
  run: string,
  times: StopTimes,
  window?: RunWindow,
): Promise<boolean> {
  const killAt = Date.now() + times.graceMs;
  // Before the SIGKILL each process is sent SIGTERM once: a program saving its state is not interrupted again.
  const termed = new Set<number>();
  let seen = await markedProcesses(run, window);
  for (;;) {
    const kill = Date.now() >= killAt;
    const { marked, unsure, unlisted } = seen;
    const group = pgid !== undefined && (await groupAlive(pgid));
    if (!group && marked.length === 0 && unsure.length === 0 && !unlisted) return true;
    if (kill && Date.now() >= killAt + times.killWaitMs) return false;
    const targets = group ? [-(pgid as number), ...marked] : marked;
    for (const target of targets) {
      if (!kill && termed.has(target)) continue;
      termed.add(target);
      try {
        process.kill(target, kill ? 'SIGKILL' : 'SIGTERM');
      } catch {
        // Gone since the look.
      }
    }
    if (targets.length === 0 && unsure.length > 0) {
      // Nothing of the run seen but processes that could not be told: just those again, soon. One that turns out
      // to be the run's may have forked meanwhile, so then everything is looked at again.
      await sleep(UNSURE_POLL_MS);
      const again = await lookAt(unsure, run);
      seen = again.marked.length ? await markedProcesses(run, window) : again;
    } else {
      await sleep(STOP_POLL_MS);
      seen = await markedProcesses(run, window);
    }
  }
}

/**
 * What one look at a process tells of a run: it carries the run's marker, it does not, it is gone (or a zombie),
 * or it cannot be told yet. An empty read of /proc/<pid>/environ is not an empty environment when the process is
 * in the middle of an exec (its new memory holds no environment yet, or the read began before the exec and the old
 * memory is gone meanwhile), and a read failing with ESRCH is not a process gone when it is still exiting (its
 * memory released, its files, sockets and locks not yet): such a process is looked at again. A run's program that
 * exits right after `setsid sleep 30 &` leaves the sleep in that window: taking those reads for "not ours" let it
 * live in 1 run in 4 (2 cores, load 3.5), and in 5 runs in 6 where three escaped processes exec in a loop.
 */
export type Sighting = 'marked' | 'other' | 'gone' | 'unsure';

/** /proc/<pid>/stat flag bits (include/linux/sched.h): exiting, kernel thread. */
const PF_EXITING = 0x4;
const PF_KTHREAD = 0x200000;

/**
 * Tells a process that was read (see `Sighting`) from whether its environment carried the marker (false: the read
 * was empty or found no memory) and its /proc/<pid>/stat fields read afterwards (see `statFields`; none when it is
 * gone).
 */
export function sighting(carriesMarker: boolean, stat: string[]): Sighting {
  const [state, , , , , , flags] = stat;
  if (state === undefined || state === 'Z' || state === 'X') return 'gone';
  if (carriesMarker) return 'marked';
  const bits = Number(flags);
  if (bits & PF_KTHREAD) return 'other';
  if (bits & PF_EXITING) return 'unsure';
  // Fields 27, 50 and 51: where its code ends and where its environment lies in its memory. An exec sets the end of
  // the code last, after the environment, whose bounds are 0 and then equal for a moment: until then the process
  // cannot be told. Equal bounds after it are an empty environment. Kernels before 3.5 do not show the bounds: as
  // before, an empty read is not ours.
  const [endCode, envStart, envEnd] = [stat[24], stat[47], stat[48]];
  if (envEnd === undefined) return 'other';
  return endCode !== '0' && envStart === envEnd ? 'other' : 'unsure';
}

/** A look at the live processes (Linux /proc) that carry `RUN_MARKER=<run>`. */
interface MarkedLook {
  marked: number[];
  /** Processes that could not be told (see `Sighting`): look again. */
  unsure: string[];
  /** /proc could not be listed: look again. */
  unlisted?: true;
}

/**
 * Looks for the processes of `run` (none off Linux, where they cannot be told). Every run's end looks: about 2 ms
 * of CPU for 71 processes here, read synchronously (see `processIds`).
 */
async function markedProcesses(run: string, window: RunWindow | undefined): Promise<MarkedLook> {
  if (process.platform !== 'linux') return { marked: [], unsure: [] };
  const pids = await processIds();
  if (!pids) return { marked: [], unsure: [], unlisted: true };
  const since = window && createdSince(window);
  return lookAt(
    pids.filter((pid) => Number(pid) !== process.pid && (!since || since(Number(pid)))),
    run,
  );
}

/**
 * Where the kernel's pid counter stood when a run began: every process of the run has a pid handed out since, so
 * its end looks only at those — the run's and whatever else started meanwhile — instead of at every process. A
 * look at every process (71 here) at the end of every run cost about 2 ms of CPU, and with four agents at a time
 * held the worker to 129 answers a second (bench/worker-throughput.ts, row 7).
 */
export interface RunWindow {
  /** The newest pid then (/proc/loadavg). */
  lastPid: number;
  /** Processes and threads created since boot then (/proc/stat `processes`). */
  forks: number;
}

/** The run window now (see `RunWindow`); undefined off Linux or when /proc cannot tell. */
export function runWindow(): RunWindow | undefined {
  if (process.platform !== 'linux') return undefined;
  const lastPid = Number(readProc('/proc/loadavg', 'utf8').trim().split(' ')[4]);
  const forks = Number(/^processes (\d+)$/m.exec(readProc('/proc/stat', 'utf8'))?.[1]);
  return Number.isSafeInteger(lastPid) && Number.isSafeInteger(forks) ? { lastPid, forks } : undefined;
}

let pidMax: number | undefined;

/**
 * Whether a pid was handed out since `window` opened: pids are handed out in turn, wrapping at pid_max, so those
 * since lie after the window's last pid and up to the newest, counted round the wrap. Undefined (look at every
 * process) once so many have been created since that the counter may have come round again.
 */
function createdSince(window: RunWindow): ((pid: number) => boolean) | undefined {
  const now = runWindow();
  pidMax ??= Number(readProc('/proc/sys/kernel/pid_max', 'utf8')) || 0;
  const max = pidMax;
  if (!now || max < 1024 || now.forks - window.forks >= max / 2) return undefined;
  const after = (pid: number) => (pid - window.lastPid + max) % max;
  const newest = after(now.lastPid);
  return (pid) => {
    const d = after(pid);
    return d > 0 && d <= newest;
  };
}

/** Looks at the processes `pids` for the marker of `run`. */
async function lookAt(pids: string[], run: string): Promise<MarkedLook> {
  const entry = `${RUN_MARKER}=${run}`;
  const sightings = await Promise.all(pids.map((pid) => look(pid, entry)));
  return {
    marked: pids.filter((_, i) => sightings[i] === 'marked').map(Number),
    unsure: pids.filter((_, i) => sightings[i] === 'unsure'),
  };
}

async function look(pid: string, entry: string): Promise<Sighting> {
  let code: string | undefined;
  const environ = readProc(`/proc/${pid}/environ`, 'latin1', (err) => {
    code = err.code ?? 'EIO';
  });
  if (code === 'ENOENT') return 'gone';
  // Another user's process, or one that forbids it (a set-user-ID program): not ours to end.
  if (code === 'EACCES' || code === 'EPERM') return 'other';
  // A process without memory answers ESRCH: a zombie, or one still exiting; its stat tells which.
  if (code !== undefined && code !== 'ESRCH') return 'unsure';
  const carriesMarker = environ.includes(entry) && environ.split('\0').includes(entry);
  if (environ !== '' && !carriesMarker) return 'other';
  const stat = await statFields(pid);
  const seen = sighting(carriesMarker, stat);
  // A child of this process that cannot be told is a program another run is starting (a run's own program is
  // ended with its group; what it leaves behind is never this process's child): waiting for it held every run's
  // end behind the starts of the others, 327 → 185 answers a second with four at a time (row 7).
  return seen === 'unsure' && stat[1] === String(process.pid) ? 'other' : seen;
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
