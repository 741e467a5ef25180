/**
 * The built `claude-comms serve` as rows 15 and 16 run it: in a child process with a data home of its own (where it
 * writes the service.json a `claude-comms mcp` finds it by), on a free port; and the note that the row measures the
 * last build when src/ has changed since.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support.js';

/** The command line as built. */
export const BIN = join(ROOT, 'bin/claude-comms.js');
/** How long `serve` may take to listen. */
const START_MS = 30_000;

let warned = false;

/** Says so (once) when src/ has changed since dist/ was built: the row measures the build, not the sources. */
export function warnIfStale(row: string): void {
  if (warned) return;
  const built = statSync(join(ROOT, 'dist/cli/main.js')).mtimeMs;
  const src = join(ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(join(src, f)).mtimeMs > built,
  );
  if (newer.length) process.stderr.write(`(dist/ is older than src/${newer[0]}: row ${row} measures the last build) `);
  warned = true;
}

/** The environment of the commands started here: this process's, without any claude-comms settings, in `home`. */
export function commandEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('CLAUDE_COMMS_')) env[key] = value;
  }
  return { ...env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
}

export interface CliService {
  url: string;
  stop(): Promise<void>;
}

/**
 * `claude-comms serve` on a free port, in `home` (where it writes the service.json `claude-comms mcp` finds it
 * by), serving `database` (`extra`: more arguments of serve). Killed if this process exits first (the run gave up).
 */
export async function startCliService(home: string, database: string, extra: string[] = []): Promise<CliService> {
  const args = [BIN, '--database', database, 'serve', '--port', '0', ...extra];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env: commandEnv(home) });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let [out, err] = ['', ''];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`claude-comms serve did not start: ${err.trim()}`)), START_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /serving at (http:\S+)/.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`claude-comms serve exited early: ${err.trim() || 'no stderr'}`));
    });
  });
  return {
    url,
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
}
