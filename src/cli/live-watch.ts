/**
 * Watching a reply or a task until it finishes (the original design's poll_message_until_complete with
 * print_progress), on the terminal or as JSON lines: the answer streams to stdout; statuses, the task's log and
 * a progress line go to stderr. Ends with the exit code the commands use.
 */

import type { CommsClient, LiveFeed } from '../client/types.js';
import { HubError, isHubError } from '../domain/errors.js';
import type { Status } from '../domain/status.js';
import type { HubEvent, Message, Task } from '../domain/types.js';
import { CLEAR_LINE, duration, type Palette, paintStatus, paletteFor, progressBar, usd } from './format.js';
import { followModule, type ModuleCondition } from './module-watch.js';
import { printErr, printJsonLine, printOut } from './output.js';
import { type WatchChange, WatchedWork } from './watch-state.js';

/** Exit codes of `ask --wait` and `watch`. */
export const EXIT = { complete: 0, failed: 1, timeout: 2, interrupted: 130 } as const;

/** How a watch ended. */
export type Outcome = Status | 'timeout' | 'interrupted';

/** What to watch: a reply (with its task, if any) or a task of its own. */
export type WatchTarget = { messageId: string } | { taskId: string };

/** Options of `watchUntilFinished`. */
export interface WatchOptions {
  json: boolean;
  /** Stop waiting after this many seconds (exit 2); the work goes on. */
  timeoutSeconds?: number;
  /** On Ctrl-C, cancel the reply (or task) instead of only stopping to watch. */
  cancelOnInterrupt: boolean;
  /** Said on stderr before waiting on unfinished work (human output only). */
  hint?: string;
}

/** Finds what an id names, a message first, then a task; `not_found` naming both when neither. */
export async function resolveTarget(client: CommsClient, id: string): Promise<WatchTarget> {
  const missing = (err: unknown) => isHubError(err, 'not_found');
  const message = await client.message(id).catch((err: unknown) => {
    if (missing(err)) return undefined;
    throw err;
  });
  if (message) return { messageId: message.id };
  const task = await client.task(id).catch((err: unknown) => {
    if (missing(err)) throw new HubError('not_found', `no message or task with id ${id}`);
    throw err;
  });
  return task.messageId ? { messageId: task.messageId } : { taskId: task.id };
}

/**
 * Follows `target` until it finishes, times out or Ctrl-C stops it; answers the exit code. Subscribes first,
 * then reads the snapshot, so no change falls between the two (see WatchedWork).
 */
export async function watchUntilFinished(
  client: CommsClient,
  target: WatchTarget,
  options: WatchOptions,
): Promise<number> {
  const view = options.json ? new JsonView() : new TerminalView();
  let state: WatchedWork | undefined;
  // Events that arrive before the snapshot is read, applied to it once it is.
  const early: HubEvent[] = [];
  let finish!: () => void;
  const finished = new Promise<'finished'>((resolve) => {
    finish = () => resolve('finished');
  });
  const feed: LiveFeed = await client.follow(
    'messageId' in target ? { messageId: target.messageId } : { taskId: target.taskId },
    (event) => {
      if (!state) {
        early.push(event);
        return;
      }
      const change = state.apply(event);
      if (change) view.change(change, state);
      if (state.finished) finish();
    },
    (text) => view.notice(text),
  );
  let moduleFeed: LiveFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onInterrupt: (() => void) | undefined;
  try {
    // Listening before anything is shown: a Ctrl-C as soon as "watching" appears is an interruption, not a kill.
    const interrupted = new Promise<'interrupted'>((resolve) => {
      onInterrupt = () => resolve('interrupted');
      process.once('SIGINT', onInterrupt);
    });
    const message = 'messageId' in target ? await client.message(target.messageId) : undefined;
    const taskId = message ? message.taskId : 'taskId' in target ? target.taskId : null;
    const task = taskId ? await client.task(taskId) : undefined;
    const watched = new WatchedWork(message, task);
    state = watched;
    view.start(state);
    for (const event of early) {
      const change = state.apply(event);
      if (change) view.change(change, state);
    }
    if (state.finished) finish();
    else if (options.hint) view.notice(options.hint);
    const reply = state.message?.role === 'assistant' ? state.message : undefined;
    if (reply && !state.finished) {
      moduleFeed = await followModule(client, reply.author, () => watched.status ?? 'pending', view.module.bind(view));
    }

    const timedOut =
      options.timeoutSeconds === undefined
        ? new Promise<never>(() => undefined)
        : new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), (options.timeoutSeconds ?? 0) * 1000);
          });
    const how = await Promise.race([finished, timedOut, interrupted, feed.failed]);
    feed.close();
    moduleFeed?.close();
    if (how === 'finished') {
      // The stored records, for the final line and `--json`: the events carry changes, not every field.
      const final = new WatchedWork(
        watched.message && (await client.message(watched.message.id)),
        watched.task && (await client.task(watched.task.id)),
      );
      const status = final.status as Status;
      view.end(status, final);
      return status === 'complete' ? EXIT.complete : EXIT.failed;
    }
    if (how === 'interrupted' && options.cancelOnInterrupt) await cancel(client, watched);
    view.end(how, watched, options.timeoutSeconds);
    return how === 'timeout' ? EXIT.timeout : EXIT.interrupted;
  } finally {
    feed.close();
    moduleFeed?.close();
    clearTimeout(timer);
    if (onInterrupt) process.removeListener('SIGINT', onInterrupt);
    view.close();
  }
}

