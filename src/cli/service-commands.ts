/**
 * `claude-comms serve` runs the service in the foreground; `claude-comms poll …` runs it as a daemon and shows
 * what it is doing (the original design's poll commands): start and stop here, status, list and show in
 * poll-view-commands.ts, add and remove in poll-watch-commands.ts. The service and daemon modules are loaded by
 * the actions that use them: they bring in the whole server (about 0.3 s of CPU), which `--version` and help
 * need not pay.
 */
import type { Command } from 'commander';
import { HttpClient } from '../client/http.js';
import { normalizeOrigin } from '../config/origins.js';
import { isHubError } from '../domain/errors.js';
import type { DaemonStart } from '../service/daemon.js';
import { logFile, runningService } from '../service/state.js';
import { duration, indent, plural } from './format.js';
import { printErr, printOut, whenStdoutCloses } from './output.js';
import { registerPollViewCommands } from './poll-view-commands.js';
import { registerPollWatchCommands } from './poll-watch-commands.js';

interface ServiceFlags {
  cancelRunning?: boolean;
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
  )
    .option(
      '--cancel-running',
      'on stop, cancel the replies being answered (default: hand them back, to run again when the service is back)',
    )
    .action(async (flags: ServiceFlags, command: Command) => {
      const settings = serviceSettings(flags, command, database());
      const { startService } = await import('../service/service.js');
      const service = await startService(settings);
      // Listened for before anything is printed: whoever waits for the banner may send Ctrl-C at once.
      // SIGUSR2 is how `poll stop --cancel-running` asks for a stop that cancels the running replies.
      const stop = new Promise<{ cancelRunning: boolean }>((resolve) => {
        const graceful = () => resolve({ cancelRunning: flags.cancelRunning === true });
        process.once('SIGINT', graceful);
        process.once('SIGTERM', graceful);
        process.once('SIGUSR2', () => resolve({ cancelRunning: true }));
        // Whoever read its output went away (`serve | head`): it stops in order, as on Ctrl-C.
        whenStdoutCloses(graceful);
      });
      for (const notice of service.notices) printErr(`claude-comms: ${notice}\n`);
      const modules = await service.hub.modules.list();
      const served = modules.filter((m) => !m.removedAt).map((m) => m.name);
      const removed = modules.filter((m) => m.removedAt).map((m) => m.name);
      printOut(
        [
          `claude-comms serving at ${service.url}`,
          `  database  ${service.hub.database}`,
          `  config    ${service.config}`,
          `  modules   ${served.join(', ') || '(none)'}`,
          ...(removed.length
            ? [`  removed   ${removed.join(', ')} (not in the config; add them back to serve them)`]
            : []),
          `  API       ${service.url}/api/v1  (OpenAPI: ${service.url}/api/v1/openapi.json)`,
          '',
        ].join('\n'),
      );
      const { cancelRunning } = await stop;
      printOut(
        cancelRunning
          ? 'claude-comms: stopping (running agents are cancelled)…\n'
          : 'claude-comms: stopping (running agents are stopped; their replies are handed back)…\n',
      );
      const { handedBack } = await service.close({ cancelRunning });
      printOut(
        handedBack.length
          ? `claude-comms: stopped; handed back ${plural(handedBack.length, 'running reply', 'running replies')}, to run again when the service is back: ${handedBack.join(', ')}\n`
          : 'claude-comms: stopped\n',
      );
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
    .description(
      'stop the service gracefully and wait for it: running agents are stopped and their replies handed back, to run again when the service is back',
    )
    .option('--timeout <seconds>', 'how long to wait for it to exit', '30')
    .option('--cancel-running', 'cancel the replies being answered instead of handing them back')
    .action(async (flags: { timeout: string; cancelRunning?: boolean }, command: Command) => {
      const timeout = Number(flags.timeout);
      if (!(timeout > 0)) command.error(`claude-comms: --timeout must be a number of seconds, got ${flags.timeout}`);
      const state = runningService();
      // Best effort: a stuck service that does not answer is still stopped.
      const running = state ? await new HttpClient(state.url).messagesIn('processing').catch(() => null) : null;
      const { stopDaemon } = await import('../service/daemon.js');
      const result = await stopDaemon({
        timeoutMs: timeout * 1000,
        ...(flags.cancelRunning ? { signal: 'SIGUSR2' as const } : {}),
      });
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
      const stopped = running?.length ?? 0;
      const what = flags.cancelRunning ? 'cancelled' : 'handed back, to run again when the service is back';
      printOut(
        `claude-comms stopped (pid ${result.pid}) in ${duration(result.elapsedMs)}${stopped ? `; ${plural(stopped, 'running reply', 'running replies')} ${what}` : ''}\n`,
      );
    });

  registerPollViewCommands(poll);
  registerPollWatchCommands(poll);
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
