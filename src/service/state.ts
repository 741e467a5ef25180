/**
 * Where a running service describes itself in the data home (`service.json`, and for the daemon `service.pid`
 * and `service.log`), and how the command line finds it: a module free of the server's imports, so commands
 * that only look for a service start fast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataHome } from '../config/paths.js';

/** What `service.json` holds while a service runs. */
export interface ServiceState {
  pid: number;
  url: string;
  host: string;
  port: number;
  database: string;
  config: string;
  startedAt: string;
  version: string;
}

/** Where the running service describes itself. */
export function stateFile(): string {
  return join(dataHome(), 'service.json');
}

/** The pid of the service `claude-comms poll start` runs in the background, from its start to its exit. */
export function pidFile(): string {
  return join(dataHome(), 'service.pid');
}

/** Where the background service writes its output and log. */
export function logFile(): string {
  return join(dataHome(), 'service.log');
}

/** What `service.json` holds: undefined when there is none, null when it cannot be read or is not a JSON object. */
export function readState(): Partial<ServiceState> | null | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(), 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  try {
    const state: unknown = JSON.parse(text);
    return typeof state === 'object' && state !== null ? (state as Partial<ServiceState>) : null;
  } catch {
    return null;
  }
}

/** The state of the service that wrote `service.json`, if that process is still running it. */
export function runningService(): ServiceState | undefined {
  const state = readState();
  if (typeof state?.pid !== 'number') return undefined;
  return state.pid === process.pid || isServiceProcess(state.pid) ? (state as ServiceState) : undefined;
}

/**
 * Whether `pid` is a live `claude-comms serve`. A dead service leaves its files behind, and its pid may since
 * have been given to an unrelated process: on Linux the command line must run the claude-comms bin with `serve`
 * (a zombie has none). Elsewhere any live process counts.
 */
export function isServiceProcess(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return process.platform !== 'linux';
  }
  const args = commandLine.split('\0');
  const bin = args.findIndex((arg) => /(^|\/)claude-comms(\.js)?$/.test(arg));
  return bin >= 0 && args.indexOf('serve', bin + 1) > bin;
}

/** The pid a pid file holds, if it holds one. */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return /^\d+$/.test(text) ? Number(text) : undefined;
}
