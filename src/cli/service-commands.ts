/**
 * `claude-comms serve` runs the service in the foreground; `claude-comms poll …` runs it as a daemon and shows
 * what it is doing (the original design's poll commands): start, stop, status, list, show, add, remove. All but
 * start and stop talk to the running service through its HTTP API. The service and daemon modules are loaded
 * by the actions that use them: they bring in the whole server (about 0.3 s of CPU), which `--version` and
 * help need not pay.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HttpClient } from '../client/http.js';
import type { TaskWithLog } from '../client/types.js';
import { normalizeOrigin } from '../config/origins.js';
import { dataHome } from '../config/paths.js';
import { HubError, isHubError } from '../domain/errors.js';
import { isTerminal } from '../domain/status.js';
import type { Message, StatusChange } from '../domain/types.js';
import type { DaemonStart } from '../service/daemon.js';
import { logFile, pidFile, runningService } from '../service/state.js';
import { duration, indent, paintStatus, paletteFor, progressBar, table, usd } from './format.js';
import { printErr, printJsonLine, printOut } from './output.js';

/** `poll status` exits with this when no service runs (as LSB init scripts do). */
const NOT_RUNNING_EXIT = 3;

/** Task log entries `poll show` prints. */
const SHOWN_LOG_ENTRIES = 5;

interface ServiceFlags {
  host: string;
  port: string;
  config?: string;
  interval: string;
  lease: string;
  allowOrigin: string[];
}

