// The command backend against real programs: small node and bash scripts written to a temp directory.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../../test/support/modules.js';
import { groupMembers } from '../../test/support/processes.js';
import type { CommandSettings } from '../domain/module-settings.js';
import { CommandBackend } from './command-backend.js';
import { CommandOutputParser } from './command-output.js';
import type { AgentEvent, AgentRequest, ProcessTracker } from './types.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'command-backend-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `source` as a script and returns the options that run it with `interpreter`. */
async function script(name: string, interpreter: 'node' | 'bash', source: string): Promise<CommandSettings> {
  const path = join(dir, name);
  await writeFile(path, source);
  return { command: interpreter === 'node' ? process.execPath : 'bash', args: [path] };
}

function request(overrides: Partial<AgentRequest> = {}): AgentRequest {
  return {
    cwd: dir,
    prompt: 'What is the answer?',
    systemPrompt: 'You are alpha.',
    signal: new AbortController().signal,
    ...overrides,
  };
}

interface Timed {
  event: AgentEvent;
  at: number;
}

async function collect(backend: CommandBackend, req = request()): Promise<Timed[]> {
  const events: Timed[] = [];
  for await (const event of backend.run(req)) events.push({ event, at: Date.now() });
  return events;
}

const answer = (events: Timed[]) => events.map(({ event }) => (event.type === 'text' ? event.text : '')).join('');
const done = (events: Timed[]) => {
  expect(events.filter(({ event }) => event.type === 'done')).toHaveLength(1);
  return events.at(-1)?.event;
};
const logs = (events: Timed[]) => events.flatMap(({ event }) => (event.type === 'log' ? [event] : []));

/** Pids printed by a script as `pid <n>` lines. */
const pids = (text: string) => [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));

/** A bash script that starts a grandchild `sleep 30`, prints both pids, then runs `body`. */
const withGrandchild = (body: string) => `sleep 30 &\necho "pid $$"\necho "pid $!"\n${body}\n`;

/** A bash script whose background `sleep 30` leaves the run's group and session (`setsid`), prints its pid, then runs `body`. */
const withEscapee = (body: string) => `setsid sleep 30 >/dev/null 2>&1 &\necho "pid $!"\n${body}\n`;

