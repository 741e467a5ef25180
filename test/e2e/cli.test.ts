// The claude-comms command, run as a user would: the built bin in a child process.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openHub } from '../../src/index.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'claude-comms.js');
const children: ChildProcess[] = [];

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

describe('claude-comms CLI', () => {
  it('prints its version and help', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect((await run('node', [bin, '--version'])).stdout.trim()).toBe(version);
    const help = (await run('node', [bin, '--help'])).stdout;
    expect(help).toContain('Usage: claude-comms');
    expect(help).toContain('events [options]');
  });

  it('follows events written by another process until interrupted', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cc-cli-'));
    const child = spawn('node', [bin, 'events', '--follow'], { env: { ...process.env, CLAUDE_COMMS_HOME: home } });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const until = async (check: () => boolean) => {
      const start = Date.now();
      while (!check()) {
        if (Date.now() - start > 15_000) throw new Error(`timed out; stdout: ${out}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => err.includes('following events;'));
    expect(err).toContain(`no service running; using the database ${join(home, 'comms.db')} directly`);
    const hub = await openHub({ database: `sqlite:${join(home, 'comms.db')}` });
    const thread = await hub.threads.create({ title: 'from another process' });
    await hub.close();
    await until(() => out.includes('thread.created'));
    expect(out).toContain(`thread=${thread.id}`);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exit).toBe(130);
  });

  it('names a bad cursor and exits 1', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cc-cli-'));
    const failure = await run('node', [bin, 'events', '--after', 'nope'], {
      env: { ...process.env, CLAUDE_COMMS_HOME: home },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(
      /\nclaude-comms: 'nope' is not a cursor issued by this hub \[invalid_cursor\]\n$/,
    );
  });
});
