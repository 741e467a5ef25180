import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './modules-config.js';

const good = `
modules:
  marker:
    description: PDF extractor
    cwd: ~/code/marker
    backend: claude-code
    capabilities: [pdf, tables]
    model: claude-sonnet-5
    maxIterations: 8
  arangodb:
    cwd: ../arangodb
    backend: command
    command: node
    args: [answer.js]
    concurrency: 4
`;

describe('module configuration', () => {
  it('reads modules with defaults, expanding ~ and relative paths', () => {
    const config = parseConfig(good, '/etc/cc/config.yaml');
    expect(config.modules.marker).toMatchObject({
      description: 'PDF extractor',
      cwd: join(homedir(), 'code/marker'),
      backend: 'claude-code',
      capabilities: ['pdf', 'tables'],
      concurrency: 1,
      maxIterations: 8,
      env: {},
    });
    expect(config.modules.arangodb).toMatchObject({
      cwd: '/etc/arangodb',
      backend: 'command',
      command: 'node',
      args: ['answer.js'],
      concurrency: 4,
      description: '',
    });
  });

  it('reads the old names maxTurns and maxBudgetUsd as the new ones, warning of each at its line', () => {
    const text = good.replace('maxIterations: 8', 'maxTurns: 8\n    maxBudgetUsd: 0.5');
    const config = parseConfig(text, 'config.yaml');
    expect(config.modules.marker).toMatchObject({ maxIterations: 8, maxCostUsd: 0.5 });
    expect(config.modules.marker).not.toHaveProperty('maxTurns');
    expect(config.modules.marker).not.toHaveProperty('maxBudgetUsd');
    expect(config.warnings).toEqual([
      'config.yaml:9: modules.marker.maxTurns: deprecated, read as maxIterations; rename it to maxIterations',
      'config.yaml:10: modules.marker.maxBudgetUsd: deprecated, read as maxCostUsd; rename it to maxCostUsd',
    ]);
    expect(parseConfig(good, 'config.yaml').warnings).toEqual([]);
  });

  it('refuses an old name beside its new one, at the old one’s line', () => {
    const text = good.replace('maxIterations: 8', 'maxIterations: 8\n    maxTurns: 9');
    expect(() => parseConfig(text, 'config.yaml')).toThrow(
      'config.yaml:10: modules.marker.maxTurns: the old name of maxIterations: give only maxIterations',
    );
  });

  it('names an unknown key with its path and line', () => {
    const text = good.replace('    concurrency: 4', '    concurency: 4');
    expect(() => parseConfig(text, 'config.yaml')).toThrow('config.yaml:15: modules.arangodb.concurency: unknown key');
  });

  it('names a wrong type with its path and line', () => {
    const text = good.replace('maxIterations: 8', 'maxIterations: eight');
    expect(() => parseConfig(text, 'config.yaml')).toThrow(/config\.yaml:9: modules\.marker\.maxIterations: /);
  });

  it('requires a command for the command backend and a known backend', () => {
    expect(() => parseConfig(good.replace('    command: node\n', ''), 'c.yaml')).toThrow(
      "modules.arangodb.command: a module with backend 'command' needs `command`",
    );
    expect(() => parseConfig(good.replace('backend: claude-code', 'backend: gpt'), 'c.yaml')).toThrow(
      /c\.yaml:6: modules\.marker\.backend: /,
    );
  });

  it('takes only the keys of a module’s own backend, naming the other backend’s', () => {
    const text = good.replace('    concurrency: 4', '    concurrency: 4\n    model: claude-sonnet-5');
    expect(() => parseConfig(text, 'config.yaml')).toThrow(
      'config.yaml:16: modules.arangodb.model: unknown key for backend command (a setting of backend claude-code)',
    );
    expect(() =>
      parseConfig(good.replace('maxIterations: 8', 'maxIterations: 8\n    args: [x]'), 'config.yaml'),
    ).toThrow(
      'config.yaml:10: modules.marker.args: unknown key for backend claude-code (a setting of backend command)',
    );
    expect(() =>
      parseConfig(good.replace('    concurrency: 4', '    concurrency: 4\n    tokenEnv: TOKEN'), 'config.yaml'),
    ).toThrow('config.yaml:16: modules.arangodb.tokenEnv: unknown key for backend command (a setting of backend a2a)');
  });

  it('names an environment a program cannot be started with, at its line', () => {
    const text = good.replace('    concurrency: 4', '    concurrency: 4\n    env:\n      "A=B": x');
    expect(() => parseConfig(text, 'config.yaml')).toThrow(
      'config.yaml:17: modules.arangodb.env.A=B: a name must be non-empty, without = or NUL',
    );
  });

  it('refuses a bad module name and broken YAML with a clear error at the line of the name', () => {
    expect(() =>
      parseConfig('modules:\n  "bad name":\n    cwd: x\n    backend: command\n    command: x\n', 'c.yaml'),
    ).toThrow('c.yaml:2: modules.bad name: must be a module name');
    expect(() => parseConfig('modules: [unclosed', 'c.yaml')).toThrow(/c\.yaml:1: not valid YAML/);
  });

  it('refuses __proto__, constructor and names the API cannot route, with file and line, dropping none', () => {
    const module = (name: string) => `  ${name}:\n    cwd: x\n    backend: command\n    command: x\n`;
    const text = `modules:\n${module('ok')}${module('__proto__')}${module('constructor')}${module('a/b')}`;
    const error = (() => {
      try {
        parseConfig(text, 'c.yaml');
      } catch (err) {
        return (err as Error).message;
      }
      return 'parsed';
    })();
    expect(error).toContain('c.yaml:6: modules.__proto__: is not allowed as a key');
    expect(error).toContain("c.yaml:10: modules.constructor: must be a module name ('constructor' is reserved");
    expect(error).toContain('c.yaml:14: modules.a/b: must be a module name');
    expect(() =>
      parseConfig(
        'modules:\n  ok:\n    cwd: x\n    backend: command\n    command: x\n    env:\n      __proto__: x\n',
        'c.yaml',
      ),
    ).toThrow('c.yaml:7: modules.ok.env.__proto__: is not allowed as a key');
    expect(() => parseConfig('__proto__: {}\nmodules: {}\n', 'c.yaml')).toThrow('c.yaml:1: __proto__: is not allowed');
  });

  it('names a missing required key at the line of its module, saying what it is for', () => {
    const text =
      'modules:\n  ok:\n    cwd: x\n    backend: command\n    command: x\n  marker:\n    backend: command\n    command: x\n';
    expect(() => parseConfig(text, 'config.yaml')).toThrow(
      "config.yaml:6: modules.marker.cwd: required (the module's repository)",
    );
    expect(() => parseConfig('modules:\n  marker:\n    cwd: x\n', 'config.yaml')).toThrow(
      'config.yaml:2: modules.marker.backend: required (claude-code, command, session or a2a)',
    );
  });

  it('refuses to read a missing file as a configuration without modules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-config-'));
    expect(() => loadConfig(join(dir, 'config.yaml'))).toThrow(
      expect.objectContaining({ code: 'not_found', message: expect.stringContaining('does not exist') }),
    );
    writeFileSync(join(dir, 'config.yaml'), good);
    expect(Object.keys(loadConfig(join(dir, 'config.yaml')).modules)).toEqual(['marker', 'arangodb']);
  });

  it('refuses an empty file (or comments only), and reads "modules: {}" as serving none on purpose', () => {
    for (const text of ['', '\n\n', '# my modules\n# none yet\n']) {
      expect(() => parseConfig(text, 'config.yaml')).toThrow(
        'config.yaml: empty: it defines no modules (to serve none on purpose, write "modules: {}")',
      );
    }
    expect(parseConfig('modules: {}\n', 'config.yaml')).toEqual({ modules: {}, commands: {}, warnings: [] });
  });

  it('reads the commands workflows may run by name, their cwd from the file, and refuses a bad one with its line', () => {
    const config = parseConfig(
      'modules: {}\ncommands:\n  extract:\n    argv: [node, extract.js]\n    cwd: tools\n    timeoutMs: 60000\n',
      '/home/me/.claude-comms/config.yaml',
    );
    expect(config.commands).toEqual({
      extract: { argv: ['node', 'extract.js'], cwd: '/home/me/.claude-comms/tools', timeoutMs: 60000 },
    });
    expect(() => parseConfig('commands:\n  bad:\n    argv: []\n', 'config.yaml')).toThrow(
      /config\.yaml:3: commands\.bad\.argv/,
    );
    expect(() => parseConfig('commands:\n  bad:\n    run: [x]\n', 'config.yaml')).toThrow(
      /config\.yaml:2: commands\.bad\.argv/,
    );
  });
});
