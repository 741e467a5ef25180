// Text from the hub shown on a terminal: a module whose answer, log lines and description carry terminal control
// sequences (clipboard write, disguised link, window title, clear screen, 8-bit CSI, bidi override, a lone
// carriage return), asked a question that carries them too. Every command that shows that text prints them
// visibly escaped, on stdout and stderr; `--json` gives back the exact text.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killStarted,
  type Run,
  type Running,
  requireBuild,
  runCli,
  runCliOnTerminal,
  startCli,
} from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'cc-safe-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE', 'NO_COLOR']) delete env[name];

const HOSTILE = [
  '\u001b]52;c;cm0gLXJmIH4K\u0007', // OSC 52: write to the clipboard
  '\u001b]8;;https://evil.example/\u001b\\docs\u001b]8;;\u001b\\', // OSC 8: a link disguised as "docs"
  '\u001b]0;pwned\u0007', // OSC 0: the window title
  '\u001b[2J', // clear the screen
  '\u009b31m', // 8-bit CSI
  'abc\u202eexe.txt', // bidi override
  'safe\rEVIL', // a lone carriage return overwrites the line
].join(' ');
const PROMPT = `Which structure? ${HOSTILE}`;
const ANSWER = `Sections:\tcafé 👍\n${HOSTILE}\n`;
/** Answers with HOSTILE in its text, its log and its stderr; fails when asked to. */
const AGENT = `let q = '';
process.stdin.on('data', (d) => (q += d));
await new Promise((r) => process.stdin.on('end', r));
const hostile = ${JSON.stringify(HOSTILE)};
process.stdout.write(${JSON.stringify(ANSWER)});
process.stdout.write('@@claude-comms ' + JSON.stringify({ progress: 50, log: hostile }) + '\\n');
process.stderr.write(hostile + '\\n');
process.exit(q.includes('please fail') ? 1 : 0);`;

/** What a terminal would act on: control characters (a CR only outside a CRLF line break), DEL, C1, bidi. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function expectShownEscaped(run: Run): void {
  expect(run.stdout).not.toMatch(RAW);
  expect(run.stderr).not.toMatch(RAW);
}

const cli = (...args: string[]) => runCli(env, args);

/** Our own escapes: colours, and clearing the line a progress bar is redrawn on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const OWN = /\u001b\[(?:[0-9;]*m|G|K)/g;

/** What the CLI shows on a terminal, stdout and stderr together. */
async function onTerminal(...args: string[]): Promise<string> {
  const run = await runCliOnTerminal(env, args);
  expect(run.code).toBe(0);
  return run.stdout;
}
let service: Running;
let threadId = '';
let messageId = '';
let taskId = '';

beforeAll(async () => {
  requireBuild();
  writeFileSync(join(home, 'hostile.mjs'), AGENT);
  // YAML reads \\u escapes in double quotes; the description is hostile too.
  const description = JSON.stringify(HOSTILE).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  writeFileSync(
    join(home, 'config.yaml'),
    `modules:\n  hostile:\n    cwd: .\n    backend: command\n    description: ${description}\n    command: ${JSON.stringify(process.execPath)}\n    args: [hostile.mjs]\n`,
  );
  service = startCli(env, ['serve', '--port', '0']);
  await service.until((s) => /serving at http:\S+/.test(s.stdout), 'the service to listen');
  const asked = await cli('ask', 'hostile', PROMPT, '--json');
  ({ threadId, messageId, taskId } = JSON.parse(asked.stdout) as {
    threadId: string;
    messageId: string;
    taskId: string;
  });
  expect((await cli('watch', messageId)).code).toBe(0);
});

