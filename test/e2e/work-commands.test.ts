// The day-to-day commands run as a user runs them (the built bin, in child processes) against a real service
// started with `serve` in a temporary data home whose modules are small node programs; then, once the service
// has stopped, against the same database opened directly.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, type Run, type Running, requireBuild, runCli, startCli } from '../support/cli.js';

const home = mkdtempSync(join(tmpdir(), 'cc-work-'));
const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_COMMS_HOME: home, NO_COLOR: '1' };
for (const name of ['CLAUDE_COMMS_DATABASE', 'CLAUDE_COMMS_TOKEN', 'CLAUDE_COMMS_MODULE']) delete env[name];

const ANSWER_PARTS = ['Sections with page spans;\n', 'tables as header and rows;\n', 'figures with captions.\n'];
/** Streams its answer in parts, reporting progress and a log line after each. */
const WRITER = `let q = '';
process.stdin.on('data', (d) => (q += d));
await new Promise((r) => process.stdin.on('end', r));
const parts = [\`You asked: \${q.trim()}\\n\`, ...${JSON.stringify(ANSWER_PARTS)}];
for (const [i, part] of parts.entries()) {
  process.stdout.write(part);
  process.stdout.write('@@claude-comms ' + JSON.stringify({ progress: ((i + 1) / parts.length) * 100, log: 'part ' + (i + 1) }) + '\\n');
  await new Promise((r) => setTimeout(r, 250));
}`;
const answerTo = (question: string) => [`You asked: ${question}\n`, ...ANSWER_PARTS].join('');

/** A line of `--json` output from a watch. */
interface JsonLine {
  type: string;
  messageId?: string;
  message?: { content: string };
  data?: { delta?: string };
}

function start(args: string[]): Running {
  return startCli(env, args);
}

/** Runs the command with `extraEnv` added to the environment, to its end. */
function cliWith(extraEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return runCli({ ...env, ...extraEnv }, args);
}

