// A worker process killed with SIGKILL in the middle of a run: its agent does not outlive it (the reaper ends the
// agent's process group), and another worker recovers the reply once the dead worker's lease expires, then
// answers it from nothing: the answer holds the second run's text alone. A worker that only stalls past its lease
// (SIGSTOP) and wakes while another runs the reply writes nothing more into it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend } from '../support/backends.js';
import { alive, commandModule } from '../support/modules.js';
import { until } from '../support/wait.js';

const WORKER = fileURLToPath(new URL('../support/worker-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Short, so the dead worker's claim expires soon; renewed every 500 ms while the agent runs. */
const LEASE_MS = 1500;

/**
 * First run: writes part of an answer, records its pid in `pid` and works on. A later run (the `pid` file
 * exists) answers at once, so the retry is quick.
 */
const AGENT = `
import { existsSync, renameSync, writeFileSync } from 'node:fs';
if (existsSync('pid')) {
  process.stdout.write('answered on the second try');
} else {
  process.stdout.write('half an answer from the first run');
  writeFileSync('pid.tmp', String(process.pid));
  renameSync('pid.tmp', 'pid');
  setInterval(() => {}, 1000);
}`;

const workers = new Set<ChildProcess>();

/** Starts a worker process on `database`; `exited` resolves with the signal that ended it. */
function startWorkerProcess(database: string): {
  child: ChildProcess;
  exited: Promise<NodeJS.Signals | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, database, String(LEASE_MS)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      workers.delete(child);
      if (signal) resolve(signal);
      else reject(new Error(`the worker stopped by itself (exit ${code}): ${stderr.trim() || '(no stderr)'}`));
    });
  });
  // Killed in cleanup after a failed test, nobody awaits it: that must not surface as an unhandled rejection.
  exited.catch(() => undefined);
  return { child, exited, stderr: () => stderr };
}

afterEach(() => {
  for (const child of workers) child.kill('SIGKILL');
  workers.clear();
});

describeEachBackend('a worker process killed mid-run', (hubs) => {
  it('leaves no agent running, and another worker retries the reply after the lease and answers it', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'slow', AGENT);
    const worker = startWorkerProcess(hub.database);
    const asked = await hub.ask({ from: 'marker', to: 'slow', prompt: 'Take your time' });
    const pidFile = join(dir, 'pid');
    await until(
      async () =>
        existsSync(pidFile) &&
        ((await hub.messages.get(asked.messageId)) as { content?: string }).content ===
          'half an answer from the first run',
      20_000,
      'the worker process to start the agent and store the first part of its answer',
    );
    const agent = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(agent)).toBe(true);

    worker.child.kill('SIGKILL');
    expect(await worker.exited).toBe('SIGKILL');
    await until(() => !alive(agent), 5_000, `the agent (pid ${agent}) to be killed after its worker`);

    await hub.startWorker({ leaseMs: LEASE_MS });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('answered on the second try');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'processing', 'pending', 'processing', 'complete']);
    expect(done.history[2]?.reason).toBe('worker lost (lease expired); retrying');
  });
});

/**
 * First run: writes part of an answer, waits for `go`, then writes a stale ending and exits as if it succeeded.
 * Second run: writes its first part, waits for `go2`, then finishes.
 */
const STALLING_AGENT = `
import { existsSync, renameSync, writeFileSync } from 'node:fs';
const waitFor = (file, then) => { const t = setInterval(() => { if (existsSync(file)) { clearInterval(t); then(); } }, 20); };
if (existsSync('pid')) {
  process.stdout.write('second run: ');
  writeFileSync('pid2', String(process.pid));
  waitFor('go2', () => process.stdout.write('done'));
} else {
  process.stdout.write('first run, ');
  writeFileSync('pid.tmp', String(process.pid));
  renameSync('pid.tmp', 'pid');
  waitFor('go', () => process.stdout.write('stale ending'));
}`;

describeEachBackend('a worker process that stalls past its lease', (hubs) => {
  it('loses its reply to another worker and, once awake, writes nothing more into it', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'staller', STALLING_AGENT);
    const stalled = startWorkerProcess(hub.database);
    const asked = await hub.ask({ from: 'marker', to: 'staller', prompt: 'Take your time' });
    const content = async () => ((await hub.messages.get(asked.messageId)) as { content?: string }).content;
    await until(async () => (await content()) === 'first run, ', 20_000, 'the first run to store its first part');
    stalled.child.kill('SIGSTOP');
    // Another worker takes the reply once the stalled one's lease has expired, and starts it again.
    await hub.startWorker({ leaseMs: LEASE_MS });
    await until(async () => (await content()) === 'second run: ', 20_000, 'the second run to store its first part');
    // The stalled worker wakes while the second run goes on; its agent finishes, "successfully".
    writeFileSync(join(dir, 'go'), '');
    stalled.child.kill('SIGCONT');
    await until(
      async () => /outcome is dropped/.test(stalled.stderr()) || (await content()) !== 'second run: ',
      20_000,
      'the woken worker to finish its run',
    );
    expect(await content()).toBe('second run: ');
    expect((await hub.messages.require(asked.messageId)).status).toBe('processing');
    writeFileSync(join(dir, 'go2'), '');
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('second run: done');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'processing', 'pending', 'processing', 'complete']);
  });
});
