// How a run's end tells its processes apart, from what /proc shows of them, and against real processes.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { alive } from '../../test/support/modules.js';
import { until } from '../../test/support/wait.js';
import { newRunMarker, RUN_MARKER, runWindow, sighting, stopRun } from './process-group.js';

/**
 * /proc/<pid>/stat fields after the command name (state first), with the flags, the end of the code and the bounds
 * of the environment given.
 */
function stat(state: string, flags: number, endCode: string, envStart: string, envEnd: string): string[] {
  const fields = Array.from({ length: 49 }, () => '0');
  fields[0] = state;
  fields[6] = String(flags);
  fields[24] = endCode;
  fields[47] = envStart;
  fields[48] = envEnd;
  return fields;
}

const RUNNING = 0x400000;
const EXITING = 0x400004;
const KERNEL_THREAD = 0x208040;

describe('sighting', () => {
  it.each([
    ['a process that carries the marker', true, stat('S', RUNNING, '9383', '140720', '140900'), 'marked'],
    ['a zombie that carries the marker', true, stat('Z', EXITING, '0', '0', '0'), 'gone'],
    ['a process gone before its stat was read', false, [], 'gone'],
    ['a program started without any environment', false, stat('S', RUNNING, '9383', '140736', '140736'), 'other'],
    ['a kernel thread', false, stat('S', KERNEL_THREAD, '0', '0', '0'), 'other'],
    ['a process whose exec has not laid out its environment yet', false, stat('R', RUNNING, '0', '0', '0'), 'unsure'],
    [
      'a process whose exec is laying out its environment',
      false,
      stat('R', RUNNING, '0', '140736', '140736'),
      'unsure',
    ],
    [
      'a process whose exec ended between the open and the read',
      false,
      stat('S', RUNNING, '9383', '140720', '140900'),
      'unsure',
    ],
    ['a process exiting, its memory already released', false, stat('R', EXITING, '0', '0', '0'), 'unsure'],
    [
      'a process on a kernel that does not show where its environment is',
      false,
      ['S', '1', '7', '7', '0', '-1', '4194304'],
      'other',
    ],
  ])('tells %s', (_, carriesMarker, fields, expected) => {
    expect(sighting(carriesMarker, fields)).toBe(expected);
  });
});

describe('stopRun', () => {
  it('leaves a process without any environment alone and does not wait for it', async () => {
    const child = spawn('sleep', ['30'], { env: {}, stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    try {
      // Were it taken for a process in the middle of an exec, stopRun would look until it gives up and answer false.
      expect(await stopRun(undefined, newRunMarker(), { graceMs: 0, killWaitMs: 500 })).toBe(true);
      expect(alive(child.pid as number)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('with a run window, finds what the run started after many other processes, in a session of its own', async () => {
    const run = newRunMarker();
    const window = runWindow();
    expect(window).toBeDefined();
    // Other processes come and go after the window opened and before the run's own starts.
    for (let i = 0; i < 20; i++) {
      const other = spawn('true', [], { stdio: 'ignore' });
      await new Promise((resolve) => other.once('exit', resolve));
    }
    // Started the way a run leaves it behind: by a program that exits at once, so the escaped process is not a
    // child of this one (children of this one that are mid-exec are taken for another run's program being started).
    const starter = spawn('sh', ['-c', 'setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!'], {
      env: { ...process.env, [RUN_MARKER]: run },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    starter.stdout.on('data', (chunk) => {
      out += chunk;
    });
    await new Promise((resolve) => starter.once('close', resolve));
    const escaped = Number(out.trim());
    expect(escaped).toBeGreaterThan(0);
    try {
      expect(await stopRun(undefined, run, { graceMs: 0, killWaitMs: 2_000 }, window)).toBe(true);
      // Killed: it may still be on its way out (its memory, and with it its environment, already gone).
      await until(() => !alive(escaped), 10_000, 'the killed process to end');
    } finally {
      try {
        process.kill(escaped, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
});
