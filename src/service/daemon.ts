/**
 * The service as a background daemon (`claude-comms poll start|stop`): `node <bin> serve …` detached from the
 * terminal, its output appended to `service.log`, its pid in `service.pid` from the spawn to its exit. The
 * daemon itself writes `service.json` once it listens, which is how a start knows it succeeded.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dataHome } from '../config/paths.js';
import { HubError } from '../domain/errors.js';
import type { ServiceOptions } from './service.js';
import {
  isServiceProcess,
  logFile,
  pidFile,
  readPid,
  readState,
  runningService,
  type ServiceState,
  stateFile,
} from './state.js';

/** The claude-comms bin the daemon runs. */
const BIN = fileURLToPath(new URL('../../bin/claude-comms.js', import.meta.url));

/** How often a start or a stop looks at the daemon while waiting for it. */
const CHECK_MS = 50;

/** Lines of the log shown when a start fails. */
const LOG_TAIL_LINES = 20;

/** What `serve` is started with. */
export interface DaemonOptions
  extends Pick<
    ServiceOptions,
    'host' | 'port' | 'database' | 'config' | 'intervalSeconds' | 'leaseSeconds' | 'allowedOrigins'
  > {
  /** How long to wait for the daemon to listen (default 30 s). */
  timeoutMs?: number;
}

/** How a start ended: a new daemon, or the one already running (or starting). */
export type DaemonStart =
  | { started: true; state: ServiceState }
  | { started: false; state?: ServiceState; pid: number };

/** The daemon's pid while it starts or runs: `service.pid`, or `service.json` for a foreground `serve`. */
function servicePid(): number | undefined {
  const pid = readPid(pidFile());
  if (pid !== undefined && isServiceProcess(pid)) return pid;
  return runningService()?.pid;
}

/**
 * Removes `service.json` and `service.pid` left by a service that is gone (killed, crashed, failed to start);
 * answers the files removed. Files of a live service are kept.
 */
function removeStaleFiles(): string[] {
  const removed: string[] = [];
  const statePid = stateFilePid();
  if (statePid !== undefined && !isServiceProcess(statePid)) removed.push(stateFile());
  const pid = readPid(pidFile());
  if ((pid === undefined && existsSync(pidFile())) || (pid !== undefined && !isServiceProcess(pid))) {
    removed.push(pidFile());
  }
  for (const file of removed) rmSync(file, { force: true });
  return removed;
}

/**
 * Starts `serve` in the background and resolves once it listens. A service already running, or a daemon still
 * starting, is left alone and answered. A daemon that exits before it listens, or does not listen within
 * `timeoutMs`, is an `unavailable` HubError whose `details.logTail` holds what it wrote this time.
 */
export async function startDaemon(options: DaemonOptions = {}): Promise<DaemonStart> {
  mkdirSync(dataHome(), { recursive: true });
  const running = runningService();
  if (running) return { started: false, state: running, pid: running.pid };
  removeStaleFiles();
  let lock: number;
  try {
    // Created exclusively: of two starts racing, one spawns and the other finds the daemon starting.
    lock = openSync(pidFile(), 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const pid = readPid(pidFile());
    if (pid === undefined) throw new HubError('conflict', 'another claude-comms poll start is starting the service');
    return { started: false, ...(await waitForState(pid, options.timeoutMs)), pid };
  }
  const log = logFile();
  const logFd = openSync(log, 'a');
  const logStart = statSync(log).size;
  const args = serveArguments(options);
  writeSync(logFd, `\n--- ${new Date().toISOString()} claude-comms ${args.join(' ')}\n`);
  let pid: number;
  try {
    const child = spawn(process.execPath, [BIN, ...args], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    });
    child.unref();
    pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    });
    writeSync(lock, `${pid}\n`);
  } catch (err) {
    rmSync(pidFile(), { force: true });
    throw err;
  } finally {
    closeSync(lock);
    closeSync(logFd);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const { state } = await waitForState(pid, timeoutMs);
  if (state) return { started: true, state };
  const hung = isServiceProcess(pid);
  if (hung) process.kill(pid, 'SIGKILL');
  if (readPid(pidFile()) === pid) rmSync(pidFile(), { force: true });
  const why = hung ? `did not listen within ${timeoutMs / 1000} s and was killed` : 'exited before it listened';
  throw new HubError('unavailable', `the service ${why}`, {
    details: { log, logTail: logTail(log, logStart) },
  });
}

/** How a stop ended. */
export interface DaemonStop {
  /** The service that was stopped, if one ran. */
  pid?: number;
  /** True when it exited within the time allowed. */
  stopped: boolean;
  /** How long it took to exit. */
  elapsedMs: number;
  /** Files left by a service that was already gone, now removed. */
  removed: string[];
}

/**
 * Stops the service (the daemon, or a foreground `serve` of this data home) with SIGTERM, which stops taking
 * requests, cancels the agents running (their replies end `cancelled`) and closes the database; resolves when
 * it has exited, or after `timeoutMs` (default 30 s) with `stopped: false`.
 */
export async function stopDaemon(
  options: { timeoutMs?: number; signal?: 'SIGTERM' | 'SIGUSR2' } = {},
): Promise<DaemonStop> {
  const pid = servicePid();
  if (pid === undefined) return { stopped: true, elapsedMs: 0, removed: removeStaleFiles() };
  const began = Date.now();
  try {
    process.kill(pid, options.signal ?? 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  const deadline = began + (options.timeoutMs ?? 30_000);
  while (isServiceProcess(pid)) {
    if (Date.now() >= deadline) return { pid, stopped: false, elapsedMs: Date.now() - began, removed: [] };
    await sleep(CHECK_MS);
  }
  // A service killed mid-stop leaves its files; one that stopped cleanly has removed them already.
  return { pid, stopped: true, elapsedMs: Date.now() - began, removed: removeStaleFiles() };
}

/** The last lines of `file` from byte `from` on. */
function logTail(file: string, from = 0, lines = LOG_TAIL_LINES): string {
  let text: string;
  try {
    text = readFileSync(file).subarray(from).toString('utf8');
  } catch {
    return '';
  }
  return text.trim().split('\n').slice(-lines).join('\n');
}

function serveArguments(o: DaemonOptions): string[] {
  const args = o.database === undefined ? [] : ['--database', o.database];
  args.push('serve');
  if (o.host !== undefined) args.push('--host', o.host);
  if (o.port !== undefined) args.push('--port', String(o.port));
  if (o.config !== undefined) args.push('--config', o.config);
  if (o.intervalSeconds !== undefined) args.push('--interval', String(o.intervalSeconds));
  if (o.leaseSeconds !== undefined) args.push('--lease', String(o.leaseSeconds));
  for (const origin of o.allowedOrigins ?? []) args.push('--allow-origin', origin);
  return args;
}

/** Waits until the daemon `pid` has written `service.json`, or has exited, or `timeoutMs` has passed. */
async function waitForState(pid: number, timeoutMs = 30_000): Promise<{ state?: ServiceState }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = runningService();
    if (state?.pid === pid) return { state };
    if (!isServiceProcess(pid) || Date.now() >= deadline) return {};
    await sleep(CHECK_MS);
  }
}

/** The pid `service.json` names: undefined when there is no such file, 0 when it names none (garbage). */
function stateFilePid(): number | undefined {
  const state = readState();
  if (state === undefined) return undefined;
  return typeof state?.pid === 'number' ? state.pid : 0;
}
