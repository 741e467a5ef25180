// Configuration from first start to removal, run as a user runs it (the built bin, in child processes, each test
// in a fresh data home): `init` then `serve` answers from both example modules (and `modules --capability` finds
// them by what they declare); a data home never configured serves the bundled example and says so, one whose
// config.yaml was deleted refuses to start; a module deleted from config.yaml is shown removed after a restart; a
// typo in config.yaml blocks serving but not reading.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, type Running, requireBuild, runCli, startCli } from '../support/cli.js';

beforeAll(requireBuild);
afterEach(killStarted);

/** A fresh data home and the environment that points the CLI at it. */
function freshHome(): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), 'cc-config-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
  for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];
  return { home, env };
}

/** `serve --port 0`, once it listens. */
async function serve(env: NodeJS.ProcessEnv): Promise<Running> {
  const service = startCli(env, ['serve', '--port', '0']);
  await service.until((s) => s.stdout.includes('serving at') || s.child.exitCode !== null, 'the service to listen');
  expect(service.stdout, service.stderr).toContain('serving at');
  return service;
}

async function stop(service: Running): Promise<void> {
  service.child.kill('SIGINT');
  expect(await service.exit).toBe(0);
}

/** A config.yaml with one echo module per name, in `home`. */
function configWith(home: string, names: string[]): void {
  writeFileSync(
    join(home, 'echo.mjs'),
    `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q.trim()));`,
  );
  const modules = names.map(
    (n) =>
      `  ${n}:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [echo.mjs]\n`,
  );
  writeFileSync(join(home, 'config.yaml'), `modules:\n${modules.join('')}`);
}