afterAll(async () => {
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

describe('text from the hub on a terminal', () => {
  it('ask --wait and watch show the answer, its log and a failure escaped; --json keeps the answer exact', async () => {
    const [waited, watched, failed, json] = await Promise.all([
      cli('ask', 'hostile', PROMPT, '--wait'),
      cli('watch', messageId),
      cli('ask', 'hostile', `please fail ${HOSTILE}`, '--wait'),
      cli('ask', 'hostile', PROMPT, '--wait', '--json'),
    ]);
    for (const run of [waited, watched, failed, json]) expectShownEscaped(run);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('Sections:\tcafé 👍\n\\x1b]52;c;cm0gLXJmIH4K\\x07 ');
    expect(waited.stdout).toContain('\\x1b]8;;https://evil.example/\\x1b\\docs');
    expect(waited.stdout).toContain('\\x9b31m abc\\u202eexe.txt safe\\rEVIL\n');
    expect(waited.stderr).toContain('· \\x1b]52;c;');
    expect(watched.stdout).toBe(waited.stdout);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/\nfailed: .*\\x1b\]0;pwned\\x07/);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message?: { content: string } });
    expect(lines.at(-1)).toMatchObject({ type: 'result', status: 'complete', message: { content: ANSWER } });
  });

  it('threads, threads show, task list, task status, modules and poll show escape it; --json keeps it exact', async () => {
    const runs = await Promise.all([
      cli('threads'),
      cli('threads', 'show', threadId),
      cli('task', 'list'),
      cli('task', 'status', taskId),
      cli('modules'),
      cli('poll', 'show', messageId),
      cli('threads', 'show', threadId, '--json'),
      cli('task', 'list', '--json'),
    ]);
    for (const run of runs) expectShownEscaped(run);
    const [threads, shown, tasks, status, modules, polled, shownJson, tasksJson] = runs as Run[];
    expect(threads?.stdout).toContain('Which structure? \\x1b]52;c;');
    expect(shown?.stdout).toContain('  Which structure? \\x1b]52;c;cm0gLXJmIH4K\\x07');
    expect(shown?.stdout).toContain('  \\x1b]52;c;cm0gLXJmIH4K\\x07 \\x1b]8;;');
    expect(tasks?.stdout).toContain('hostile answers cli: Which structure? \\x1b]52;c;');
    expect(status?.stdout).toMatch(/warn {2}\\x1b\]52;c;/);
    expect(modules?.stdout).toContain('\\x1b]52;c;');
    expect(polled?.stdout).toContain('  \\x1b]52;c;cm0gLXJmIH4K\\x07 \\x1b]8;;');
    const thread = JSON.parse(shownJson?.stdout ?? '') as { title: string; messages: { content: string }[] };
    expect(thread.title).toBe(PROMPT.slice(0, 120));
    expect(thread.messages.map((m) => m.content)).toEqual([PROMPT, ANSWER]);
    const listed = JSON.parse(tasksJson?.stdout ?? '') as { tasks: { id: string; name: string }[] };
    expect(listed.tasks.find((t) => t.id === taskId)?.name).toBe(`hostile answers cli: ${PROMPT.slice(0, 80)}`);
  });

  it('on a terminal, our colours and progress line still work while escapes from the hub show escaped', async () => {
    const [shown, watched] = await Promise.all([
      onTerminal('threads', 'show', threadId),
      onTerminal('watch', messageId),
    ]);
    expect(shown).toContain('\u001b[1mWhich structure? \\x1b]52;c;');
    expect(watched).toContain('\u001b[32mcomplete\u001b[39m');
    expect(watched).toContain('\u001b[G\u001b[K');
    for (const out of [shown, watched]) {
      expect(out).toContain('\\x1b]52;c;cm0gLXJmIH4K\\x07 \\x1b]8;;');
      expect(out.replace(OWN, '')).not.toMatch(RAW);
    }
  });

  it('events shows the log escaped; events --json keeps it exact', async () => {
    const [events, json] = await Promise.all([cli('events'), cli('events', '--json')]);
    expectShownEscaped(events);
    expectShownEscaped(json);
    expect(events.stdout).toContain('\\u001b]52;c;');
    const created = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; threadId?: string; data: { title?: string } })
      .find((e) => e.type === 'thread.created' && e.threadId === threadId);
    expect(created?.data.title).toBe(PROMPT.slice(0, 120));
  });

  it('an error naming what was asked for shows it escaped on stderr', async () => {
    const runs = await Promise.all([
      cli('ask', 'nobody\u001b]0;pwned\u0007', 'Hello?'),
      cli('threads', 'show', 'nothing\u001b]52;c;eA==\u0007'),
    ]);
    for (const run of runs) {
      expectShownEscaped(run);
      expect(run.code).toBe(1);
    }
    expect(runs[0]?.stderr).toContain("'nobody\\x1b]0;pwned\\x07'");
    expect(runs[1]?.stderr).toContain('nothing\\x1b]52;c;eA==\\x07');
  });
});
