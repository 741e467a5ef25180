/**
 * The reaper: a small watchdog process that kills the agents' process groups when the hub's process dies, however
 * it dies. Agents run in process groups of their own, so that cancelling one kills everything it started; the
 * same separation means nothing kills them when the hub is SIGKILLed or crashes: they would run on as orphans.
 * The watchdog learns of every group through a pipe on its stdin. The kernel closes that pipe whenever the hub's
 * process ends, SIGKILL included, and the watchdog then terminates the groups still registered and exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ProcessTracker } from '../agents/types.js';

/**
 * The watchdog's program, run with `node -e` so that it needs no file beside the compiled code. Protocol on its
 * stdin: `+<pgid>\n` registers a group, `-<pgid>\n` forgets it. At end of input: SIGTERM to every registered group,
 * up to 2 s for them to go (the agents' own grace period, see command-backend.ts), SIGKILL to the rest, exit.
 * A group of zombies still answers `kill(-pgid, 0)` until its new parent reaps it; the cost is only that the
 * watchdog lingers for the grace period. Signals a terminal or a service manager sends to everything are ignored:
 * the watchdog must outlive the hub, and it ends by itself once the hub has.
 */
const REAPER_SOURCE = `
const GRACE_MS = 2000;
const POLL_MS = 50;
const groups = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
let partial = '';
let reaping = false;
const reap = async () => {
  if (reaping) return;
  reaping = true;
  let alive = [...groups].filter((pgid) => signalGroup(pgid, 'SIGTERM'));
  const killAt = Date.now() + GRACE_MS;
  while (alive.length > 0 && Date.now() < killAt) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    alive = alive.filter((pgid) => signalGroup(pgid, 0));
  }
  for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\\n');
  partial = lines.pop();
  for (const line of lines) {
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

/** The hub's side of the watchdog: tells it of each agent process group as the backends start and end them. */
export class Reaper implements ProcessTracker {
  private closing: Promise<void> | undefined;
  private gone = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logger: Logger,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.stopped(`it exited with ${signal ?? `status ${code}`}`);
        resolve();
      });
      child.once('error', (err) => {
        this.stopped(err.message);
        resolve();
      });
    });
    // Writing to a watchdog that has died fails with EPIPE; its exit is reported once, above.
    child.stdin?.on('error', () => {});
    // The watchdog must never keep the hub running: neither the process nor its pipe holds the event loop.
    child.unref();
    (child.stdin as Socket | null)?.unref();
  }

  /** Starts the watchdog; if it cannot start, logs a warning and carries on without it. */
  static start(logger: Logger): Reaper {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE], {
      // Its own process group (and session): a Ctrl-C to the hub's group does not reach it.
      detached: true,
      // Nothing but stdin: a watchdog that outlives the hub for its grace period must not hold the hub's output open.
      stdio: ['pipe', 'ignore', 'ignore'],
      // Nothing of the hub's environment: its NODE_OPTIONS (an --inspect port, a preloaded tracer) is not for this.
      env: {},
    });
    return new Reaper(child, logger);
  }

  /** The watchdog's pid, while it runs. */
  get pid(): number | undefined {
    return this.gone ? undefined : this.child.pid;
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

  private stopped(why: string): void {
    if (this.gone) return;
    this.gone = true;
    if (!this.closing) {
      this.logger.warn(
        { pid: this.child.pid },
        `the agent process reaper stopped (${why}): agents will outlive this process if it is killed`,
      );
    }
  }
}

/**
 * A watchdog started on first use: the first process group registered starts it (before registering the group),
 * so a hub whose agents and hook commands never run starts no extra process. One per hub, shared by its workers
 * and its hook runner; once closed, nothing starts it again.
 */
export class LazyReaper implements ProcessTracker {
  private reaper: Reaper | undefined;
  private closed = false;

  constructor(private readonly logger: Logger) {}

  started(pgid: number): void {
    if (this.closed) return;
    this.reaper ??= Reaper.start(this.logger);
    this.reaper.started(pgid);
  }

  ended(pgid: number): void {
    this.reaper?.ended(pgid);
  }

  /** Ends the watchdog if it was started, once everything that registers groups has stopped (see `Reaper.close`). */
  async close(): Promise<void> {
    this.closed = true;
    await this.reaper?.close();
  }
}
