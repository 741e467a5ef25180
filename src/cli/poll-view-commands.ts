/**
 * `claude-comms poll status`, `list` and `show`: what the running service is doing — its health, modules and
 * queue, the active replies, and one reply with its history, content so far and task. They talk to the service
 * through its HTTP API, and say how to start one when none runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HttpClient } from '../client/http.js';
import type { TaskWithLog } from '../client/types.js';
import { dataHome } from '../config/paths.js';
import { isTerminal } from '../domain/status.js';
import type { Message, StatusChange } from '../domain/types.js';
import { logFile, pidFile, runningService } from '../service/state.js';
import { serviceClient } from './connection.js';
import { duration, indent, paintStatus, paletteFor, plural, progressBar, table, usd } from './format.js';
import { printJsonLine, printOut } from './output.js';

/** `poll status` exits with this when no service runs (as LSB init scripts do). */
const NOT_RUNNING_EXIT = 3;

/** Task log entries `poll show` prints. */
const SHOWN_LOG_ENTRIES = 5;

/** Registers `poll status`, `poll list` and `poll show` on the `poll` group. */
export function registerPollViewCommands(poll: Command): void {
  poll
    .command('status')
    .description(
      `whether the service runs, and what it is doing (exit status ${NOT_RUNNING_EXIT} when it does not run)`,
    )
    .option('--json', 'one JSON object')
    .action(async (flags: { json?: boolean }) => {
      const state = runningService();
      if (!state) {
        printOut(
          flags.json ? `${JSON.stringify({ running: false })}\n` : `claude-comms is not running (${dataHome()})\n`,
        );
        process.exitCode = NOT_RUNNING_EXIT;
        return;
      }
      const client = new HttpClient(state.url);
      const [health, modules, instances, processing, pending, watches] = await Promise.all([
        client.health(),
        client.modules(),
        client.instances(),
        client.messagesIn('processing'),
        client.messagesIn('pending'),
        client.watches(),
      ]);
      const count = (s: string) => instances.filter((i) => i.state === s).length;
      const summary = {
        running: true,
        pid: state.pid,
        url: state.url,
        uptimeMs: health.uptimeMs ?? Date.now() - Date.parse(state.startedAt),
        version: health.version ?? state.version,
        database: health.database,
        storage: health.storage ?? { status: 'ok' },
        config: health.config ?? state.config,
        log: daemonLog(state.pid),
        modules,
        instances: { busy: count('busy'), idle: count('idle'), paused: count('paused') },
        messages: { processing: processing.length, pending: pending.length },
        watches: watches.length,
      };
      if (flags.json) {
        printJsonLine(summary);
        return;
      }
      const p = paletteFor(process.stdout);
      const moduleLines = modules.map((m) => {
        const flagsShown = [
          m.health === 'unhealthy' ? p.red('unhealthy') : 'healthy',
          m.paused ? p.yellow('paused') : '',
          m.removedAt ? p.yellow(`removed from config.yaml on ${m.removedAt}`) : '',
        ]
          .filter(Boolean)
          .join(', ');
        const { busy, idle } = m.instances;
        return `${p.bold(m.name)}  ${flagsShown}; ${busy} busy, ${idle} idle of ${m.concurrency}${m.healthError ? `  ${p.dim(m.healthError)}` : ''}`;
      });
      const { storage } = summary;
      const storageLine =
        storage.status === 'ok'
          ? 'ok'
          : `${p.red(storage.code === 'storage_full' ? 'full' : 'cannot store')} for ${duration(Date.now() - Date.parse(storage.since ?? ''))}: ${storage.detail}`;
      printOut(
        [
          `claude-comms is running (pid ${summary.pid}, up ${duration(summary.uptimeMs)})`,
          `  URL        ${summary.url}`,
          `  database   ${summary.database}`,
          `  storage    ${storageLine}`,
          `  config     ${summary.config}`,
          `  log        ${summary.log ?? 'none: a foreground serve logs to its terminal'}`,
          `  modules    ${moduleLines.join('\n             ') || '(none)'}`,
          `  instances  ${summary.instances.busy} busy, ${summary.instances.idle} idle, ${summary.instances.paused} paused`,
          `  messages   ${summary.messages.processing} processing, ${summary.messages.pending} pending`,
          `  watches    ${summary.watches}`,
          '',
        ].join('\n'),
      );
    });

  poll
    .command('list')
    .description('the active replies (processing, then pending), oldest first')
    .option('--json', 'a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const client = await serviceClient();
      const [processing, pending] = await Promise.all([client.messagesIn('processing'), client.messagesIn('pending')]);
      const now = Date.now();
      const active = [...processing.reverse(), ...pending.reverse()].map((m) => ({
        id: m.id,
        threadId: m.threadId,
        module: m.author,
        status: m.status,
        createdAt: m.createdAt,
        ageMs: now - Date.parse(m.createdAt),
        contentLength: [...m.content].length,
      }));
      if (flags.json) {
        printJsonLine(active);
        return;
      }
      if (active.length === 0) {
        printOut('no active replies\n');
        return;
      }
      const p = paletteFor(process.stdout);
      printOut(
        table(
          ['MESSAGE', 'THREAD', 'MODULE', 'STATUS', 'AGE', 'LENGTH'],
          active.map((m) => [
            m.id,
            m.threadId,
            m.module,
            paintStatus(m.status, p),
            duration(m.ageMs),
            String(m.contentLength),
          ]),
        ),
      );
    });

  poll
    .command('show <message-id>')
    .description('a reply: its status, history with times, content so far, task progress and cost')
    .option('--json', 'one JSON object: message, history, task')
    .action(async (messageId: string, flags: { json?: boolean }) => {
      const client = await serviceClient();
      const [message, history] = await Promise.all([client.message(messageId), client.history(messageId)]);
      const task = message.taskId ? await client.taskWithLog(message.taskId) : null;
      if (flags.json) {
        printJsonLine({ message, history, task });
        return;
      }
      printOut(describeReply(message, history, task));
    });
}

