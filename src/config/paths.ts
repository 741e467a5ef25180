/** Where claude-comms keeps its data: `$CLAUDE_COMMS_HOME` (default `~/.claude-comms`). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The data home: config, database, daemon pid and log. */
export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.CLAUDE_COMMS_HOME;
  return home && home.trim() !== '' ? resolve(home) : join(homedir(), '.claude-comms');
}

/** The database to open: `CLAUDE_COMMS_DATABASE` when set, else SQLite at `<data home>/comms.db`. */
export function defaultDatabase(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.CLAUDE_COMMS_DATABASE;
  return url && url.trim() !== '' ? url : `sqlite:${join(dataHome(env), 'comms.db')}`;
}
