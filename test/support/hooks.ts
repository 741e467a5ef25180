/**
 * Hooks under test: a hook command that records what it got, a hub delivering hooks in a process of its own (to
 * be killed or frozen), and replies moved to their end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HookNotification, HookOptions, Hub } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set<ChildProcess>();

/** Kills every hooks process a test started (call after each test). */
export function killHooksProcesses(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** What one run of a recording hook command got. */
export interface Recorded {
  stdin: HookNotification;
  env: Record<string, string>;
}

/**
 * A hook command that appends what it got (the notification on stdin and its CLAUDE_COMMS_* variables) to a
 * file as one JSON line, after `delaySeconds`; answers the command and a reader of the lines so far.
 */
export function recordingCommand(delaySeconds = 0): { command: string; records: () => Recorded[] } {
  const dir = mkdtempSync(join(tmpdir(), 'cc-hook-'));
  const script = join(dir, 'record.mjs');
  const out = join(dir, 'records.jsonl');
  writeFileSync(
    script,
    `import { appendFileSync } from 'node:fs';
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CLAUDE_COMMS_')));
  appendFileSync(process.argv[2], JSON.stringify({ stdin: JSON.parse(input), env }) + '\\n');
});`,
  );
  const run = `'${process.execPath}' '${script}' '${out}'`;
  return {
    command: delaySeconds > 0 ? `sleep ${delaySeconds} && ${run}` : run,
    records: () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Recorded)
        : [],
  };
}

/** A pending reply by `author` in the thread. */
export async function reply(hub: Hub, threadId: string, author = 'arangodb'): Promise<string> {
  return (await hub.messages.create({ threadId, author, role: 'assistant' })).id;
}

/** Moves a reply through processing to its end. */
export async function finish(hub: Hub, id: string, end: 'complete' | 'failed' = 'complete'): Promise<void> {
  await hub.messages.transition(id, 'processing');
  await hub.messages.transition(id, end, end === 'failed' ? { error: 'no database here' } : {});
}

/** A hub with hooks running in its own process, to be killed. */
export function startHooksProcess(database: string, options: HookOptions = {}) {
  const code = `
const { openHub } = await import(${JSON.stringify(join(ROOT, 'src/index.ts'))});
const hub = await openHub({ database: ${JSON.stringify(database)}, config: false, retentionDays: 0 });
await hub.startHooks(${JSON.stringify(options)});
process.stdout.write('ready\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('ready') && resolve());
    void exited.then(() => reject(new Error(`the hooks process ended early: ${stderr.trim() || '(no stderr)'}`)));
  });
  return { process: child, ready, exited, stderr: () => stderr };
}
