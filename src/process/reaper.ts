/**
 * The reaper: a small watchdog process that kills the processes of the hub's runs (agents and hook commands) when
 * the hub's process dies, however it dies. Runs' programs lead process groups of their own, so that cancelling
 * one kills everything it started; the same separation means nothing kills them when the hub is SIGKILLed or
 * crashes: they would run on as orphans. The watchdog learns of every run (its marker, before anything of it
 * starts) and every group through a pipe on its stdin. The kernel closes that pipe whenever the hub's process
 * ends, SIGKILL included, and the watchdog then terminates what is still registered and exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { RUN_MARKER } from './process-group.js';
import type { ProcessTracker } from './tracker.js';

/**
 * The watchdog's program, run with `node -e` so that it needs no file beside the compiled code. Protocol on its
 * stdin: `+<pgid>\n` registers a group, `-<pgid>\n` forgets it; `+=<run>\n` and `-=<run>\n` do the same for a run
 * marker. At end of input: SIGTERM to every registered group and to every process (Linux /proc) whose environment
 * carries a registered marker, up to 2 s for them to go (the agents' own grace period, see command-backend.ts),
 * SIGKILL to the rest. Marked processes are looked for again at each poll, so one forked after a look (by a
 * process that had not yet been signalled) is caught by the next; by environment, not pid, so a reused pid is
 * never mistaken for one of ours. A group of zombies still answers `kill(-pgid, 0)` until its new parent reaps
 * it; the cost is only that the watchdog lingers for the grace period. Signals a terminal or a service manager
 * sends to everything are ignored: the watchdog must outlive the hub, and it ends by itself once the hub has.
 */