describe('CommandBackend', () => {
  it('streams stdout as answer text while the program is still running', async () => {
    const backend = new CommandBackend(
      await script(
        'slow.mjs',
        'node',
        `process.stdout.write('first line\\n');
         setTimeout(() => process.stdout.write('second line\\n'), 200);`,
      ),
    );
    const events = await collect(backend);
    expect(answer(events)).toBe('first line\nsecond line\n');
    const texts = events.filter(({ event }) => event.type === 'text');
    expect(texts.length).toBeGreaterThanOrEqual(2);
    // The first line was delivered before the program's 200 ms pause ended, so before it exited.
    expect((events.at(-1)?.at ?? 0) - (texts[0]?.at ?? 0)).toBeGreaterThanOrEqual(150);
    expect(done(events)).toEqual({ type: 'done', ok: true });
  });

  it('decodes a UTF-8 character split across two writes', async () => {
    const backend = new CommandBackend(
      await script(
        'utf8.mjs',
        'node',
        `const bytes = Buffer.from('café ☕');
         process.stdout.write(bytes.subarray(0, 4));
         setTimeout(() => process.stdout.write(bytes.subarray(4)), 50);`,
      ),
    );
    expect(answer(await collect(backend))).toBe('café ☕');
  });

  it('delivers the prompt on stdin and merges backend and request environment', async () => {
    const options = await script(
      'echo.mjs',
      'node',
      `let input = '';
       process.stdin.on('data', (c) => { input += c; });
       process.stdin.on('end', () => process.stdout.write(input + '|' + process.env.FROM_BACKEND + '|' + process.env.FROM_REQUEST));`,
    );
    const backend = new CommandBackend({ ...options, env: { FROM_BACKEND: 'b', FROM_REQUEST: 'overridden' } });
    const events = await collect(backend, request({ prompt: 'Ünïcode question?', env: { FROM_REQUEST: 'r' } }));
    expect(answer(events)).toBe('Ünïcode question?|b|r');
    expect(done(events)).toEqual({ type: 'done', ok: true });
  });

  it('fails with the exit status and the last stderr line, logging stderr as warnings', async () => {
    const backend = new CommandBackend(
      await script('fail.sh', 'bash', `echo partial answer\necho "warming up" >&2\necho "disk on fire" >&2\nexit 3\n`),
    );
    const events = await collect(backend);
    expect(answer(events)).toBe('partial answer\n');
    expect(logs(events)).toEqual([
      { type: 'log', level: 'warn', text: 'warming up' },
      { type: 'log', level: 'warn', text: 'disk on fire' },
    ]);
    expect(done(events)).toEqual({
      type: 'done',
      ok: false,
      error: 'exited with status 3: disk on fire',
      reason: 'agent_error',
    });
  });

  it('names the signal that killed the program', async () => {
    const backend = new CommandBackend(await script('signal.sh', 'bash', 'kill -USR1 $$\n'));
    expect(done(await collect(backend))).toEqual({
      type: 'done',
      ok: false,
      error: 'killed by signal SIGUSR1',
      reason: 'agent_error',
    });
  });

  it('turns control lines into progress, log and usage events, keeping them out of the answer', async () => {
    const backend = new CommandBackend(
      await script(
        'protocol.mjs',
        'node',
        `const M = '@@claude-comms ';
         const out = (s) => process.stdout.write(s);
         out('Looking into it.\\n');
         out(M + '{"progress": 40}\\n' + M.slice(0, 6));
         setTimeout(() => {
           out(M.slice(6) + '{"criterion": "tests pass"}\\n');
           out(M + '{"log": "ran 12 tests", "level": "warn"}\\n');
           out(M + '{"cost_usd": 0.01, "tokens_in": 100, "tokens_out": 20}\\n');
           out(M + '{"cost_usd": 0.02}\\n');
           out(M + '{"iteration": 3}\\n');
           out('Done: not ' + M + 'a control line\\n');
           out(M + '{"progress": 100}');
         }, 50);`,
      ),
    );
    const events = (await collect(backend)).map(({ event }) => event);
    expect(events).toEqual([
      { type: 'text', text: 'Looking into it.\n' },
      { type: 'progress', percent: 40 },
      { type: 'progress', criterion: 'tests pass' },
      { type: 'log', level: 'warn', text: 'ran 12 tests' },
      { type: 'usage', costUsd: 0.01, tokensIn: 100, tokensOut: 20 },
      { type: 'usage', costUsd: 0.02, tokensIn: 100, tokensOut: 20 },
      { type: 'progress', iteration: 3 },
      { type: 'text', text: 'Done: not @@claude-comms a control line\n' },
      { type: 'progress', percent: 100 },
      { type: 'done', ok: true },
    ]);
  });

  it('reports a malformed control line as a warning and carries on', async () => {
    const backend = new CommandBackend(
      await script(
        'malformed.sh',
        'bash',
        `echo '@@claude-comms {"progress": 40'\necho '@@claude-comms {"progress": "most"}'\necho still answering\n`,
      ),
    );
    const events = await collect(backend);
    const warnings = logs(events);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      text: expect.stringMatching(/^malformed control line .*progress/),
    });
    expect(warnings[1]).toMatchObject({ level: 'warn', text: expect.stringContaining('progress must be a number') });
    expect(answer(events)).toBe('still answering\n');
    expect(done(events)).toEqual({ type: 'done', ok: true });
  });

  it('ends with a failed done naming a program that does not exist', async () => {
    const events = await collect(new CommandBackend({ command: 'no-such-agent-program' }));
    expect(events.map(({ event }) => event)).toEqual([
      { type: 'done', ok: false, error: 'command not found: no-such-agent-program', reason: 'not_installed' },
    ]);
  });

  it('ends with a failed done naming a working directory that does not exist', async () => {
    const missing = join(dir, 'gone');
    const events = await collect(new CommandBackend({ command: 'true' }), request({ cwd: missing }));
    expect(events.map(({ event }) => event)).toEqual([
      { type: 'done', ok: false, error: `working directory ${missing} does not exist`, reason: 'agent_error' },
    ]);
  });

  it('kills the program and its children after the idle timeout', async () => {
    const options = await script('idle.sh', 'bash', withGrandchild('sleep 30'));
    const events = await collect(new CommandBackend({ ...options, idleTimeoutMs: 300 }));
    expect(done(events)).toEqual({ type: 'done', ok: false, error: 'no output for 300 ms', reason: 'idle' });
    const started = pids(answer(events));
    expect(started).toHaveLength(2);
    for (const pid of started) expect(alive(pid)).toBe(false);
  });

  it('kills a program that keeps talking once the whole run takes too long', async () => {
    const options = await script('chatty.sh', 'bash', withGrandchild('while true; do echo tick; sleep 0.05; done'));
    const events = await collect(new CommandBackend({ ...options, timeoutMs: 500, idleTimeoutMs: 300 }));
    expect(done(events)).toEqual({ type: 'done', ok: false, error: 'timed out after 500 ms', reason: 'timeout' });
    const started = pids(answer(events));
    expect(started).toHaveLength(2);
    for (const pid of started) expect(alive(pid)).toBe(false);
  });

  it('kills a program that ignores SIGTERM after the grace period', async () => {
    const options = await script('stubborn.sh', 'bash', `trap '' TERM\n${withGrandchild('sleep 30')}`);
    const events = await collect(new CommandBackend({ ...options, timeoutMs: 200 }));
    expect(done(events)).toEqual({ type: 'done', ok: false, error: 'timed out after 200 ms', reason: 'timeout' });
    for (const pid of pids(answer(events))) expect(alive(pid)).toBe(false);
  });

  it('stops the program when the request is aborted mid-stream', async () => {
    const options = await script('abort.sh', 'bash', withGrandchild('sleep 30'));
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    for await (const event of new CommandBackend(options).run(request({ signal: controller.signal }))) {
      events.push(event);
      if (event.type === 'text') controller.abort();
    }
    expect(events.at(-1)).toEqual({ type: 'done', ok: false, error: 'cancelled', reason: 'cancelled' });
    const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
    for (const pid of pids(text)) expect(alive(pid)).toBe(false);
  });

  it('does not start the program for an already aborted request', async () => {
    const marker = join(dir, 'started');
    const options = await script('touch.sh', 'bash', `touch ${marker}\n`);
    const events = await collect(new CommandBackend(options), request({ signal: AbortSignal.abort() }));
    expect(events.map(({ event }) => event)).toEqual([
      { type: 'done', ok: false, error: 'cancelled', reason: 'cancelled' },
    ]);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('kills the program and its children when the consumer stops reading', async () => {
    const options = await script('break.sh', 'bash', withGrandchild('sleep 30'));
    let text = '';
    for await (const event of new CommandBackend(options).run(request())) {
      if (event.type === 'text') text += event.text;
      if (pids(text).length === 2) break;
    }
    const started = pids(text);
    expect(started).toHaveLength(2);
    for (const pid of started) expect(alive(pid)).toBe(false);
  });

  it('ends the children a program leaves behind when it exits', async () => {
    const options = await script('orphan.sh', 'bash', 'sleep 30 >/dev/null 2>&1 &\necho "pid $!"\n');
    const events = await collect(new CommandBackend(options));
    expect(done(events)).toEqual({ type: 'done', ok: true });
    const [orphan] = pids(answer(events));
    expect(alive(orphan as number)).toBe(false);
  });

  it.each([
    ['ends by itself', {}, '', { type: 'done', ok: true }],
    [
      'times out',
      { timeoutMs: 300 },
      'sleep 30',
      { type: 'done', ok: false, error: 'timed out after 300 ms', reason: 'timeout' },
    ],
    ['is cancelled', {}, 'sleep 30', { type: 'done', ok: false, error: 'cancelled', reason: 'cancelled' }],
  ])('ends what escaped to a session of its own when the run %s', async (how, extra, body, expected) => {
    const options = await script(`escape-${how.replaceAll(' ', '-')}.sh`, 'bash', withEscapee(body));
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    for await (const event of new CommandBackend({ ...options, ...extra }).run(
      request({ signal: controller.signal }),
    )) {
      events.push(event);
      if (how === 'is cancelled' && event.type === 'text') controller.abort();
    }
    expect(events.at(-1)).toEqual(expected);
    const [escaped] = pids(events.map((e) => (e.type === 'text' ? e.text : '')).join(''));
    expect(escaped).toBeGreaterThan(0);
    expect(alive(escaped as number)).toBe(false);
  });

  it('ends what escaped to a session of its own while it replaces its program, when the run ends by itself', async () => {
    // Each escaped process execs itself over and over, so the run's end finds it in the middle of an exec, when its
    // environment (and the run's marker in it) reads empty.
    const options = await script(
      'escape-exec.sh',
      'bash',
      `s='exec sh -c "$0" "$0"'\nfor i in 1 2 3; do setsid sh -c "$s" "$s" >/dev/null 2>&1 & echo "pid $!"; done\n`,
    );
    const events = await collect(new CommandBackend(options));
    const escaped = pids(answer(events));
    const left = escaped.filter((pid) => alive(pid));
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(done(events)).toEqual({ type: 'done', ok: true });
    expect(escaped).toHaveLength(3);
    expect(left).toEqual([]);
  });

  it('tells the process tracker of its run before it starts and of its group, ended once nothing of it runs', async () => {
    const options = await script(
      'tracked.sh',
      'bash',
      'sleep 30 >/dev/null 2>&1 &\necho "pid $$"\necho "run $CLAUDE_COMMS_RUN"\n',
    );
    const calls: string[] = [];
    let leftWhenEnded: number[] | undefined;
    const processes: ProcessTracker = {
      runStarting: (run) => calls.push(`run ${run}`),
      started: (pgid) => calls.push(`started ${pgid}`),
      ended: (pgid) => {
        calls.push(`ended ${pgid}`);
        leftWhenEnded = groupMembers(pgid);
      },
      runEnded: (run) => calls.push(`run ended ${run}`),
    };
    const events = await collect(new CommandBackend(options), request({ processes }));
    const [leader] = pids(answer(events));
    const run = /run (\S+)/.exec(answer(events))?.[1];
    expect(run).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls).toEqual([`run ${run}`, `started ${leader}`, `ended ${leader}`, `run ended ${run}`]);
    // The program's leftover `sleep` was killed before the group was reported ended.
    expect(leftWhenEnded).toEqual([]);
  });
});

describe('CommandOutputParser', () => {
  it('passes text on at once unless it may begin a control line', () => {
    const parser = new CommandOutputParser();
    expect(parser.push('Hel')).toEqual([{ type: 'text', text: 'Hel' }]);
    expect(parser.push('lo\n@@clau')).toEqual([{ type: 'text', text: 'lo\n' }]);
    expect(parser.push('de')).toEqual([]);
    expect(parser.push('-comms? no\n')).toEqual([{ type: 'text', text: '@@claude-comms? no\n' }]);
  });

  it('treats a marker-only prefix left at the end of output as text', () => {
    const parser = new CommandOutputParser();
    expect(parser.push('@@')).toEqual([]);
    expect(parser.end()).toEqual([{ type: 'text', text: '@@' }]);
  });

  it('warns about a control message with no known field', () => {
    const parser = new CommandOutputParser();
    expect(parser.push('@@claude-comms {"percent": 3}\n')).toEqual([
      {
        type: 'log',
        level: 'warn',
        text: expect.stringContaining('expected one of progress, iteration, criterion, log or cost_usd'),
      },
    ]);
  });
});
