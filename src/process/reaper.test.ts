// The reaper against real processes: a hub's process killed with SIGKILL leaves none of its registered agent
// process groups behind, and the watchdog itself goes with them.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../test/support/backends.js';
import { alive } from '../../test/support/modules.js';
import { groupMembers } from '../../test/support/processes.js';
import { until } from '../../test/support/wait.js';
import { newRunMarker, RUN_MARKER } from './process-group.js';
import { LazyReaper, Reaper } from './reaper.js';

const HUB = fileURLToPath(new URL('../../test/support/reaper-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What reaper-child.ts writes: the watchdog's pid and the id of each group it started. */
interface Started {
  reaper: number;
  term: number;
  stubborn: number;
  ended: number;
  /** A process of a registered run that moved to a session of its own. */
  escaped: number;
  /** A process of a registered run whose group was never registered (the hub died first). */
  unregistered: number;
}

const hubs = new Set<ChildProcess>();
const groups = new Set<number>();

afterEach(() => {
  for (const hub of hubs) hub.kill('SIGKILL');
  hubs.clear();
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
});

/**
 * Whether the watchdog `pid` has installed its signal handlers. Node catches SIGINT and SIGTERM from its first
 * moment (to restore the terminal before dying), so their bits prove nothing; SIGHUP is not caught until the
 * watchdog's handler for it, the last one it installs (the SigCgt mask of /proc/<pid>/status).
 */
function handlesSignals(pid: number): boolean {
  const mask = /SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
}

describe('Reaper', () => {
  it('kills the registered groups and every process of a registered run when the hub is SIGKILLed, then exits', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cc-reaper-')), 'started.json');
    const hub = spawn(process.execPath, ['--import', 'tsx', HUB, file], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    hubs.add(hub);
    let stderr = '';
    hub.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => hub.once('exit', (_, signal) => resolve(signal)));
    await until(() => existsSync(file) || hub.exitCode !== null, 20_000, 'the hub process to start its groups');
    expect(hub.exitCode, stderr).toBeNull();
    const started = JSON.parse(readFileSync(file, 'utf8')) as Started;
    for (const pgid of [started.term, started.stubborn, started.ended, started.escaped, started.unregistered]) {
      groups.add(pgid);
    }
    // Each shell has started its `sleep` before the hub dies, so the kill must reach beyond the group's leader.
    await until(
      () => groupMembers(started.term).length === 2 && groupMembers(started.stubborn).length === 2,
      10_000,
      'the shells’ sleeps to start',
    );
    expect(alive(started.reaper)).toBe(true);

    hub.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // `stubborn` ignores SIGTERM: it goes only with the SIGKILL that follows the grace period.
    await until(
      () => groupMembers(started.term).length === 0 && groupMembers(started.stubborn).length === 0,
      10_000,
      () =>
        `the registered groups to end (left: ${[...groupMembers(started.term), ...groupMembers(started.stubborn)]})`,
    );
    // Out of every registered group, found by the run's marker.
    await until(
      () => !alive(started.escaped) && !alive(started.unregistered),
      10_000,
      'the run’s escaped and unregistered processes to end',
    );
    await until(() => !alive(started.reaper), 10_000, 'the reaper to exit');
    expect(alive(started.ended), 'a group reported ended is left alone').toBe(true);
  });

  it('ignores SIGINT and SIGTERM, and exits once the hub closes it', async () => {
    const { logger, lines } = memoryLogger();
    const reaper = Reaper.start(logger);
    const pid = reaper.pid as number;
    await until(() => handlesSignals(pid), 10_000, 'the reaper to install its signal handlers');
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alive(pid)).toBe(true);

    await reaper.close();
    expect(alive(pid)).toBe(false);
    expect(lines.filter((line) => line.level === 40)).toEqual([]);
  });

  it('warns when the watchdog dies, and writing to it afterwards does not throw', async () => {
    const { logger, lines } = memoryLogger();
    const reaper = Reaper.start(logger);
    const pid = reaper.pid as number;
    process.kill(pid, 'SIGKILL');
    // Blocks the event loop until the kernel has ended it, so the hub's first news of the death is a failed write.
    while (alive(pid)) await Promise.resolve();
    // No such group can exist (above any pid_max): harmless even if it were reaped.
    const nobody = 2 ** 30;
    reaper.started(nobody);
    reaper.ended(nobody);
    await until(() => lines.some((line) => line.level === 40), 10_000, 'a warning that the reaper stopped');
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      'the agent process reaper stopped (it exited with SIGKILL); a new one starts with the next run',
    ]);
    await reaper.close();
    expect(reaper.pid).toBeUndefined();
  });
});

describe('LazyReaper', () => {
  it('starts the watchdog when a run is starting, and replaces a dead one at once, telling it what is registered', async () => {
    const { logger } = memoryLogger();
    const processes = new LazyReaper(logger);
    const run = newRunMarker();
    const sleeper = spawn('sleep', ['60'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [RUN_MARKER]: run },
    });
    groups.add(sleeper.pid as number);
    try {
      expect(watchdogs()).toEqual([]);
      processes.runStarting(run);
      const [first] = await waitForWatchdogs(1);
      process.kill(first as number, 'SIGKILL');
      await until(() => !alive(first as number), 10_000, 'the first watchdog to die');
      // A run is still registered: another watchdog starts without waiting for the next run, and knows of it.
      const [second] = await waitForWatchdogs(1);
      expect(second).not.toBe(first);
      // The next registration goes to that one: no third is started.
      processes.runStarting(newRunMarker());
      expect(await waitForWatchdogs(1)).toEqual([second]);
      await processes.close();
      // Closing a watchdog ends what is still registered: the run registered before the first one died.
      await until(() => !alive(sleeper.pid as number), 10_000, 'the run’s process to be ended by the new watchdog');
    } finally {
      await processes.close();
    }
  });
});

/** The pids of this process's live watchdogs (`node -e` children). */
function watchdogs(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (
          ppid === String(process.pid) &&
          state !== 'Z' &&
          readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('\0-e\0')
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitForWatchdogs(n: number): Promise<number[]> {
  await until(() => watchdogs().length === n, 10_000, `${n} watchdog(s) to run`);
  return watchdogs();
}
