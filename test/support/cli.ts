// The built claude-comms bin run as a user runs it, in child processes whose output is collected as it comes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'claude-comms.js');

/** Throws, saying what to do, when the CLI has not been built (the e2e tests run dist/, as users do). */
export function requireBuild(): void {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
}

/** How a command ended, with everything it wrote. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command running in the background, its output collected as it comes. */
export class Running {
  stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves once `check` holds; throws after 15 s naming `what` it waited for and the output so far. */
  async until(check: (r: Running) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!check(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; stdout: ${this.stdout}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills the command unless it has ended. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const started: Running[] = [];

/** Starts the CLI with `args` in `env`. */
export function startCli(env: NodeJS.ProcessEnv, args: string[]): Running {
  const r = new Running(spawn(process.execPath, [bin, ...args], { env }));
  started.push(r);
  return r;
}

/** Kills every command started here that is still running (after a test that failed half-way). */
export function killStarted(): void {
  for (const r of started.splice(0)) r.kill();
}

/** Runs the CLI with `args` in `env` to its end. */
export function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return finished(startCli(env, args));
}

/**
 * Runs the CLI to its end in a pseudo-terminal (made by util-linux `script`), as on a user's terminal: stdout
 * and stderr are terminals, and what they show arrives together in `stdout`.
 */
export function runCliOnTerminal(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  const command = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = new Running(spawn('script', ['-qefc', command, '/dev/null'], { env }));
  started.push(r);
  return finished(r);
}

async function finished(r: Running): Promise<Run> {
  const code = await r.exit;
  return { code, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts the CLI with its stdout piped into `consumer` (a shell command such as `head -3`), as in
 * `claude-comms events | head -3`: when the consumer ends, the CLI's stdout is a closed pipe. `stdout` collects
 * what the consumer printed, `stderr` what the CLI said; the exit status is the CLI's own.
 */
export function startCliPiped(env: NodeJS.ProcessEnv, args: string[], consumer: string): Running {
  const script = `"$@" | ${consumer}; exit "\${PIPESTATUS[0]}"`;
  const r = new Running(spawn('bash', ['-c', script, 'bash', process.execPath, bin, ...args], { env }));
  started.push(r);
  return r;
}