describe('configuration', () => {
  it('init writes the example into the data home; serve then answers from both modules', async () => {
    const { home, env } = freshHome();
    const init = await runCli(env, ['init']);
    expect(init.code, init.stderr).toBe(0);
    for (const file of ['config.yaml', 'marker/agent.mjs', 'arangodb/agent.mjs']) {
      expect(existsSync(join(home, file))).toBe(true);
      expect(init.stdout).toContain(join(home, file));
    }
    expect(init.stdout).toContain('claude-comms serve');

    const again = await runCli(env, ['init']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${join(home, 'config.yaml')}`);
    expect(again.stderr).toContain('init --force');
    writeFileSync(join(home, 'config.yaml'), '# mine\n');
    expect((await runCli(env, ['init', '--force'])).code).toBe(0);
    expect(readFileSync(join(home, 'config.yaml'), 'utf8')).toContain('marker:');

    const service = await serve(env);
    expect(service.stdout).toContain(join(home, 'config.yaml'));
    expect(service.stderr).not.toContain('bundled example');
    for (const module of ['marker', 'arangodb']) {
      const asked = await runCli(env, ['ask', module, 'What do you do?', '--wait']);
      expect(asked.code, asked.stderr).toBe(0);
      expect(asked.stdout).toContain('You asked: "What do you do?"');
    }
    const modules = await runCli(env, ['modules', '--json']);
    const list = (
      JSON.parse(modules.stdout) as { modules: { name: string; health: string; removedAt: string | null }[] }
    ).modules;
    expect(list.map((m) => [m.name, m.health, m.removedAt])).toEqual([
      ['arangodb', 'healthy', null],
      ['marker', 'healthy', null],
    ]);
    // Discovery: the modules declaring a capability, and a typo shown with the capabilities there are.
    const tables = await runCli(env, ['modules', '--capability', 'tables', '--json']);
    expect((JSON.parse(tables.stdout) as { modules: { name: string }[] }).modules.map((m) => m.name)).toEqual([
      'marker',
    ]);
    const typo = await runCli(env, ['modules', '--capability', 'grahp']);
    expect([typo.code, typo.stdout]).toEqual([0, '']);
    expect(typo.stderr).toContain(
      'no module declares the capability "grahp" (did you mean "graph"? declared: aql, extraction, graph, pdf, storage, tables)',
    );
    await stop(service);
  });

  it('serves the bundled example to a data home never configured, saying so, after a restart too', async () => {
    const { home, env } = freshHome();
    for (let start = 0; start < 2; start++) {
      const service = await serve(env);
      expect(service.stderr).toContain(
        `no config.yaml in ${home}; using the bundled example (claude-comms init to make it yours)`,
      );
      await stop(service);
    }
  });

  it('refuses to start when a data home that had its own config.yaml lost it', async () => {
    const { home, env } = freshHome();
    configWith(home, ['writer']);
    await stop(await serve(env));
    rmSync(join(home, 'config.yaml'));
    const refused = await runCli(env, ['serve', '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no config.yaml in ${home}`);
    expect(refused.stderr).toContain(`(writer) come from ${join(home, 'config.yaml')}: restore it`);
    expect(refused.stderr).not.toContain('using the bundled example');
    // Reading still works.
    const modules = await runCli(env, ['modules']);
    expect(modules.code, modules.stderr).toBe(0);
    expect(modules.stdout).toContain('writer');
    // Starting over is explicit: init, and the old module is marked removed.
    expect((await runCli(env, ['init'])).code).toBe(0);
    await stop(await serve(env));
    const after = await runCli(env, ['modules']);
    expect(after.stdout).toMatch(/writer: removed from config\.yaml on \S+; add it back to serve it/);
  });

  it('shows a module deleted from config.yaml as removed after a restart, and refuses asking it', async () => {
    const { home, env } = freshHome();
    configWith(home, ['writer', 'reader']);
    await stop(await serve(env));
    configWith(home, ['writer']);
    const service = await serve(env);
    const modules = await runCli(env, ['modules']);
    expect(modules.stdout).toMatch(/reader: removed from config\.yaml on \S+; add it back to serve it/);
    const refused = await runCli(env, ['ask', 'reader', 'Still there?']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`module reader was removed from ${join(home, 'config.yaml')} on`);
    const answered = await runCli(env, ['ask', 'writer', 'Still there?', '--wait']);
    expect(answered.stdout).toContain('re: Still there?');
    await stop(service);
  });

  it('a typo in config.yaml blocks serving, with file and line, but not reading', async () => {
    const { home, env } = freshHome();
    configWith(home, ['writer']);
    writeFileSync(join(home, 'config.yaml'), readFileSync(join(home, 'config.yaml'), 'utf8').replace('args:', 'arg:'));
    const file = join(home, 'config.yaml');
    for (const command of ['threads', 'modules']) {
      const read = await runCli(env, [command]);
      expect(read.code, read.stderr).toBe(0);
      const warnings = read.stderr.split('\n').filter((line) => line.includes('warning'));
      expect(warnings).toEqual([expect.stringContaining(`${file}:6: modules.writer.arg: unknown key`)]);
    }
    const refused = await runCli(env, ['serve', '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}:6: modules.writer.arg: unknown key`);

    writeFileSync(file, 'modules:\n  writer:\n    backend: command\n    command: node\n');
    const missing = await runCli(env, ['serve', '--port', '0']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${file}:2: modules.writer.cwd: required (the module's repository)`);
  });

  it('serves a module with the old budget names, warning of each once with file and line, as commands do', async () => {
    const { home, env } = freshHome();
    const file = join(home, 'config.yaml');
    writeFileSync(
      file,
      `modules:\n  coder:\n    cwd: .\n    backend: claude-code\n    maxTurns: 5\n    maxBudgetUsd: 1.5\n    executable: ./no-claude-here\n`,
    );
    const warnings = [
      `claude-comms: warning: ${file}:5: modules.coder.maxTurns: deprecated, read as maxIterations; rename it to maxIterations`,
      `claude-comms: warning: ${file}:6: modules.coder.maxBudgetUsd: deprecated, read as maxCostUsd; rename it to maxCostUsd`,
    ];
    const read = await runCli(env, ['modules']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr.split('\n').filter((line) => line.includes('warning'))).toEqual(warnings);
    const service = await serve(env);
    expect(service.stderr.split('\n').filter((line) => line.includes('warning'))).toEqual(warnings);
    // Read as the new names: an ask gets them as its limits (and waits: no claude runs here).
    const asked = JSON.parse((await runCli(env, ['ask', 'coder', 'q', '--json'])).stdout) as { taskId: string };
    const task = JSON.parse((await runCli(env, ['task', 'status', asked.taskId, '--json'])).stdout);
    expect(task).toMatchObject({ maxIterations: 5, maxCostUsd: 1.5 });
    await stop(service);
  });

  it('refuses an emptied config.yaml rather than removing every module, and init rewrites a lost one, keeping the agents', async () => {
    const { home, env } = freshHome();
    expect((await runCli(env, ['init'])).code).toBe(0);
    const agent = join(home, 'marker', 'agent.mjs');
    writeFileSync(agent, `${readFileSync(agent, 'utf8')}\n// my edit\n`);
    await stop(await serve(env));
    const file = join(home, 'config.yaml');

    writeFileSync(file, '# nothing yet\n');
    const read = await runCli(env, ['modules']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr).toContain(`${file}: empty: it defines no modules`);
    expect(read.stdout).not.toContain('removed');
    const refused = await runCli(env, ['serve', '--port', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}: empty`);

    // The file lost altogether: serve says to run init, and init writes it back without touching the agents.
    rmSync(file);
    expect((await runCli(env, ['serve', '--port', '0'])).stderr).toContain('run claude-comms init');
    const init = await runCli(env, ['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`kept ${join(home, 'marker', 'agent.mjs')}`);
    expect(readFileSync(agent, 'utf8')).toContain('// my edit');
    const service = await serve(env);
    expect(service.stdout).toMatch(/modules {3}arangodb, marker\n/);
    await stop(service);
  });

  it('says in plain words that it serves the bundled example; lists removed modules apart; a removed one is not paused', async () => {
    const { home, env } = freshHome();
    const first = await serve(env);
    expect(first.stderr).toContain(`claude-comms: no config.yaml in ${home}; using the bundled example`);
    expect(first.stderr).not.toContain('"level"');
    await stop(first);

    configWith(home, ['writer', 'reader']);
    await stop(await serve(env));
    configWith(home, ['writer']);
    const service = await serve(env);
    // arangodb and marker came from the example, reader from the file: all three are no longer served.
    expect(service.stdout).toMatch(/modules {3}writer\n/);
    expect(service.stdout).toMatch(/removed {3}arangodb, marker, reader \(not in the config/);
    const pause = await runCli(env, ['modules', 'pause', 'reader']);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toContain('module reader was removed from');
    expect(pause.stderr).toContain('cannot be paused');
    const table = await runCli(env, ['modules']);
    expect(table.stdout).toMatch(/reader\s+command\s+removed/);
    await stop(service);
  });

  it('stops in order when the reader of its output has gone by the time it writes (serve | head)', async () => {
    const { home, env } = freshHome();
    configWith(home, ['writer']);
    // Its stdout is a pipe whose reader is closed before the service writes its first line.
    const service = startCli(env, ['serve', '--port', '0']);
    service.child.stdout?.destroy();
    expect(await service.exit).toBe(0);
    expect(service.stderr).not.toContain('Error');
    // Stopped as on Ctrl-C: its state file is gone, so the next start finds no service that died.
    expect(existsSync(join(home, 'service.json'))).toBe(false);
    const next = await serve(env);
    expect(next.stderr).not.toContain('died');
    await stop(next);
  });
});