function cli(...args: string[]): Promise<Run> {
  return cliWith({}, ...args);
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
let service: Running;
let url = '';

async function status(messageId: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/messages/${messageId}`);
  return ((await res.json()) as { status: string }).status;
}

beforeAll(async () => {
  requireBuild();
  writeFileSync(join(home, 'writer.mjs'), WRITER);
  writeFileSync(join(home, 'broken.mjs'), `process.stderr.write('the index is missing\\n'); process.exit(3);`);
  writeFileSync(
    join(home, 'slow.mjs'),
    `process.stdout.write('thinking\\n@@claude-comms {"progress": 10}\\n'); setTimeout(() => {}, 60_000);`,
  );
  // Reports its cost and iteration after each step, then would go on for a minute: only a budget stops it.
  writeFileSync(
    join(home, 'spender.mjs'),
    `for (const [i, cost] of [0.2, 0.4, 0.6].entries()) {
  process.stdout.write('spent ' + cost + '\\n@@claude-comms ' + JSON.stringify({ iteration: i + 1, cost_usd: cost }) + '\\n');
  await new Promise((r) => setTimeout(r, 50));
}
setTimeout(() => {}, 60_000);`,
  );
  const module = (name: string, extra = '') =>
    `  ${name}:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [${name}.mjs]\n${extra}`;
  writeFileSync(
    join(home, 'config.yaml'),
    `modules:\n${module('writer', '    description: Writes answers in parts\n')}${module('broken')}${module('slow', '    concurrency: 3\n')}${module('spender', '    maxIterations: 2\n')}`,
  );
  service = start(['serve', '--port', '0']);
  await service.until((s) => /serving at (http:\S+)/.test(s.stdout), 'the service to listen');
  url = /serving at (http:\S+)/.exec(service.stdout)?.[1] ?? '';
});

afterAll(async () => {
  if (service.child.exitCode === null) {
    service.child.kill('SIGINT');
    await service.exit;
  }
  killStarted();
});

describe('claude-comms day-to-day commands', () => {
  let threadId = '';
  let taskId = '';

  it('asks through the running service and streams the answer with its progress, exiting 0', async () => {
    const run = await cli('ask', 'writer', 'Which structure?', '--wait');
    expect(run.stderr).toContain(`claude-comms: using the service at ${url}\n`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(answerTo('Which structure?'));
    // Seen live: the progress of each part, its log line, and the end.
    expect(run.stderr).toMatch(/\[█████░+\] {2}25% {2}iteration 0 {2}\$0\.0000/);
    expect(run.stderr).toContain('· part 2\n');
    expect(run.stderr).toMatch(/\] 100%/);
    expect(run.stderr).toMatch(/\ncomplete in \d/);
    threadId = new RegExp(`thread (${UUID})`).exec(run.stderr)?.[1] ?? '';
    expect(threadId).not.toBe('');
  });

  it('without --wait prints the ids and how to watch; watch follows a reply, or its task, to the end', async () => {
    const asked = await cli('ask', 'writer', 'Second question', '--from', 'marker');
    expect(asked.code).toBe(0);
    const [, messageId, askTaskId] = new RegExp(`reply +(${UUID})\\n +task +(${UUID})\\n +thread +${UUID}\\n`).exec(
      asked.stdout,
    ) ?? ['', '', ''];
    expect(asked.stdout).toContain(`watch it: claude-comms watch ${messageId}\n`);
    const [byMessage, byTask, unknown] = await Promise.all([
      cli('watch', messageId as string),
      cli('watch', askTaskId as string),
      cli('watch', '01a1fd12-0000-7000-8000-000000000000'),
    ]);
    expect([byMessage.code, byMessage.stdout]).toEqual([0, answerTo('Second question')]);
    expect(byMessage.stderr).toContain(`watching reply ${messageId} from writer`);
    expect([byTask.code, byTask.stdout]).toEqual([0, answerTo('Second question')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'claude-comms: no message or task with id 01a1fd12-0000-7000-8000-000000000000 [not_found]',
    );
  });

  it('exits 1 with the reason when the module fails', async () => {
    const run = await cli('ask', 'broken', 'Where is the index?', '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\nfailed: .*the index is missing/);
  });

  it('retries a failed reply, by its id or its task’s, as a new reply to the same question', async () => {
    const failed = JSON.parse((await cli('ask', 'broken', 'Where is it now?', '--json')).stdout);
    expect((await cli('watch', failed.messageId)).code).toBe(1);
    const run = await cli('retry', failed.messageId, '--json');
    expect(run.code).toBe(0);
    const retried = JSON.parse(run.stdout);
    expect(retried).toMatchObject({ threadId: failed.threadId, questionId: failed.questionId });
    const reply = await (await fetch(`${url}/api/v1/messages/${retried.messageId}`)).json();
    expect(reply).toMatchObject({ retryOf: failed.messageId, taskId: retried.taskId });
    expect((await cli('threads', 'show', failed.threadId)).stdout).toContain(
      `${retried.messageId} · retry of ${failed.messageId}`,
    );
    expect((await cli('task', 'status', retried.taskId)).stdout).toMatch(new RegExp(`retry of +task ${failed.taskId}`));
    const waited = await cli('retry', retried.taskId, '--wait');
    expect(waited.code).toBe(1);
    expect(waited.stderr).toMatch(/\nfailed: .*the index is missing/);
    const answered = JSON.parse((await cli('ask', 'writer', 'Done?', '--json')).stdout);
    expect((await cli('watch', answered.messageId)).code).toBe(0);
    const refused = await cli('retry', answered.messageId);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('only a failed or cancelled reply can be retried');
  });

  it('asks with a budget: a run past it fails with the limit and the figure, shown by ask and task status', async () => {
    const run = await cli('ask', 'spender', 'Spend', '--max-cost', '0.5', '--max-iterations', '10', '--wait');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('spent 0.2\nspent 0.4\nspent 0.6\n');
    expect(run.stderr).toContain('\nfailed: budget exceeded: cost $0.60 passed the limit of $0.50');
    const taskOf = new RegExp(`task (${UUID})`).exec(run.stderr)?.[1] ?? '';
    const shown = await cli('task', 'status', taskOf);
    expect(shown.stdout).toMatch(/status +failed/);
    expect(shown.stdout).toMatch(/iteration +3 of 10\n/);
    expect(shown.stdout).toMatch(/cost +\$0\.6000 of \$0\.5000/);
    expect(shown.stdout).toMatch(/error +budget exceeded: cost \$0\.60 passed the limit of \$0\.50\n/);
    // Without limits of its own, the ask has the module's (maxIterations: 2 in config.yaml).
    const byDefault = await cli('ask', 'spender', 'Spend again', '--wait');
    expect(byDefault.code).toBe(1);
    expect(byDefault.stderr).toContain('\nfailed: budget exceeded: iterations 3 passed the limit of 2');
  });

  it('refuses a bad limit with exit 2, naming the option', async () => {
    for (const [args, option] of [
      [['ask', 'spender', 'q', '--max-cost', '-1'], '--max-cost <usd>'],
      [['ask', 'spender', 'q', '--max-cost', 'lots'], '--max-cost <usd>'],
      [['ask', 'spender', 'q', '--max-cost', '1e9'], '--max-cost <usd>'],
      [['ask', 'spender', 'q', '--max-iterations', '2.5'], '--max-iterations <n>'],
      [['ask', 'spender', 'q', '--max-iterations', '0'], '--max-iterations <n>'],
      [['task', 'create', 'Budgeted', '--max-cost', 'NaN'], '--max-cost <usd>'],
    ]) {
      const run = await cli(...(args as string[]));
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain(`option '${option}' argument`);
    }
  });

  it('exits 2 at --timeout, leaving the reply running', async () => {
    const run = await cli('ask', 'slow', 'Take your time', '--wait', '--timeout', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/timed out after 1 s; the reply is still (pending|processing)/);
    const id = new RegExp(`reply (${UUID})`).exec(run.stderr)?.[1] ?? '';
    expect(await status(id)).toMatch(/pending|processing/);
  });

  it('exits 130 on Ctrl-C, cancelling the reply only with --cancel-on-interrupt', async () => {
    const asked = await cli('ask', 'slow', 'Interrupt me', '--json');
    const { messageId } = JSON.parse(asked.stdout) as { messageId: string };
    const interrupt = async (...flags: string[]) => {
      const watch = start(['watch', messageId, ...flags]);
      await watch.until((w) => w.stderr.includes('watching reply'), 'the watch to start');
      watch.child.kill('SIGINT');
      return { code: await watch.exit, stderr: watch.stderr };
    };
    const stopped = await interrupt();
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted; the reply is still (pending|processing)/);
    expect(await status(messageId)).not.toBe('cancelled');
    const cancelled = await interrupt('--cancel-on-interrupt');
    expect(cancelled.code).toBe(130);
    expect(cancelled.stderr).toContain('interrupted; the reply was cancelled');
    expect(await status(messageId)).toBe('cancelled');
  });

  it('prints JSON for scripts: one document, or JSON lines from which the answer rebuilds exactly', async () => {
    const [asked, modules] = await Promise.all([
      cli('ask', 'writer', 'As JSON', '--wait', '--json'),
      cli('modules', '--json'),
    ]);
    expect(asked.code).toBe(0);
    const lines = asked.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JsonLine);
    expect(lines[0]).toMatchObject({ type: 'asked', messageId: expect.any(String) });
    expect(lines[1]).toMatchObject({ type: 'snapshot' });
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      status: 'complete',
      message: { content: answerTo('As JSON') },
    });
    const rebuilt =
      lines[1]?.message?.content +
      lines
        .filter((l) => l.type === 'message.content_updated')
        .map((l) => l.data?.delta)
        .join('');
    expect(rebuilt).toBe(answerTo('As JSON'));
    expect((JSON.parse(modules.stdout) as { modules: { name: string }[] }).modules.map((m) => m.name).sort()).toEqual([
      'broken',
      'slow',
      'spender',
      'writer',
    ]);
  });

  it('with --idempotency-key, a retried ask gives the first ask back and asks nothing new', async () => {
    const args = ['ask', 'slow', 'Only once, please', '--idempotency-key', 'e2e-once'];
    const first = await cli(...args, '--json');
    const again = await cli(...args, '--json');
    const text = await cli(...args);
    expect([first.code, again.code, text.code]).toEqual([0, 0, 0]);
    const [one, two] = [first, again].map((r) => JSON.parse(r.stdout) as Record<string, unknown>);
    expect(one).toMatchObject({ replayed: false });
    expect(two).toEqual({ ...one, replayed: true });
    expect(text.stderr).toContain('already asked with idempotency key e2e-once: nothing new was asked\n');
    expect(text.stdout).toMatch(new RegExp(`reply +${one?.messageId}\n`));
    const other = await cli('ask', 'slow', 'Something else', '--idempotency-key', 'e2e-once');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("request id 'e2e-once' was used for another question");
    const bad = await cli('ask', 'slow', 'Bad key', '--idempotency-key', 'check ✓');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--idempotency-key <key>');
    expect(bad.stderr).toContain('printable ASCII');
  });

  it('tracks a task by hand: create, update, verify, log, status and list', async () => {
    const [created, wrong] = await Promise.all([
      cli('task', 'create', 'Index the PDFs', '--criteria', 'all pages', 'tables kept', '--module', 'writer', '--json'),
      cli('task', 'update', '01a1fd12-0000-7000-8000-000000000000', '140'),
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("value '140' is invalid for argument 'percent'");
    expect(created.code).toBe(0);
    taskId = (JSON.parse(created.stdout) as { id: string }).id;
    const updated = await cli('task', 'update', taskId, '40', 'page 12 done', '--iteration', '2');
    expect(updated.stdout).toMatch(/\] {2}40% {2}processing/);
    const [verified, logged] = await Promise.all([
      cli('task', 'verify', taskId, '2'),
      cli('task', 'log', taskId, 'checked the tables', '--level', 'warn'),
    ]);
    expect(verified.stdout).toContain('1 of 2 criteria met');
    expect(logged.code).toBe(0);
    const [shown, listed, done] = await Promise.all([
      cli('task', 'status', taskId),
      cli('task', 'list', '--search', 'pdfs', '--module', 'writer'),
      cli('task', 'list', '--status', 'complete,failed', '--json'),
    ]);
    expect(shown.stdout).toContain('Index the PDFs\n');
    expect(shown.stdout).toMatch(/status +processing {2}\[.*\] {2}40%/);
    expect(shown.stdout).toMatch(/iteration +2\n/);
    expect(shown.stdout).toMatch(/· pending {2}1\. all pages\n +✓ pass {5}2\. tables kept/);
    expect(shown.stdout).toMatch(/info {2}page 12 done\n.*warn {2}checked the tables/);
    expect(listed.stdout).toMatch(/^ID +STATUS +PROGRESS +COST +MODULE +CREATED +NAME\n/);
    expect(listed.stdout).toMatch(
      new RegExp(`${taskId} +processing +40% +\\$0\\.0000 +writer +(just now|\\d+ s ago) +Index the PDFs\\n$`),
    );
    const finished = (JSON.parse(done.stdout) as { tasks: { id: string; status: string }[] }).tasks;
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.map((t) => t.id)).not.toContain(taskId);
  });

  it('searches threads, questions, answers and tasks by their words, newest first', async () => {
    const [table, json, logged, noWord, badKind] = await Promise.all([
      cli('search', 'which', 'STRUCT'),
      cli('search', 'PDFs', '--kind', 'task', '--json'),
      cli('search', 'page 12', '--status', 'processing', '--json'),
      cli('search', '"*:&|'),
      cli('search', 'pdfs', '--kind', 'file'),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^WHAT +ID +STATUS +MODULE +CREATED +MATCH$/);
    expect(lines[1]).toMatch(
      new RegExp(`^task +${UUID} +complete +writer +.* ago +writer answers cli: Which structure\\?$`),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^answer +${UUID} +complete +writer +.* ago +You asked: Which structure\\? Sections with page spans;`),
    );
    expect(lines[3]).toMatch(new RegExp(`^question +${UUID} +complete +cli +.* ago +Which structure\\?$`));
    expect(lines[4]).toMatch(new RegExp(`^thread +${threadId} +— +cli +.* ago +Which structure\\?$`));
    expect(lines.slice(5)).toEqual(['']);
    expect(JSON.parse(json.stdout)).toEqual({
      hits: [
        expect.objectContaining({
          kind: 'task',
          id: taskId,
          field: 'name',
          snippet: [
            { text: 'Index the ', match: false },
            { text: 'PDFs', match: true },
          ],
        }),
      ],
    });
    expect(JSON.parse(logged.stdout).hits).toEqual([
      expect.objectContaining({ id: taskId, field: 'log', status: 'processing' }),
    ]);
    expect(noWord.code).toBe(1);
    expect(noWord.stderr).toContain('q holds no word to search for (a word is made of letters or digits) [validation]');
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain("argument 'file' is invalid");
  });

  it('shows threads, a conversation, modules and instances as tables, and pauses an instance', async () => {
    const [threads, conversation, modules, instances] = await Promise.all([
      cli('threads'),
      cli('threads', 'show', threadId),
      cli('modules'),
      cli('instances', '--module', 'writer'),
    ]);
    expect(threads.stdout).toMatch(/^ID +UPDATED +BY +TITLE\n/);
    expect(threads.stdout).toMatch(new RegExp(`${threadId} +\\S.* +cli +Which structure\\?\\n`));
    expect(conversation.stdout).toMatch(/^Which structure\?\nthread .* started by cli/);
    expect(conversation.stdout).toMatch(/\ncli \(user\) · complete · .*\n.*\n {2}Which structure\?\n/);
    expect(conversation.stdout).toMatch(
      /\nwriter \(assistant\) · complete · .* · took .*\n.*\n {2}You asked: Which structure\?\n {2}Sections/,
    );
    expect(modules.stdout).toMatch(/^NAME +BACKEND +HEALTH +PAUSED +BUSY\/IDLE\/PAUSED +DESCRIPTION\n/);
    expect(modules.stdout).toMatch(/\nwriter +command +healthy +no +0\/1\/0 +Writes answers in parts\n/);
    expect(instances.stdout).toMatch(/^ID +MODULE +STATE +RUNS +LAST ACTIVE +ANSWERING\n/);
    const instanceId = new RegExp(`(${UUID}) +writer +idle +\\d+ `).exec(instances.stdout)?.[1] ?? '';
    expect(instanceId).not.toBe('');
    expect((await cli('instances', 'pause', instanceId)).stdout).toBe(`instance ${instanceId} (writer) is paused\n`);
    expect((await cli('instances', 'resume', instanceId)).stdout).toBe(`instance ${instanceId} (writer) is idle\n`);
  });

  it('creates a token once, lists and revokes it in the database; the service then refuses it', async () => {
    const created = await cli('token', 'create', '--label', 'ci');
    expect(created.stdout).toMatch(/^cc_\S{20,}\n$/);
    expect(created.stderr).toContain(
      `tokens are managed in the database; using the database ${join(home, 'comms.db')} directly`,
    );
    expect(created.stderr).toContain('shown only this once');
    const token = { CLAUDE_COMMS_TOKEN: created.stdout.trim() };
    const id = new RegExp(`token (${UUID})`).exec(created.stderr)?.[1] ?? '';
    // Listed while the token is first used: its last use may or may not be shown yet.
    const [listed, accepted] = await Promise.all([cli('token', 'list'), cliWith(token, 'threads')]);
    expect(listed.stdout).toMatch(
      new RegExp(`${id} +active +any +(just now|\\d+ s ago) +(—|just now|\\d+ s ago) +ci\\n`),
    );
    expect(accepted.code).toBe(0);
    expect((await cli('token', 'revoke', id)).stdout).toBe(`token ${id} revoked\n`);
    const refused = await cliWith(token, 'threads');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'claude-comms: the token in CLAUDE_COMMS_TOKEN is unknown or revoked: set CLAUDE_COMMS_TOKEN to an API token (claude-comms token create) [unauthorized]\n',
    );
  });

  it('without a service, opens the database directly and says so; an ask then waits with a hint', async () => {
    service.child.kill('SIGINT');
    expect(await service.exit).toBe(0);
    const [tasks, threads, asked, found] = await Promise.all([
      cli('task', 'list'),
      cli('threads'),
      cli('ask', 'writer', 'Anyone there?', '--wait', '--timeout', '0.5'),
      cli('search', 'pdfs', '--json'),
    ]);
    const direct = `claude-comms: no service running; using the database ${join(home, 'comms.db')} directly\n`;
    for (const run of [tasks, threads, asked, found]) expect(run.stderr).toContain(direct);
    expect(JSON.parse(found.stdout).hits).toEqual([expect.objectContaining({ id: taskId, field: 'name' })]);
    expect(tasks.stdout).toMatch(new RegExp(`${taskId} +processing +40% .*Index the PDFs`));
    expect(threads.stdout).toContain('Which structure?');
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('no service is running, so nothing answers until `claude-comms serve`');
    expect(asked.stderr).toMatch(/timed out after 0\.5 s; the reply is still pending/);
  });
});