const REAPER_SOURCE = `
const { readdirSync, readFileSync } = require('node:fs');
const GRACE_MS = 2000;
const KILL_WAIT_MS = 1000;
const POLL_MS = 50;
const MARKER = ${JSON.stringify(`${RUN_MARKER}=`)};
const groups = new Set();
const runs = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
const marked = () => {
  const found = [];
  if (runs.size === 0 || process.platform !== 'linux') return found;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync('/proc/' + entry + '/environ', 'latin1');
      if (!environ.includes(MARKER)) continue;
      if (!environ.split('\\0').some((v) => v.startsWith(MARKER) && runs.has(v.slice(MARKER.length)))) continue;
      const stat = readFileSync('/proc/' + entry + '/stat', 'utf8');
      if (stat[stat.lastIndexOf(')') + 2] !== 'Z') found.push(Number(entry));
    } catch {}
  }
  return found;
};
const signalMarked = (signal, skip) => {
  const pids = marked();
  for (const pid of pids) {
    if (skip && skip.has(pid)) continue;
    if (skip) skip.add(pid);
    try {
      process.kill(pid, signal);
    } catch {}
  }
  return pids.length;
};
let partial = '';
let reaping = false;
const reap = async () => {
  if (reaping) return;
  reaping = true;
  const termed = new Set();
  let alive = [...groups].filter((pgid) => signalGroup(pgid, 'SIGTERM'));
  let left = signalMarked('SIGTERM', termed);
  const killAt = Date.now() + GRACE_MS;
  while ((alive.length > 0 || left > 0) && Date.now() < killAt) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    alive = alive.filter((pgid) => signalGroup(pgid, 0));
    left = signalMarked('SIGTERM', termed);
  }
  const giveUpAt = Date.now() + KILL_WAIT_MS;
  for (;;) {
    for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
    left = signalMarked('SIGKILL');
    if (left === 0 || Date.now() >= giveUpAt) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\\n');
  partial = lines.pop();
  for (const line of lines) {
    if (line[1] === '=') {
      const run = line.slice(2);
      if (run === '') continue;
      if (line[0] === '+') runs.add(run);
      else if (line[0] === '-') runs.delete(run);
      continue;
    }
    const pgid = Number(line.slice(1));
    // kill(-1) would signal every process we may signal, kill(-0) our own group: only real groups are kept.
    if (!Number.isSafeInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') groups.add(pgid);
    else if (line[0] === '-') groups.delete(pgid);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

/** The hub's side of the watchdog: tells it of each run and process group as the backends start and end them. */
export class Reaper implements ProcessTracker {
  private closing: Promise<void> | undefined;
  private gone = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logger: Logger,
    private readonly onGone: (() => void) | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedWith(`it exited with ${signal ?? `status ${code}`}`);
        resolve();
      });
      child.once('error', (err) => {
        this.exitedWith(err.message);
        resolve();
      });
    });
    // Writing to a watchdog that has died fails with EPIPE; its exit is reported once, above.
    child.stdin?.on('error', () => {});
    // The watchdog must never keep the hub running: neither the process nor its pipe holds the event loop.
    child.unref();
    (child.stdin as Socket | null)?.unref();
  }

  /**
   * Starts the watchdog; if it cannot start, logs a warning and carries on without it. `onGone` is called when it
   * exits without being closed.
   */
  static start(logger: Logger, onGone?: () => void): Reaper {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      // Its own process group (and session): a Ctrl-C to the hub's group does not reach it.
      detached: true,
      // Nothing but stdin: a watchdog that outlives the hub for its grace period must not hold the hub's output open.
      stdio: ['pipe', 'ignore', 'ignore'],
      // Nothing of the hub's environment: its NODE_OPTIONS (an --inspect port, a preloaded tracer) is not for this.
      env: {},
    });
    return new Reaper(child, logger, onGone);
  }

  /** The watchdog's pid, while it runs. */
  get pid(): number | undefined {
    return this.gone ? undefined : this.child.pid;
  }

  /** True once the watchdog has exited (or could not start). */
  get stopped(): boolean {
    return this.gone;
  }

  /** A run's processes are about to start; the watchdog kills those carrying its marker if the hub dies. */
  runStarting(run: string): void {
    this.send(`+=${run}\n`);
  }

  /** Nothing of that run is left: the watchdog forgets its marker. */
  runEnded(run: string): void {
    this.send(`-=${run}\n`);
  }

  /** A process group has started; the watchdog kills it if the hub dies before it ends. */
  started(pgid: number): void {
    this.send(`+${pgid}\n`);
  }

  /** That group has ended (or been killed): the watchdog forgets it. */
  ended(pgid: number): void {
    this.send(`-${pgid}\n`);
  }

  /**
   * Ends the watchdog, once the backends have stopped their groups: it kills whatever is still registered and
   * exits. Resolves when it has exited; the hub's process stays alive until then.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.gone) return;
      this.child.ref();
      this.child.stdin?.end();
      await this.exited;
    })();
    return this.closing;
  }

  private send(line: string): void {
    if (this.gone || this.closing) return;
    this.child.stdin?.write(line);
  }

  private exitedWith(why: string): void {
    if (this.gone) return;
    this.gone = true;
    if (!this.closing) {
      this.logger.warn(
        { pid: this.child.pid },
        `the agent process reaper stopped (${why}); a new one starts with the next run`,
      );
      this.onGone?.();
    }
  }
}

/**
 * A watchdog started on first use: the first run starts it, before anything of that run exists, so a hub whose
 * agents and hook commands never run starts no extra process, and a hub killed at any moment of a run's start
 * leaves nothing behind. One per hub, shared by its workers and its hook runner. A watchdog that died (killed by
 * someone, out of memory) is replaced and told everything still registered: at once while runs are registered
 * (at most once a second, so one that cannot start is not started in a loop), else at the next registration.
 * Once closed, nothing starts it again.
 */
export class LazyReaper implements ProcessTracker {
  private reaper: Reaper | undefined;
  private closed = false;
  private readonly runs = new Set<string>();
  private readonly groups = new Set<number>();
  private startedAt = 0;
  private replacing: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {}

  runStarting(run: string): void {
    this.runs.add(run);
    this.tell((reaper) => reaper.runStarting(run));
  }

  started(pgid: number): void {
    this.groups.add(pgid);
    this.tell((reaper) => reaper.started(pgid));
  }

  ended(pgid: number): void {
    this.groups.delete(pgid);
    this.reaper?.ended(pgid);
  }

  runEnded(run: string): void {
    this.runs.delete(run);
    this.reaper?.runEnded(run);
  }

  /** Ends the watchdog if it was started, once everything that registers groups has stopped (see `Reaper.close`). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.replacing);
    await this.reaper?.close();
  }

  /** Tells the running watchdog; with none yet, or a dead one, starts one and tells it all that is registered. */
  private tell(what: (reaper: Reaper) => void): void {
    if (this.closed) return;
    if (this.reaper && !this.reaper.stopped) {
      what(this.reaper);
      return;
    }
    this.startedAt = Date.now();
    const reaper = Reaper.start(this.logger, () => this.replace());
    this.reaper = reaper;
    for (const run of this.runs) reaper.runStarting(run);
    for (const pgid of this.groups) reaper.started(pgid);
  }

  /** The watchdog died: while anything is registered, another one watches it, without waiting for a new run. */
  private replace(): void {
    if (this.closed || this.replacing || (!this.runs.size && !this.groups.size)) return;
    this.replacing = setTimeout(
      () => {
        this.replacing = undefined;
        if (!this.closed && (this.runs.size || this.groups.size)) this.tell(() => undefined);
      },
      Math.max(0, this.startedAt + 1000 - Date.now()),
    );
    this.replacing.unref();
  }
}