/** Registers `serve` and the `poll` commands. */
export function registerServiceCommands(cli: Command): void {
  const database = () => cli.opts<{ database?: string }>().database;

  serviceOptions(
    cli.command('serve').description('run the service (HTTP API, workers, hooks) in the foreground; Ctrl-C stops it'),
  ).action(async (flags: ServiceFlags, command: Command) => {
    const settings = serviceSettings(flags, command, database());
    const { startService } = await import('../service/service.js');
    const service = await startService(settings);
    const modules = await service.hub.modules.list();
    printOut(
      [
        `claude-comms serving at ${service.url}`,
        `  database  ${service.hub.database}`,
        `  config    ${service.config}`,
        `  modules   ${modules.map((m) => m.name).join(', ') || '(none)'}`,
        `  API       ${service.url}/api/v1  (OpenAPI: ${service.url}/api/v1/openapi.json)`,
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    printOut('claude-comms: stopping (running agents are cancelled)…\n');
    await service.close();
    printOut('claude-comms: stopped\n');
  });

  const poll = cli
    .command('poll')
    .description(
      'run the service in the background and see what it is doing: start, stop, status, list, show, add, remove',
    );

  serviceOptions(
    poll
      .command('start')
      .description(
        'start the service as a daemon (pid and log in the data home) and wait until it listens; exits 0 when one already runs',
      ),
  ).action(async (flags: ServiceFlags, command: Command) => {
    const settings = serviceSettings(flags, command, database());
    const { startDaemon } = await import('../service/daemon.js');
    let result: DaemonStart;
    try {
      result = await startDaemon(settings);
    } catch (err) {
      const details = isHubError(err) ? err.details : undefined;
      if (typeof details?.logTail !== 'string') throw err;
      printErr(
        `claude-comms: ${(err as Error).message}; the end of ${String(details.log)}:\n${indent(details.logTail)}\n`,
      );
      process.exitCode = 1;
      return;
    }
    if (!result.started) {
      printOut(
        result.state
          ? `claude-comms is already running (pid ${result.pid}) at ${result.state.url}\n`
          : `claude-comms is already starting (pid ${result.pid})\n`,
      );
      return;
    }
    printOut(
      [
        `claude-comms started (pid ${result.state.pid}) at ${result.state.url}`,
        `  database  ${result.state.database}`,
        `  log       ${logFile()}`,
        '  stop it   claude-comms poll stop',
        '',
      ].join('\n'),
    );
  });

  poll
    .command('stop')
    .description('stop the service gracefully (running agents are cancelled, their replies marked so) and wait for it')
    .option('--timeout <seconds>', 'how long to wait for it to exit', '30')
    .action(async (flags: { timeout: string }, command: Command) => {
      const timeout = Number(flags.timeout);
      if (!(timeout > 0)) command.error(`claude-comms: --timeout must be a number of seconds, got ${flags.timeout}`);
      const state = runningService();
      // Best effort: a stuck service that does not answer is still stopped.
      const running = state ? await new HttpClient(state.url).messagesIn('processing').catch(() => null) : null;
      const { stopDaemon } = await import('../service/daemon.js');
      const result = await stopDaemon({ timeoutMs: timeout * 1000 });
      if (result.pid === undefined) {
        const cleaned = result.removed.length ? ` (removed stale ${result.removed.join(', ')})` : '';
        printOut(`claude-comms is not running${cleaned}\n`);
        return;
      }
      if (!result.stopped) {
        printErr(
          `claude-comms: the service (pid ${result.pid}) did not exit within ${timeout} s; it is still stopping, or stuck (kill -9 ${result.pid} ends it; the next start recovers its work)\n`,
        );
        process.exitCode = 1;
        return;
      }
      const cancelled = running?.length ?? 0;
      printOut(
        `claude-comms stopped (pid ${result.pid}) in ${duration(result.elapsedMs)}${cancelled ? `; ${plural(cancelled, 'running reply', 'running replies')} cancelled` : ''}\n`,
      );
    });

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

  poll
    .command('add <thread-id> <message-id>')
    .description(
      'run a command and/or call a webhook when a reply finishes (complete, failed or cancelled), at least once, even across restarts',
    )
    .option('--on-complete <command>', 'run with /bin/sh -c: the notification as JSON on stdin, $CLAUDE_COMMS_* set')
    .option('--webhook <url>', 'POST the notification there, signed (x-claude-comms-signature) with the secret shown')
    .option('--json', 'the watch as JSON (with the webhook secret)')
    .action(
      async (
        threadId: string,
        messageId: string,
        flags: { onComplete?: string; webhook?: string; json?: boolean },
        command: Command,
      ) => {
        if (flags.onComplete === undefined && flags.webhook === undefined) {
          command.error('claude-comms: give --on-complete <command>, --webhook <url>, or both');
        }
        const client = await serviceClient();
        const watch = await client.addWatch({
          threadId,
          messageId,
          ...(flags.onComplete === undefined ? {} : { command: flags.onComplete }),
          ...(flags.webhook === undefined ? {} : { webhook: flags.webhook }),
        });
        if (flags.json) {
          printJsonLine(watch);
          return;
        }
        const lines = [`watching message ${messageId}: watch ${watch.id}`];
        if (watch.secret) {
          lines.push(`  webhook secret  ${watch.secret}  (shown only now: it signs every notification)`);
        }
        printOut(`${lines.join('\n')}\n`);
      },
    );

  poll
    .command('remove <message-id>')
    .description('stop watching a reply: removes every live watch of the message')
    .action(async (messageId: string) => {
      const watches = await (await serviceClient()).removeWatches(messageId);
      printOut(
        watches.length
          ? `removed ${plural(watches.length, 'watch', 'watches')} of message ${messageId}\n`
          : `message ${messageId} has no live watches (a watch ends by itself once its reply has finished)\n`,
      );
    });
}

/** The options `serve` and `poll start` share. */
function serviceOptions(command: Command): Command {
  return command
    .option('--host <address>', 'address to listen on; any but loopback requires API tokens', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '7420')
    .option('--config <file>', 'module configuration (default: config.yaml in the data home, else the bundled example)')
    .option('--interval <seconds>', 'backstop check for changes by other processes; changes still arrive at once', '1')
    .option('--lease <seconds>', 'how long a reply claimed by a service that died waits before it is retried', '30')
    .option(
      '--allow-origin <origin>',
      "let web pages of this origin (http://host:port) use the API besides the service's own; repeatable (default: $CLAUDE_COMMS_ALLOWED_ORIGINS, comma-separated)",
      (value: string, list: string[]) => [...list, value],
      [] as string[],
    );
}

/** The checked settings of `serviceOptions`; a wrong value ends the command with exit status 2. */
function serviceSettings(flags: ServiceFlags, command: Command, database: string | undefined) {
  const port = Number(flags.port);
  const interval = Number(flags.interval);
  const lease = Number(flags.lease);
  const fail = (text: string) => command.error(`claude-comms: ${text}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be a port number (0-65535), got ${flags.port}`);
  if (!(interval >= 0.05 && interval <= 3600))
    fail(`--interval must be between 0.05 and 3600 seconds, got ${flags.interval}`);
  if (!(lease >= 1 && lease <= 3600)) fail(`--lease must be between 1 and 3600 seconds, got ${flags.lease}`);
  const allowedOrigins: string[] = [];
  for (const origin of flags.allowOrigin) {
    try {
      allowedOrigins.push(normalizeOrigin(origin));
    } catch (err) {
      fail(`--allow-origin: ${(err as Error).message}`);
    }
  }
  return {
    host: flags.host,
    port,
    ...(flags.config ? { config: flags.config } : {}),
    intervalSeconds: interval,
    leaseSeconds: lease,
    ...(allowedOrigins.length ? { allowedOrigins } : {}),
    ...(database ? { database } : {}),
  };
}

/** The running service's API; `unavailable`, saying how to start one, when none runs. */
async function serviceClient(): Promise<HttpClient> {
  const state = runningService();
  if (!state) {
    throw new HubError(
      'unavailable',
      `no claude-comms service is running for ${dataHome()}; start one with: claude-comms poll start`,
    );
  }
  return new HttpClient(state.url);
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

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
