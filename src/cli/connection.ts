/**
 * How a command reaches the hub, said on stderr before it starts: the client chosen by src/client/connect.ts,
 * with a config.yaml it cannot use reported as a warning (src/cli/config-warning.ts) rather than failing; and
 * the running service's API for the `poll` commands, which need one.
 */
import { homedir } from 'node:os';
import { type ConnectOptions, connect, openTokens, type TokenAccess } from '../client/connect.js';
import { HttpClient } from '../client/http.js';
import type { CommsClient, Connection } from '../client/types.js';
import { dataHome } from '../config/paths.js';
import { HubError } from '../domain/errors.js';
import { runningService } from '../service/state.js';
import { warnOfConfig, warnOfConfigChange } from './config-warning.js';
import { printErr } from './output.js';

/** A command reads on through a config.yaml it cannot use, after one warning; and says what the file should change. */
const CLI_CONNECT: ConnectOptions = {
  onConfigError: warnOfConfig,
  onConfigWarning: warnOfConfigChange,
};

/** The client for `database` (the program's `--database`), once the way it is connected is said on stderr. */
export async function connectSaying(database: string | undefined): Promise<CommsClient> {
  const client = await connect(database, CLI_CONNECT);
  printErr(`claude-comms: ${describeConnection(client.connection)}\n`);
  return client;
}

/** The token store of `database`, once the database it is in is said on stderr. */
export async function openTokensSaying(database: string | undefined): Promise<TokenAccess> {
  const opened = await openTokens(database, CLI_CONNECT);
  printErr(`claude-comms: ${describeConnection(opened.connection)}\n`);
  return opened;
}

/** One line saying which way the command reaches the hub. */
export function describeConnection(c: Connection): string {
  if (c.kind === 'service') return `using the service at ${c.url}`;
  const where = `the database ${tilde(c.database)}`;
  switch (c.why) {
    case 'none':
      return `no service running; using ${where} directly`;
    case 'silent':
      return `the service at ${c.serviceUrl} does not answer; using ${where} directly`;
    case 'other-database':
      return `using ${where} directly (the service at ${c.serviceUrl} serves another database)`;
    case 'tokens':
      return `tokens are managed in the database; using ${where} directly`;
  }
}

/** `~/…` for paths in the home directory. */
function tilde(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** The running service's API; `unavailable`, saying how to start one, when none runs. */
export async function serviceClient(): Promise<HttpClient> {
  const state = runningService();
  if (!state) {
    throw new HubError(
      'unavailable',
      `no claude-comms service is running for ${dataHome()}; start one with: claude-comms poll start`,
    );
  }
  return new HttpClient(state.url);
}
