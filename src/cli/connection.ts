/**
 * How a command reaches the hub, said on stderr before it starts: the client chosen by src/client/connect.ts,
 * with a config.yaml it cannot use reported as a warning (src/cli/config-warning.ts) rather than failing.
 */
import { homedir } from 'node:os';
import { type ConnectOptions, connect, openTokens, type TokenAccess } from '../client/connect.js';
import type { CommsClient, Connection } from '../client/types.js';
import { warnOfConfig } from './config-warning.js';
import { printErr } from './output.js';

/** A command reads on through a config.yaml it cannot use, after one warning. */
const CLI_CONNECT: ConnectOptions = { onConfigError: warnOfConfig };

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