/** Cancels the reply (or the task alone); one that finished meanwhile is left as it is. */
async function cancel(client: CommsClient, work: WatchedWork): Promise<void> {
  const reason = 'cancelled from the command line (Ctrl-C)';
  try {
    if (work.message) work.message = await client.cancel(work.message.id, reason);
    else if (work.task) work.task = await client.updateTask(work.task.id, { status: 'cancelled', reason });
  } catch (err) {
    if (!isHubError(err, 'invalid_transition')) throw err;
  }
}

/** Where a watch shows what happens. */
interface View {
  start(state: WatchedWork): void;
  change(change: WatchChange, state: WatchedWork): void;
  notice(text: string): void;
  /** The module to answer is unhealthy or paused, or ready again: `notice` says so and what it means. */
  module(notice: string, condition: ModuleCondition): void;
  end(outcome: Outcome, state: WatchedWork, timeoutSeconds?: number): void;
  close(): void;
}

/** JSON lines on stdout: the snapshot, each event that changed something, then the result. */
class JsonView implements View {
  start(state: WatchedWork): void {
    this.line({ type: 'snapshot', message: state.message ?? null, task: state.task ?? null });
  }

  change(change: WatchChange): void {
    this.line(change.event);
  }

  notice(text: string): void {
    printErr(`claude-comms: ${text}\n`);
  }

  module(notice: string, condition: ModuleCondition): void {
    printErr(`claude-comms: ${notice}\n`);
    const { name, ...rest } = condition;
    this.line({ type: 'module', module: name, ...rest, notice });
  }

  end(outcome: Outcome, state: WatchedWork): void {
    this.line({ type: 'result', status: outcome, message: state.message ?? null, task: state.task ?? null });
  }

  close(): void {}

  private line(value: unknown): void {
    printJsonLine(value);
  }
}

/**
 * The answer on stdout as it streams; on stderr, status changes and log lines, and a progress line that is
 * redrawn in place on a terminal (one line per change otherwise). When stdout and stderr share a terminal,
 * stderr waits for the answer to reach the end of a line, so the two never cut into each other.
 */
class TerminalView implements View {
  private readonly outIsTTY = Boolean(process.stdout.isTTY);
  private readonly errIsTTY = Boolean(process.stderr.isTTY);
  private readonly p: Palette = paletteFor(process.stderr);
  private readonly shared = this.outIsTTY && this.errIsTTY;
  private midLine = false;
  private barShown = false;
  private lastBar = '';
  private queued: string[] = [];

  start(state: WatchedWork): void {
    const { message, task } = state;
    if (message) {
      this.line(`watching reply ${message.id} from ${message.author}: ${paintStatus(message.status, this.p)}`);
    } else if (task) {
      this.line(`watching task ${task.id} (${task.name}): ${paintStatus(task.status, this.p)}`);
    }
    if (message?.content) this.content(message.content);
    this.bar(state);
  }

  change(change: WatchChange, state: WatchedWork): void {
    switch (change.kind) {
      case 'content':
        this.content(change.text);
        break;
      case 'reset':
        // What is on stdout cannot be taken back: the new answer starts on a line of its own, after a notice.
        if (this.midLine) printOut('\n');
        this.midLine = false;
        if (!change.repair)
          this.line(this.p.yellow('the run was lost; its answer so far is discarded and the reply starts again'));
        break;
      case 'validated': {
        if (this.midLine) printOut('\n');
        this.midLine = false;
        const what = change.round === 0 ? 'the answer' : `repair round ${change.round}`;
        const issues = `${change.issueCount} issue${change.issueCount === 1 ? '' : 's'}`;
        this.line(
          change.valid
            ? this.p.green(`${what} satisfies the schema`)
            : this.p.yellow(
                `${what} does not satisfy the schema (${issues})${change.repairing ? `: asking again, with the issues (repair round ${change.round + 1})` : ''}`,
              ),
        );
        break;
      }
      case 'status':
        // For a reply, its own status is the news; its task's moves with it.
        if (change.of === 'message' || !state.message) {
          const reason = change.reason ? this.p.dim(` (${change.reason})`) : '';
          this.line(`${paintStatus(change.from, this.p)} → ${paintStatus(change.to, this.p)}${reason}`);
        }
        break;
      case 'criterion':
        this.line(`${this.p.green('✓')} criterion met: ${change.text} (${change.verified}/${change.total})`);
        break;
      case 'log': {
        const what = [change.action, change.target].filter(Boolean).join(' ');
        const text = `· ${what ? `${what}: ` : ''}${change.text}`;
        this.line(
          change.level === 'error'
            ? this.p.red(text)
            : change.level === 'warn'
              ? this.p.yellow(text)
              : this.p.dim(text),
        );
        break;
      }
      case 'progress':
        break;
    }
    this.bar(state);
  }

