// The claude-code backend with the real `claude` binary against the local Messages API stand-in.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claudeEnv, TEST_MODEL } from '../../test/support/claude-env.js';
import { type MessagesApi, startMessagesApi } from '../../test/support/messages-api.js';
import { alive } from '../../test/support/modules.js';
import { groupMembers } from '../../test/support/processes.js';
import { until } from '../../test/support/wait.js';
import type { ClaudeCodeSettings } from '../domain/module-settings.js';
import { ClaudeCodeBackend } from './claude-code-backend.js';
import type { AgentEvent, AgentRequest, ProcessTracker } from './types.js';

let api: MessagesApi;
beforeAll(async () => {
  api = await startMessagesApi();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

function repo(): string {
  return mkdtempSync(join(tmpdir(), 'cc-module-'));
}

async function collect(settings: ClaudeCodeSettings, request: Partial<AgentRequest>): Promise<AgentEvent[]> {
  const backend = new ClaudeCodeBackend({
    model: TEST_MODEL,
    env: claudeEnv(api.url),
    ...settings,
  });
  const events: AgentEvent[] = [];
  for await (const e of backend.run({
    cwd: repo(),
    prompt: 'What PDF structure do you need?',
    systemPrompt: 'You are the arangodb module.',
    signal: new AbortController().signal,
    ...request,
  })) {
    events.push(e);
  }
  return events;
}

/** Pids of live processes whose working directory is `dir` (Linux /proc). */
function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === dir && !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    })
    .map(Number);
}

const done = (events: AgentEvent[]) => events.at(-1) as Extract<AgentEvent, { type: 'done' }>;
const usage = (events: AgentEvent[]) =>
  events.find((e) => e.type === 'usage') as Extract<AgentEvent, { type: 'usage' }>;

