// The command line in daily use, run as a user runs it (the built bin, in child processes) against a real
// service started with `serve`: output piped into programs that stop reading, `--json` on every command that
// offers it, modules that are unhealthy or paused, mistyped module names, and the smaller promises the guide
// makes (exit statuses, what a command says on stderr).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { program } from '../../src/cli/main.js';
import { EXAMPLE_REQUIREMENTS } from '../../src/exchange/pdf/index.js';
import { killStarted, type Run, type Running, requireBuild, runCli, startCli, startCliPiped } from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'cc-daily-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];

/** Answers in 30 lines of about 100 characters, 100 ms apart: a reader that stops early leaves it writing. */
const CHATTY = `for (let i = 1; i <= 30; i++) {
  process.stdout.write(\`line \${i} \${'x'.repeat(90)}\\n\`);
  await new Promise((r) => setTimeout(r, 100));
}`;

let service: Running;
let url = '';

function cli(...args: string[]): Promise<Run> {
  return runCli(env, args);
}

function piped(consumer: string, ...args: string[]): Running {
  return startCliPiped(env, args, consumer);
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** What a CLI that lost its reader must never show. */
function expectQuietEnd(run: { code: number | null; stderr: string }): void {
  expect(run.stderr).not.toMatch(/Unhandled|EPIPE|\n {4}at /);
  expect(run.code).toBe(0);
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  requireBuild();
  writeFileSync(join(home, 'chatty.mjs'), CHATTY);
  writeFileSync(join(home, 'slow.mjs'), 'setTimeout(() => {}, 60_000);');
  const module = (name: string, command: string, args: string) =>
    `  ${name}:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(command)}\n    args: [${args}]\n`;
  writeFileSync(
    join(home, 'config.yaml'),
    `modules:\n${module('writer', process.execPath, 'chatty.mjs')}${module('slow', process.execPath, 'slow.mjs')}${module('ghost', join(home, 'not-installed'), '')}  desk:\n    cwd: .\n    backend: session\n`,
  );
  service = startCli(env, ['serve', '--port', '0']);
  await service.until((s) => /serving at (http:\S+)/.test(s.stdout), 'the service to listen');
  url = /serving at (http:\S+)/.exec(service.stdout)?.[1] ?? '';
  // Enough log and tasks that their listings overflow a pipe's 64 KiB buffer: the writer meets the closed end.
  const name = 'a task with a long name '.repeat(20);
  for (let i = 0; i < 200; i++) await api('POST', '/tasks', { name: `${i} ${name}` });
});