  notice(text: string): void {
    this.line(this.p.dim(text));
  }

  module(notice: string, condition: ModuleCondition): void {
    this.line(condition.health === 'unhealthy' || condition.paused ? this.p.yellow(notice) : notice);
  }

  end(outcome: Outcome, state: WatchedWork, timeoutSeconds?: number): void {
    if (this.midLine && this.outIsTTY) printOut('\n');
    this.midLine = false;
    this.flush();
    this.clearBar();
    const record = state.message ?? state.task;
    const what = state.message ? 'the reply' : 'the task';
    const id = record?.id ?? '';
    const facts = this.facts(state.task);
    switch (outcome) {
      case 'complete': {
        const took =
          record?.startedAt && record.completedAt
            ? ` in ${duration(Date.parse(record.completedAt) - Date.parse(record.startedAt))}`
            : '';
        printErr(`${this.p.green('complete')}${took}${facts}\n`);
        break;
      }
      case 'failed':
        printErr(`${this.p.red('failed')}: ${record?.error ?? 'no reason given'}${facts}\n`);
        break;
      case 'cancelled':
        printErr(`${this.p.yellow('cancelled')}${record?.error ? `: ${record.error}` : ''}${facts}\n`);
        break;
      case 'timeout':
        printErr(
          `${this.p.yellow('timed out')} after ${timeoutSeconds} s; ${what} is still ${state.status} (follow it: claude-comms watch ${id})\n`,
        );
        break;
      case 'interrupted':
        printErr(
          state.status === 'cancelled'
            ? `interrupted; ${what} was cancelled\n`
            : `interrupted; ${what} is still ${state.status} (follow it: claude-comms watch ${id})\n`,
        );
        break;
      default:
        printErr(`${outcome}\n`);
    }
  }

  close(): void {
    this.clearBar();
  }

  private facts(task: Task | undefined): string {
    if (!task) return '';
    return this.p.dim(` · iteration ${task.iteration} · ${usd(task.costUsd)}`);
  }

  private content(text: string): void {
    this.clearBar();
    printOut(text);
    this.midLine = !text.endsWith('\n');
    if (this.midLine) return;
    this.flush();
    this.drawBar();
  }

  /** A line on stderr, above the progress line. */
  private line(text: string): void {
    if (this.shared && this.midLine) {
      this.queued.push(text);
      return;
    }
    this.clearBar();
    printErr(`${text}\n`);
    this.drawBar();
  }

  /** Writes the lines held while the answer was mid-line. */
  private flush(): void {
    if (!this.queued.length) return;
    this.clearBar();
    for (const text of this.queued.splice(0)) printErr(`${text}\n`);
  }

  private bar(state: WatchedWork): void {
    const text = barText(state.message, state.task, this.p, this.errIsTTY);
    if (text === this.lastBar) return;
    this.lastBar = text;
    if (!this.errIsTTY) {
      if (text) printErr(`${text}\n`);
      return;
    }
    this.clearBar();
    this.drawBar();
  }

  private drawBar(): void {
    if (!this.errIsTTY || !this.lastBar || (this.shared && this.midLine)) return;
    printErr(this.lastBar);
    this.barShown = true;
  }

  private clearBar(): void {
    if (!this.barShown) return;
    printErr(CLEAR_LINE);
    this.barShown = false;
  }
}

/** `[████░░░░] 40%  iteration 2  $0.0123  1,234 chars`; the length only where the line is redrawn in place. */
function barText(message: Message | undefined, task: Task | undefined, p: Palette, withLength: boolean): string {
  if (!task) return '';
  const parts = [progressBar(task.progress), `iteration ${task.iteration}`, usd(task.costUsd)];
  if (message && withLength) parts.push(`${[...message.content].length.toLocaleString('en-US')} chars`);
  return p.dim(parts.join('  '));
}