describe('claude-code backend', () => {
  it('streams the answer, reports the session, per-run usage and success', async () => {
    api.script({ text: 'Sections with page spans.', chunks: 5 });
    const events = await collect({}, {});
    const texts = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text);
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join('')).toBe('Sections with page spans.');
    expect(events.some((e) => e.type === 'session')).toBe(true);
    expect(usage(events)).toMatchObject({ turns: 1, tokensIn: 12 });
    expect(usage(events).tokensOut).toBeGreaterThan(0);
    expect(usage(events).costUsd).toBeGreaterThan(0);
    expect(done(events)).toEqual({ type: 'done', ok: true });
    // The module's system prompt reached the model, appended to Claude Code's own.
    expect(JSON.stringify(api.requests.at(-1)?.body.system)).toContain('You are the arangodb module.');
  });

  it('reports a Write tool use with the file it created', async () => {
    const cwd = repo();
    const file = join(cwd, 'schema.json');
    api.script({ toolUse: { name: 'Write', input: { file_path: file, content: '{}' } } }, { text: 'Done.' });
    const events = await collect({ permissionMode: 'acceptEdits' }, { cwd });
    expect(events.find((e) => e.type === 'tool_use')).toMatchObject({ name: 'Write', path: file });
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ isError: false });
    expect(readFileSync(file, 'utf8')).toBe('{}');
    expect(usage(events).turns).toBe(2);
    expect(done(events).ok).toBe(true);
  });

  it('charges each resumed run its own cost, not the cumulative total', async () => {
    const cwd = repo();
    const env = claudeEnv(api.url);
    let session: string | undefined;
    let previous: number | undefined;
    const perRun: number[] = [];
    const totals: number[] = [];
    for (const answer of ['one', 'two', 'three']) {
      api.script({ text: answer });
      const events = await collect(
        { env },
        {
          cwd,
          ...(session ? { resumeSessionId: session } : {}),
          ...(previous !== undefined ? { previousSessionCostUsd: previous } : {}),
        },
      );
      session = (events.find((e) => e.type === 'session') as { sessionId: string }).sessionId;
      const u = usage(events);
      perRun.push(u.costUsd);
      totals.push(u.sessionCostUsd as number);
      previous = u.sessionCostUsd;
    }
    // The CLI's total grows with each resume; the per-run amounts add up to the last total.
    expect(totals[2]).toBeGreaterThan(totals[1] as number);
    expect(perRun.reduce((a, b) => a + b)).toBeCloseTo(totals[2] as number, 9);
    expect(perRun[1]).toBeCloseTo(perRun[0] as number, 9);
  });

  it('turns an API error reported as success into a failure', async () => {
    api.script({ error: { status: 500, message: 'scripted outage' } });
    const d = done(await collect({}, {}));
    expect(d).toMatchObject({ ok: false, reason: 'agent_error' });
    expect(d.error).toContain('scripted outage');
  });

  it('passes its iteration limit to the CLI as maxTurns and fails a run past it with budget_exceeded', async () => {
    const cwd = repo();
    api.script(
      { toolUse: { name: 'Bash', input: { command: 'true' } } },
      { toolUse: { name: 'Bash', input: { command: 'true' } } },
      { text: 'never reached' },
    );
    const before = api.requests.length;
    const events = await collect(
      { permissionMode: 'bypassPermissions' },
      { cwd, env: { IS_SANDBOX: '1' }, limits: { maxIterations: 1 } },
    );
    // The CLI took its one turn, then stopped rather than take a second: num_turns counts the turn it refused.
    expect(usage(events)).toMatchObject({ turns: 2 });
    expect(done(events)).toEqual({
      type: 'done',
      ok: false,
      reason: 'budget_exceeded',
      error: 'budget exceeded: iterations 2 passed the limit of 1',
    });
    expect(api.requests.length - before).toBe(1);
  });

  it('lets a run take exactly its iteration limit', async () => {
    api.script({ toolUse: { name: 'Bash', input: { command: 'true' } } }, { text: 'Two turns.' });
    const events = await collect(
      { permissionMode: 'bypassPermissions' },
      { env: { IS_SANDBOX: '1' }, limits: { maxIterations: 2 } },
    );
    expect(usage(events)).toMatchObject({ turns: 2 });
    expect(done(events)).toEqual({ type: 'done', ok: true });
  });

  it('passes its cost limit to the CLI as maxBudgetUsd and fails a run past it with budget_exceeded', async () => {
    // 10,000 tokens in and 100 out cost $0.021 a turn with the test model.
    const turn = { usage: { input_tokens: 10_000, output_tokens: 100 } };
    api.script(
      { toolUse: { name: 'Bash', input: { command: 'true' } }, ...turn },
      { toolUse: { name: 'Bash', input: { command: 'true' } }, ...turn },
      { text: 'never reached', ...turn },
    );
    const events = await collect(
      { permissionMode: 'bypassPermissions' },
      { env: { IS_SANDBOX: '1' }, limits: { maxCostUsd: 0.03 } },
    );
    expect(usage(events)).toMatchObject({ costUsd: 0.042, turns: 2 });
    expect(done(events)).toEqual({
      type: 'done',
      ok: false,
      reason: 'budget_exceeded',
      error: 'budget exceeded: cost $0.042 passed the limit of $0.03',
    });
  });

  it('lets a run spend exactly its cost limit', async () => {
    api.script({ text: 'One turn.', usage: { input_tokens: 10_000, output_tokens: 100 } });
    const events = await collect({}, { limits: { maxCostUsd: 0.021 } });
    expect(usage(events)).toMatchObject({ costUsd: 0.021 });
    expect(done(events)).toEqual({ type: 'done', ok: true });
  });

  it('marks an unknown resume id as session_not_found', async () => {
    const d = done(await collect({}, { resumeSessionId: '00000000-0000-4000-8000-000000000000' }));
    expect(d).toMatchObject({ ok: false, reason: 'session_not_found' });
  });

  it('ends a hanging agent with the idle watchdog and kills its process group', async () => {
    // Every request hangs (the CLI may retry once on its own).
    api.script({ hang: true }, { hang: true }, { hang: true });
    const cwd = repo();
    const started = Date.now();
    const d = done(await collect({ idleTimeoutMs: 1500 }, { cwd }));
    expect(d).toMatchObject({ ok: false, reason: 'idle' });
    expect(Date.now() - started).toBeLessThan(15_000);
    // No process is left working in the module's directory.
    await until(() => processesIn(cwd).length === 0, 10_000, `processes in ${cwd} to end`);
  });

  it('cancels mid-stream', async () => {
    api.script({ text: 'a long answer that streams slowly', chunks: 30, delayMs: 100 });
    const controller = new AbortController();
    const events: AgentEvent[] = [];
    const backend = new ClaudeCodeBackend({ model: TEST_MODEL, env: claudeEnv(api.url) });
    for await (const e of backend.run({
      cwd: repo(),
      prompt: 'Tell me slowly',
      systemPrompt: '',
      signal: controller.signal,
    })) {
      events.push(e);
      if (e.type === 'text') controller.abort();
    }
    expect(done(events)).toMatchObject({ ok: false, reason: 'cancelled' });
  });

  it('tells the process tracker of the CLI’s group, and that it ended once the kill grace is over', async () => {
    api.script({ text: 'Tracked.' });
    const calls: string[] = [];
    const processes: ProcessTracker = {
      runStarting: (run) => calls.push(`run ${run}`),
      started: (pgid) => calls.push(`started ${pgid}`),
      ended: (pgid) => calls.push(`ended ${pgid}`),
      runEnded: (run) => calls.push(`run ended ${run}`),
    };
    expect(done(await collect({}, { processes }))).toEqual({ type: 'done', ok: true });
    const run = calls[0]?.split(' ')[1];
    const pgid = Number(calls[1]?.split(' ')[1]);
    expect(calls).toEqual([`run ${run}`, `started ${pgid}`]);
    await until(() => calls.length === 4, 10_000, 'the group and the run to be reported ended');
    expect(calls.slice(2)).toEqual([`ended ${pgid}`, `run ended ${run}`]);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('ends what a tool left running in the background once the run is over', async () => {
    const cwd = repo();
    api.script(
      {
        toolUse: {
          name: 'Bash',
          input: {
            command: 'tail -f /dev/null > /dev/null 2>&1 & echo $! > bg.pid',
            description: 'Start a background job',
          },
        },
      },
      { text: 'Started.' },
    );
    const calls: string[] = [];
    const processes: ProcessTracker = {
      runStarting: (run) => calls.push(`run ${run}`),
      started: (pgid) => calls.push(`started ${pgid}`),
      ended: (pgid) => calls.push(`ended ${pgid}`),
      runEnded: (run) => calls.push(`run ended ${run}`),
    };
    const d = done(await collect({ allowedTools: ['Bash'] }, { cwd, processes }));
    expect(d).toEqual({ type: 'done', ok: true });
    const pid = Number(readFileSync(join(cwd, 'bg.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    await until(() => calls.length === 4, 10_000, 'the group and the run to be reported ended');
    expect(alive(pid)).toBe(false);
  });

  it('explains a missing executable and a missing directory', async () => {
    expect(done(await collect({ executable: '/nowhere/claude' }, {}))).toMatchObject({
      ok: false,
      reason: 'not_installed',
      error: expect.stringContaining('/nowhere/claude does not exist'),
    });
    expect(done(await collect({}, { cwd: '/nowhere/repo' }))).toMatchObject({
      ok: false,
      error: "the module's directory /nowhere/repo does not exist",
    });
    expect(existsSync('/nowhere')).toBe(false);
  });
});