afterAll(async () => {
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

describe('output piped into a program that stops reading', () => {
  it('ends `events | head -3` and `task list | head -1` quietly with exit 0', async () => {
    const [events, tasks] = [piped('head -3', 'events'), piped('head -1', 'task', 'list')];
    const [eventsCode, tasksCode] = await Promise.all([events.exit, tasks.exit]);
    expect(events.stdout.trim().split('\n')).toHaveLength(3);
    expectQuietEnd({ code: eventsCode, stderr: events.stderr });
    expect(tasks.stdout).toMatch(/^ID +STATUS/);
    expectQuietEnd({ code: tasksCode, stderr: tasks.stderr });
  });

  it('ends `events --follow | head -3` at the next event after the reader left, exit 0', async () => {
    const follow = piped('head -3', 'events', '--follow');
    await follow.until((r) => r.stderr.includes('following events'), 'the follow to start');
    let exited = false;
    void follow.exit.then(() => {
      exited = true;
    });
    for (let i = 0; !exited && i < 100; i++) {
      await api('POST', '/tasks', { name: `followed ${i}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    expectQuietEnd({ code: await follow.exit, stderr: follow.stderr });
    expect(follow.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('ends `ask --wait | head -2` and `watch --json | head -c 1500` at once, leaving the reply to go on', async () => {
    const ask = piped('head -2', 'ask', 'writer', 'Talk a lot', '--wait');
    expectQuietEnd({ code: await ask.exit, stderr: ask.stderr });
    expect(ask.stdout).toMatch(/^line 1 x+\nline 2 x+\n$/);
    const messageId = /reply (\S+)/.exec(ask.stderr)?.[1] ?? '';
    const watch = piped('head -c 1500', 'watch', messageId, '--json');
    expectQuietEnd({ code: await watch.exit, stderr: watch.stderr });
    expect(watch.stdout).toHaveLength(1500);
    const reply = await api<{ status: string }>('GET', `/messages/${messageId}`);
    expect(reply.status).not.toBe('cancelled');
  });

  it('goes on when stderr is closed: the output is complete and the exit status the command’s own', async () => {
    const r = startCli(env, ['threads', '--json']);
    r.child.stderr?.destroy();
    expect(await r.exit).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ threads: expect.any(Array) });
  });
});

describe('--json', () => {
  it('is honoured by every command that offers it, and the last JSON line of a watch is its result', async () => {
    const asked = JSON.parse((await cli('ask', 'writer', 'Short', '--json')).stdout) as Record<string, string>;
    const { messageId = '', threadId = '' } = asked;
    const instance = ((await api<{ instances: { id: string }[] }>('GET', '/instances?module=writer')).instances[0]
      ?.id ?? '') as string;
    const created = JSON.parse((await cli('task', 'create', 'Checked', '--criteria', 'a', '--json')).stdout);
    const token = JSON.parse((await cli('token', 'create', '--json')).stdout) as { id: string };
    // A cancelled reply, to retry.
    const doomed = JSON.parse((await cli('ask', 'slow', 'Cancel me', '--json')).stdout) as { messageId: string };
    await api('POST', `/messages/${doomed.messageId}/cancel`, {});
    // Exchange files: a schema, a draft of its next version, a value, a template, a document and requirements.
    const put = (name: string, value: unknown) => {
      writeFileSync(join(home, name), JSON.stringify(value));
      return join(home, name);
    };
    const body = { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false };
    const schemaFile = put('daily-schema.json', { name: 'daily', version: '1.0.0', schema: body });
    const draft = put('daily-draft.json', {
      name: 'daily',
      version: '1.1.0',
      schema: { ...body, properties: { n: {}, m: {} } },
    });
    const value = put('daily-value.json', { n: 1 });
    const templateFile = put('daily-template.json', {
      name: 'daily-q',
      version: '1.0.0',
      params: { type: 'object', properties: {} },
      prompt: 'Give examples',
      answerSchema: 'examples@1.0.0',
    });
    const document = join(import.meta.dirname, '..', 'fixtures', 'pdf', 'marker-sample.json');
    const requirements = put('daily-requirements.json', EXAMPLE_REQUIREMENTS);
    const pdf = join(import.meta.dirname, '..', '..', 'examples', 'marker', 'sample.pdf');
    // Workflows: a long one to pause, resume and cancel; a failing one to retry and start from.
    const longFlow = put('daily-long.json', {
      name: 'daily-long',
      steps: [{ id: 's', command: { run: ['/bin/sleep', '600'] } }],
    });
    const okFlow = put('daily-ok.json', { name: 'daily-ok', steps: [{ id: 'c', convert: { function: 'collect' } }] });
    const failFlow = put('daily-fail.json', {
      name: 'daily-fail',
      steps: [{ id: 'f', command: { run: ['/bin/false'] } }],
    });
    // Two runs each waiting for an approval: one to approve, one to reject.
    const gateFlow = put('daily-gate.json', { name: 'daily-gate', steps: [{ id: 'ok', approve: { message: 'Go?' } }] });
    const long = JSON.parse((await cli('workflow', 'run', longFlow, '--json')).stdout) as { id: string };
    const failing = JSON.parse((await cli('workflow', 'run', failFlow, '--json')).stdout) as { id: string };
    const gates = [
      JSON.parse((await cli('workflow', 'run', gateFlow, '--json')).stdout) as { id: string },
      JSON.parse((await cli('workflow', 'run', gateFlow, '--json')).stdout) as { id: string },
    ];
    for (const [id, status] of [
      [long.id, 'processing'],
      [failing.id, 'failed'],
      ...gates.map((g) => [g.id, 'processing'] as const),
    ] as const) {
      const deadline = Date.now() + 15_000;
      while ((await api<{ status: string }>('GET', `/runs/${id}`)).status !== status && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    }
    for (const gate of gates) {
      const deadline = Date.now() + 15_000;
      while (
        (await api<{ steps: { status: string }[] }>('GET', `/runs/${gate.id}`)).steps[0]?.status !== 'waiting' &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 50));
    }
    // An interactive module's question, to read from its inbox and answer.
    const waiting = JSON.parse((await cli('ask', 'desk', 'Which one?', '--json')).stdout) as { messageId: string };
    const table: [command: string, args: string[], shape: 'document' | 'lines'][] = [
      ['events', ['events', '--json'], 'lines'],
      ['poll status', ['poll', 'status', '--json'], 'document'],
      ['poll list', ['poll', 'list', '--json'], 'document'],
      ['poll show', ['poll', 'show', messageId, '--json'], 'document'],
      ['poll add', ['poll', 'add', threadId, messageId, '--on-complete', 'true', '--json'], 'document'],
      ['ask', ['ask', 'slow', 'As JSON', '--json'], 'document'],
      ['ask', ['ask', 'writer', 'As JSON lines', '--wait', '--timeout', '0.5', '--json'], 'lines'],
      ['watch', ['watch', messageId, '--json'], 'lines'],
      ['threads', ['threads', '--json'], 'document'],
      ['threads show', ['threads', 'show', threadId, '--json'], 'document'],
      ['modules', ['modules', '--json'], 'document'],
      ['modules pause', ['modules', 'pause', 'slow', '--json'], 'document'],
      ['modules resume', ['modules', 'resume', 'slow', '--json'], 'document'],
      ['instances', ['instances', '--json'], 'document'],
      ['instances pause', ['instances', 'pause', instance, '--json'], 'document'],
      ['instances resume', ['instances', 'resume', instance, '--json'], 'document'],
      ['instances terminate', ['instances', 'terminate', instance, '--json'], 'document'],
      ['task create', ['task', 'create', 'Another', '--json'], 'document'],
      ['task update', ['task', 'update', created.id, '10', '--json'], 'document'],
      ['task verify', ['task', 'verify', created.id, '1', '--json'], 'document'],
      ['task status', ['task', 'status', created.id, '--json'], 'document'],
      ['task list', ['task', 'list', '--json'], 'document'],
      ['task log', ['task', 'log', created.id, 'noted', '--json'], 'document'],
      ['search', ['search', 'checked', '--json'], 'document'],
      ['inbox', ['inbox', '--as', 'desk', '--json'], 'document'],
      ['answer', ['answer', waiting.messageId, 'This one.', '--json'], 'document'],
      ['token create', ['token', 'create', '--json'], 'document'],
      ['token list', ['token', 'list', '--json'], 'document'],
      ['token revoke', ['token', 'revoke', token.id, '--json'], 'document'],
      ['retry', ['retry', doomed.messageId, '--json'], 'document'],
      ['schema publish', ['schema', 'publish', schemaFile, '--json'], 'document'],
      ['schema check', ['schema', 'check', draft, '--json'], 'document'],
      ['schema list', ['schema', 'list', '--json'], 'document'],
      ['schema show', ['schema', 'show', 'daily', '--json'], 'document'],
      ['schema validate', ['schema', 'validate', 'daily@1.0.0', value, '--json'], 'document'],
      ['template publish', ['template', 'publish', templateFile, '--json'], 'document'],
      ['template list', ['template', 'list', '--json'], 'document'],
      ['template show', ['template', 'show', 'daily-q', '--json'], 'document'],
      ['pdf check', ['pdf', 'check', document, requirements, '--json'], 'document'],
      ['pdf extract', ['pdf', 'extract', pdf, '--out', put('daily-extracted.json', {}), '--json'], 'document'],
      [
        'example pdf-to-arangodb',
        ['example', 'pdf-to-arangodb', '--marker-json', document, '--out', join(home, 'daily-arango'), '--json'],
        'document',
      ],
      ['workflow define', ['workflow', 'define', failFlow, '--json'], 'document'],
      ['workflow run', ['workflow', 'run', 'daily-fail', '--json'], 'document'],
      ['workflow run', ['workflow', 'run', okFlow, '--wait', '--json'], 'lines'],
      ['workflow list', ['workflow', 'list', '--json'], 'document'],
      ['workflow show', ['workflow', 'show', long.id, '--json'], 'document'],
      ['workflow pause', ['workflow', 'pause', long.id, '--json'], 'document'],
      ['workflow resume', ['workflow', 'resume', long.id, '--json'], 'document'],
      ['workflow cancel', ['workflow', 'cancel', long.id, '--json'], 'document'],
      ['workflow retry', ['workflow', 'retry', failing.id, 'f', '--json'], 'document'],
      ['workflow start-from', ['workflow', 'start-from', failing.id, 'f', '--json'], 'document'],
      ['workflow approve', ['workflow', 'approve', gates[0]?.id as string, 'ok', '--json'], 'document'],
      ['workflow reject', ['workflow', 'reject', gates[1]?.id as string, 'ok', '--note', 'no', '--json'], 'document'],
    ];
    // Every command offering --json is in the table.
    const offering: string[] = [];
    const walk = (c: Command, path: string[]) => {
      if (path.length && c.options.some((o) => o.long === '--json')) offering.push(path.join(' '));
      for (const sub of c.commands) walk(sub, [...path, sub.name()]);
    };
    walk(program(), []);
    expect([...new Set(table.map(([command]) => command))].sort()).toEqual(offering.sort());
    for (const [command, args, shape] of table) {
      const run = await cli(...args);
      // A watch that times out exits 2 and still ends with its result.
      expect([command, run.code === 0 || run.code === 2 ? 'ok' : run.stderr]).toEqual([command, 'ok']);
      if (shape === 'document') expect(() => JSON.parse(run.stdout), command).not.toThrow();
      else expect(lines(run.stdout).length, command).toBeGreaterThan(0);
    }
    // `| tail -1` gives the result of a watch, however it ended.
    const [askTail, watchTail] = [
      piped('tail -1', 'ask', 'writer', 'Last line', '--wait', '--json'),
      piped('tail -1', 'watch', messageId, '--json'),
    ];
    expect(await askTail.exit).toBe(0);
    expect(await watchTail.exit).toBe(0);
    expect(JSON.parse(askTail.stdout)).toMatchObject({ type: 'result', status: 'complete' });
    expect(JSON.parse(watchTail.stdout)).toMatchObject({ type: 'result', status: 'complete' });
  });

  it('refuses an option of a command group given to one of its subcommands, rather than ignoring it', async () => {
    const run = await cli('threads', 'show', '01a1fd12-0000-7000-8000-000000000000', '--limit', '5');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: --limit does not apply to 'threads show'");
  });
});

describe('asking a module that is unhealthy or paused', () => {
  it('says at once that the module is unhealthy, why, and that the reply waits; in JSON lines too', async () => {
    const text = await cli('ask', 'ghost', 'Anyone?', '--wait', '--timeout', '1');
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(
      /module ghost is unhealthy \(.*not-installed.*\): the reply waits until it is healthy again \(the service checks it again by itself\)\n/,
    );
    const json = await cli('ask', 'ghost', 'Anyone?', '--wait', '--timeout', '1', '--json');
    const out = lines(json.stdout);
    expect(out.map((l) => l.type)).toEqual(['asked', 'snapshot', 'module', 'result']);
    expect(out[2]).toMatchObject({
      module: 'ghost',
      health: 'unhealthy',
      healthError: expect.stringContaining('not-installed'),
      paused: false,
      notice: expect.stringContaining('the reply waits until it is healthy again'),
    });
    expect(out[3]).toMatchObject({ type: 'result', status: 'timeout' });
  });

  it('says so while watching when the module is paused and resumed; asking it paused names the command to resume', async () => {
    const asked = JSON.parse((await cli('ask', 'ghost', 'Wait for me', '--json')).stdout) as { messageId: string };
    const watch = startCli(env, ['watch', asked.messageId]);
    await watch.until((w) => w.stderr.includes('module ghost is unhealthy'), 'the watch to start');
    const paused = await cli('modules', 'pause', 'ghost');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('module ghost is paused');
    await watch.until(
      (w) =>
        /module ghost is unhealthy \(.*\) and paused: the reply waits until it is healthy again .* and it is resumed \(claude-comms modules resume ghost\)/.test(
          w.stderr,
        ),
      'the pause to be said',
    );
    const refused = await cli('ask', 'ghost', 'Now?');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'module ghost is paused; resume it to ask it questions (claude-comms modules resume ghost)',
    );
    const resumed = await cli('modules', 'resume', 'ghost');
    expect([resumed.code, resumed.stdout]).toEqual([0, 'module ghost takes questions again\n']);
    await watch.until(
      (w) => (w.stderr.match(/module ghost is unhealthy \(/g) ?? []).length >= 3,
      'the resume to be said',
    );
    watch.child.kill('SIGINT');
    expect(await watch.exit).toBe(130);
  });
});

describe('mistyped module names', () => {
  it('refuses an unknown module with the closest name, or the modules there are, exit 2', async () => {
    const runs = await Promise.all([
      cli('instances', '--module', 'writr'),
      cli('task', 'list', '--module', 'writr'),
      cli('task', 'create', 'Typo', '--module', 'writr'),
      cli('token', 'create', '--module', 'writr'),
      cli('modules', 'pause', 'writr'),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('claude-comms: unknown module "writr" (did you mean "writer"?)\n');
    }
    const far = await cli('task', 'list', '--module', 'postgres');
    expect([far.code, far.stderr]).toEqual([
      2,
      expect.stringContaining('unknown module "postgres" (the modules are: desk, ghost, slow, writer)'),
    ]);
  });

  it('lists the tasks of a module only tasks name (no typo), and says "did you mean" when asking', async () => {
    await api('POST', '/tasks', { name: 'From an old module', module: 'retired' });
    const listed = await cli('task', 'list', '--module', 'retired');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('From an old module');
    const ask = await cli('ask', 'writr', 'Hello?');
    expect(ask.code).toBe(1);
    expect(ask.stderr).toContain('no module named writr (did you mean "writer"?); modules are defined in config.yaml');
    expect(ask.stderr).not.toContain('hub.modules');
  });
});

describe('smaller promises', () => {
  it('names a missing criterion as task status numbers it', async () => {
    const created = JSON.parse((await cli('task', 'create', 'Two', '--criteria', 'a', 'b', '--json')).stdout);
    const [past, zero] = await Promise.all([
      cli('task', 'verify', created.id, '3'),
      cli('task', 'verify', created.id, '0'),
    ]);
    expect(past.stderr).toContain(`task ${created.id} has no criterion #3 (it has 2) [not_found]`);
    expect(zero.stderr).toContain(`task ${created.id} has no criterion #0 (it has 2) [not_found]`);
  });

  it('events says how it connects, and names the module of module events', async () => {
    const run = await cli('events');
    expect(run.stderr).toBe(`claude-comms: using the service at ${url}\n`);
    expect(run.stdout).toMatch(/ module\.registered {2}module=writer {2}/);
    expect(run.stdout).toMatch(/ module\.updated {2}module=ghost {2}\{"paused":true\}/);
  });

  it('events --follow exits 130 on Ctrl-C and 143 on SIGTERM', async () => {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const follow = startCli(env, ['events', '--follow']);
      await follow.until((r) => r.stderr.includes('following events'), 'the follow to start');
      follow.child.kill(signal);
      expect(await follow.exit).toBe(code);
    }
  });

  it('poll status of a foreground serve names no log file; poll show speaks of iterations', async () => {
    const status = await cli('poll', 'status');
    expect(status.stdout).toMatch(/\n {2}log +none: a foreground serve logs to its terminal\n/);
    expect(JSON.parse((await cli('poll', 'status', '--json')).stdout)).toMatchObject({ log: null });
    const asked = JSON.parse((await cli('ask', 'writer', 'Iterations?', '--json')).stdout) as { messageId: string };
    const shown = await cli('poll', 'show', asked.messageId);
    expect(shown.stdout).toMatch(/progress .* iteration \d/);
    expect(shown.stdout).not.toMatch(/\bturn\b/);
  });

  it('tells a refused token to set CLAUDE_COMMS_TOKEN, and help shows the data home in use', async () => {
    const refused = await runCli({ ...env, CLAUDE_COMMS_TOKEN: 'cc_not-a-token' }, ['threads']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'claude-comms: the token in CLAUDE_COMMS_TOKEN is unknown or revoked: set CLAUDE_COMMS_TOKEN to an API token (claude-comms token create) [unauthorized]\n',
    );
    const help = await cli('--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`else ${join(home, 'comms.db')}`);
    expect(help.stdout).not.toContain('~/.claude-comms');
  });
});