/**
 * The log file of the service `pid` when it is the daemon (`service.pid` names it) and the file is there; a
 * foreground `serve` writes to its terminal, and an older daemon's log would say nothing of it.
 */
function daemonLog(pid: number): string | null {
  try {
    const daemon = Number(readFileSync(pidFile(), 'utf8').trim()) === pid;
    return daemon && existsSync(logFile()) ? logFile() : null;
  } catch {
    return null;
  }
}

/** `poll show` as text. */
function describeReply(message: Message, history: StatusChange[], task: TaskWithLog | null): string {
  const p = paletteFor(process.stdout);
  const since = history.at(-1)?.at ?? message.updatedAt;
  const lines = [
    `${p.bold(`message ${message.id}`)}  ${message.role} by ${message.author} in thread ${message.threadId}`,
    `  status    ${paintStatus(message.status, p)} (for ${duration(Date.now() - Date.parse(since))})${message.error ? `  ${p.red(message.error)}` : ''}`,
    '  history',
  ];
  const first = Date.parse(history[0]?.at ?? message.createdAt);
  for (const h of history) {
    const offset = `+${duration(Date.parse(h.at) - first)}`.padEnd(10);
    lines.push(`    ${h.at}  ${offset}${h.status}${h.reason ? `  ${p.dim(h.reason)}` : ''}`);
  }
  if (task) {
    const iterations = task.maxIterations === null ? `${task.iteration}` : `${task.iteration}/${task.maxIterations}`;
    const cost = `${usd(task.costUsd)}${task.maxCostUsd === null ? '' : ` of ${usd(task.maxCostUsd)}`}`;
    lines.push(
      `  task      ${task.id}  ${paintStatus(task.status, p)}`,
      `  progress  ${progressBar(task.progress)}  iteration ${iterations}`,
      `  cost      ${cost}  (${task.tokensIn} tokens in, ${task.tokensOut} out)`,
    );
    if (task.criteria.length) {
      const verified = task.criteria.filter((c) => c.verified).length;
      lines.push(`  criteria  ${verified}/${task.criteria.length} verified`);
      for (const c of task.criteria) lines.push(`    [${c.verified ? 'x' : ' '}] ${c.text}`);
    }
    if (task.filesCreated.length) lines.push(`  created   ${task.filesCreated.join(', ')}`);
    if (task.filesModified.length) lines.push(`  modified  ${task.filesModified.join(', ')}`);
    for (const entry of task.log.slice(-SHOWN_LOG_ENTRIES)) {
      lines.push(`  log       ${entry.at}  ${entry.level ?? 'info'}  ${entry.text ?? ''}`);
    }
  }
  const length = [...message.content].length;
  lines.push(`content (${plural(length, 'character', 'characters')}${isTerminal(message.status) ? '' : ' so far'}):`);
  return `${lines.join('\n')}\n${message.content ? `${indent(message.content)}\n` : ''}`;
}
