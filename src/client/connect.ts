/**
 * Choosing how to reach the hub: through the running service's HTTP API when there is one (found by
 * `service.json` in the data home), else by opening the database itself. Both ways offer the same operations;
 * the client's `connection` says which way was taken, and why.
 */
import { resolve } from 'node:path';
import { runningService } from '../service/state.js';
import { isPostgresUrl, maskPassword, sqlitePath } from '../store/location.js';
import type { TokenStore } from '../store/tokens.js';
import { type ConfigListeners, openDirect } from './direct.js';
import { HttpClient } from './http.js';
import type { CommsClient, Connection } from './types.js';

/** How a client is opened: who hears about the config.yaml read when the database is opened directly. */
export type ConnectOptions = ConfigListeners;

/**
 * The client: the running service's API when `service.json` names one that answers (and, with `database`
 * given, serves that database), else the database opened directly.
 */
export async function connect(database?: string, options: ConnectOptions = {}): Promise<CommsClient> {
  const service = runningService();
  if (service) {
    if (database && locationOf(database) !== service.database) {
      return openDirect(database, { why: 'other-database', serviceUrl: service.url }, options);
    }
    const http = new HttpClient(service.url);
    if (await http.answers()) return http;
    return openDirect(database, { why: 'silent', serviceUrl: service.url }, options);
  }
  return openDirect(database, { why: 'none' }, options);
}

/** The token store of a database, opened in this process. */
export interface TokenAccess {
  tokens: TokenStore;
  connection: Connection;
  /** The modules defined there, to check the one a token is scoped to. */
  moduleNames(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The token store, always in the database itself: the API does not hand out tokens, since whoever holds one
 * could then mint more. Without `database`, the running service's SQLite file is used (it may have been
 * started with another), else the default database.
 */
export async function openTokens(database?: string, options: ConnectOptions = {}): Promise<TokenAccess> {
  const service = runningService();
  const servedFile = service && !isPostgresUrl(service.database) ? `sqlite:${service.database}` : undefined;
  const client = await openDirect(database ?? servedFile, { why: 'tokens' }, options);
  return {
    tokens: client.hub.tokens,
    connection: client.connection,
    moduleNames: async () => (await client.hub.modules.list()).map((m) => m.name),
    close: () => client.close(),
  };
}

/**
 * Where a database URL points, written as an open hub writes `hub.database` (SQLite: the absolute path;
 * PostgreSQL: the URL with its password masked), to compare with the service's.
 */
function locationOf(url: string): string {
  return isPostgresUrl(url) ? (maskPassword(url) ?? url) : resolve(sqlitePath(url));
}
