// The workflow engine's recovery guarantees (src/workflows/engine.ts), with the service holding the engine in a
// process of its own, SIGKILLed at chosen points of a run, and a second service — standing by, or started after —
// completing it. Every command step appends a line (its step and attempt id) to a shared file when it starts and
// when it ends, so the file counts each step's side effects: a step that had finished before the kill never runs
// again; a command step that was running runs again, at least once, with the same CLAUDE_COMMS_STEP_ATTEMPT; an
// ask step asks once (one reply in its thread), and the new holder waits for that same reply.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import type { WorkflowRun } from '../../src/domain/workflow-types.js';
import type { Hub } from '../../src/index.js';
import type { WorkflowDefinition } from '../../src/workflows/definition.js';
import { describeEachBackend } from '../support/backends.js';
import { alive, commandModule } from '../support/modules.js';
import { until } from '../support/wait.js';

const CHILD = fileURLToPath(new URL('../support/workflow-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The engine's lease in the child services: short, though a standby on this host takes over from a dead holder at once. */
const LEASE_MS = 1000;
/** The workers' claim on a reply in the child services: the reply of a killed worker is retried after it. */
const WORKER_LEASE_MS = 1500;
/** The longest wait for one state; a test makes several, after starting two or three processes. */
const WAIT_MS = 30_000;
const TEST_MS = 150_000;

/**
 * A command step: records `start` (step, attempt id, its pid and its service's) in `input.log`, waits for the file
 * `input.gate` when given, fails while its attempt number is below `input.failUntil`, records `end` and answers
 * what it got.
 */
const STEP = `import { appendFileSync, existsSync } from 'node:fs';
let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  const input = JSON.parse(q);
  const attempt = process.env.CLAUDE_COMMS_STEP_ATTEMPT;
  const record = (what) =>
    appendFileSync(input.log, JSON.stringify({ step: process.env.CLAUDE_COMMS_STEP, runId: process.env.CLAUDE_COMMS_RUN_ID, attempt, what, pid: process.pid, ppid: process.ppid, at: Date.now() }) + '\\n');
  record('start');
  const deadline = Date.now() + 120000;
  while (input.gate && !existsSync(input.gate)) {
    if (Date.now() > deadline) process.exit(4);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (input.failUntil && Number(attempt.split(':').pop()) < input.failUntil) {
    process.stderr.write('not yet\\n');
    process.exit(3);
  }
  record('end');
  process.stdout.write(JSON.stringify({ step: process.env.CLAUDE_COMMS_STEP, attempt, value: input.value ?? null }));
});`;

/** An agent that records each run (its pid in `runs`), then answers {"answer":42} once the file `release` exists. */
const AGENT = `import { appendFileSync, existsSync } from 'node:fs';
appendFileSync('runs', process.pid + '\\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  const deadline = Date.now() + 120000;
  while (!existsSync('release')) {
    if (Date.now() > deadline) process.exit(4);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify({ answer: 42 }));
});`;

interface Line {
  step: string;
  runId: string;
  attempt: string;
  what: 'start' | 'end';
  pid: number;
  /** The service that ran it. */
  ppid: number;
  at: number;
}

/** A directory with the step program, the side-effect file and gates; the commands that run the program. */
function sideEffects() {
  const dir = mkdtempSync(join(tmpdir(), 'cc-wf-recovery-'));
  const script = join(dir, 'step.mjs');
  writeFileSync(script, STEP);
  const log = join(dir, 'effects.jsonl');
  writeFileSync(log, '');
  const lines = (): Line[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  return {
    commands: { step: { argv: [process.execPath, script] } },
    log,
    gate: (name: string) => join(dir, name),
    lines,
    /** The `what` lines of step `step`. */
    of: (step: string, what: Line['what'] = 'start') => lines().filter((l) => l.step === step && l.what === what),
  };
}

interface Child {
  process: ChildProcess;
  /** Resolves once the engine started, with whether this service holds it. */
  ready: Promise<boolean>;
  engaged(): boolean;
  exited: Promise<NodeJS.Signals | null>;
  stderr(): string;
}

const children = new Set<Child>();

/** Starts a service with the workflow engine (and a worker, given its lease) on `database`. */
function startEngineProcess(
  database: string,
  options: { commands: Record<string, unknown>; workerLeaseMs?: number },
): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, database, JSON.stringify({ leaseMs: LEASE_MS, ...options })],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let engaged = false;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => {
    const gone = (signal: NodeJS.Signals | null) => {
      children.delete(handle);
      resolve(signal);
    };
    child.once('exit', (_code, signal) => gone(signal));
    child.once('error', () => gone(null));
  });
  const ready = new Promise<boolean>((resolve, reject) => {
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let said: { ready?: boolean; engaged?: boolean };
        try {
          said = JSON.parse(line) as typeof said;
        } catch {
          continue; // not the child's report
        }
        if (typeof said.engaged === 'boolean') engaged = said.engaged;
        if (said.ready) resolve(engaged);
      }
    });
    void exited.then((signal) =>
      reject(new Error(`the engine process ended early (${signal ?? 'exit'}): ${stderr.trim() || '(no stderr)'}`)),
    );
  });
  // Killed in cleanup after a failed test, nobody awaits it: that must not surface as an unhandled rejection.
  ready.catch(() => undefined);
  const handle: Child = { process: child, ready, engaged: () => engaged, exited, stderr: () => stderr };
  children.add(handle);
  return handle;
}

/** SIGKILLs a service and waits for it to be gone. */
async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  expect(await child.exited).toBe('SIGKILL');
}

afterEach(async () => {
  const left = [...children];
  for (const child of left) child.process.kill('SIGKILL');
  await Promise.all(left.map((c) => c.exited));
});

/**
 * A holder (started first, so it takes the lease; with a worker, given `workerLeaseMs`) and, unless `standby` is
 * false, a second service standing by (without a worker).
 */
async function services(
  database: string,
  commands: Record<string, unknown>,
  options: { standby?: boolean; workerLeaseMs?: number } = {},
): Promise<{ holder: Child; standby?: Child }> {
  const holder = startEngineProcess(database, { commands, workerLeaseMs: options.workerLeaseMs });
  expect(await holder.ready).toBe(true);
  if (options.standby === false) return { holder };
  const standby = startEngineProcess(database, { commands });
  expect(await standby.ready).toBe(false);
  return { holder, standby };
}

async function step(hub: Hub, runId: string, stepId: string) {
  return (await hub.workflows.get(runId)).steps.find((s) => s.stepId === stepId);
}

async function finished(hub: Hub, id: string, timeoutMs = WAIT_MS): Promise<WorkflowRun> {
  let run = await hub.workflows.get(id);
  await until(
    async () => {
      run = await hub.workflows.get(id);
      return ['complete', 'failed', 'cancelled'].includes(run.status);
    },
    timeoutMs,
    () => `run ${id} to finish (it is ${run.status}: ${run.steps.map((s) => `${s.stepId} ${s.status}`).join(', ')})`,
  );
  return run;
}

/** The attempt ids of step `stepId`'s lines among `lines`. */
const attempts = (lines: Line[], stepId: string) => lines.filter((l) => l.step === stepId).map((l) => l.attempt);

describeEachBackend('workflow recovery after the engine holder is killed', (hubs) => {
  it(
    'runs a command step that was running again on the standby, with the same attempt id, and completes',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const { holder, standby } = await services(hub.database, fx.commands);
      const go = fx.gate('go');
      const def: WorkflowDefinition = {
        name: 'at-least-once',
        steps: [
          { id: 'one', command: { name: 'step', input: { log: fx.log } } },
          { id: 'two', after: ['one'], command: { name: 'step', input: { log: fx.log, gate: go } } },
          { id: 'three', after: ['two'], command: { name: 'step', input: { log: fx.log } } },
        ],
      };
      const run = await hub.workflows.start(def);
      await until(() => fx.of('two').length === 1, WAIT_MS, 'step two to start on the holder');
      const first = fx.of('two')[0] as Line;
      expect(first).toMatchObject({ attempt: `${run.id}:two:1`, ppid: holder.process.pid });

      await kill(holder);
      // The holder's program does not outlive it (the reaper ends it): it never finishes its first run.
      await until(() => !alive(first.pid), 10_000, `step two's first program (pid ${first.pid}) to be killed`);
      await until(() => standby?.engaged() === true, 10_000, 'the standby taking over');
      await until(() => fx.of('two').length === 2, WAIT_MS, 'step two to run again on the new holder');
      writeFileSync(go, '');
      const done = await finished(hub, run.id);

      expect(done.status).toBe('complete');
      const lines = fx.lines();
      expect(attempts(lines, 'one')).toEqual([`${run.id}:one:1`, `${run.id}:one:1`]); // start and end, once
      expect(attempts(lines, 'two')).toEqual([`${run.id}:two:1`, `${run.id}:two:1`, `${run.id}:two:1`]);
      expect(fx.of('two', 'end')).toHaveLength(1);
      expect(fx.of('two').map((l) => l.ppid)).toEqual([holder.process.pid, standby?.process.pid]);
      expect(fx.of('two', 'end')[0]?.ppid).toBe(standby?.process.pid);
      expect(attempts(lines, 'three')).toEqual([`${run.id}:three:1`, `${run.id}:three:1`]);
      expect(done.steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
        ['one', 'complete', 1],
        ['two', 'complete', 1],
        ['three', 'complete', 1],
      ]);
      expect(done.steps[1]?.output).toEqual({ step: 'two', attempt: `${run.id}:two:1`, value: null });
      await expect(hub.tasks.get(done.steps[1]?.taskId as string)).resolves.toMatchObject({ status: 'complete' });
    },
    TEST_MS,
  );

  it(
    'starts once, on a service started after, a step whose ask dependency was being answered at the kill',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const agentDir = await commandModule(hub, 'slowpoke', AGENT);
      // The worker answering the ask runs here, outliving the engine's holder.
      await hub.startWorker();
      const { holder } = await services(hub.database, fx.commands, { standby: false });
      const run = await hub.workflows.start({
        name: 'ask-dependency',
        steps: [
          { id: 'prep', command: { name: 'step', input: { log: fx.log } } },
          {
            id: 'question',
            after: ['prep'],
            ask: { to: 'slowpoke', prompt: 'What is the answer?', schema: { type: 'object', required: ['answer'] } },
          },
          {
            id: 'use',
            after: ['question'],
            command: { name: 'step', input: { log: fx.log, value: '{{ steps.question.value.answer }}' } },
          },
        ],
      });
      const runs = join(agentDir, 'runs');
      await until(() => existsSync(runs), WAIT_MS, 'the agent to be asked');
      const asked = await step(hub, run.id, 'question');
      expect(asked).toMatchObject({ status: 'processing', attempt: 1 });
      const messageId = asked?.messageId as string;

      await kill(holder);
      // Answered while no service runs the engine: nobody moves the run on.
      writeFileSync(join(agentDir, 'release'), '');
      const reply = await hub.waitForCompletion(messageId, { timeoutMs: WAIT_MS });
      expect(reply.status).toBe('complete');
      expect((await step(hub, run.id, 'question'))?.status).toBe('processing');
      expect((await step(hub, run.id, 'use'))?.status).toBe('pending');

      const after = startEngineProcess(hub.database, { commands: fx.commands });
      expect(await after.ready).toBe(true);
      const done = await finished(hub, run.id);
      expect(done.status).toBe('complete');
      expect(done.steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
        ['prep', 'complete', 1],
        ['question', 'complete', 1],
        ['use', 'complete', 1],
      ]);
      expect(done.steps[1]).toMatchObject({ messageId, output: { value: { answer: 42 }, messageId } });
      expect(done.steps[2]?.output).toEqual({ step: 'use', attempt: `${run.id}:use:1`, value: 42 });
      expect(attempts(fx.of('prep'), 'prep')).toEqual([`${run.id}:prep:1`]);
      expect(attempts(fx.of('use'), 'use')).toEqual([`${run.id}:use:1`]);
      // Asked once: one run of the agent, one reply in the question's thread.
      expect(readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(1);
      const thread = await hub.messages.list({ threadId: reply.message.threadId });
      expect(thread.filter((m) => m.role === 'assistant').map((m) => m.id)).toEqual([messageId]);
    },
    TEST_MS,
  );

  it(
    'asks once when the holder (and its worker) is killed mid-answer: the standby waits for that same reply',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const agentDir = await commandModule(hub, 'slowpoke', AGENT);
      // The holder runs the only worker: its agent dies with it. A worker started here later answers the reply again.
      const { holder, standby } = await services(hub.database, fx.commands, { workerLeaseMs: WORKER_LEASE_MS });
      const run = await hub.workflows.start({
        name: 'ask-mid-answer',
        steps: [
          { id: 'prep', command: { name: 'step', input: { log: fx.log } } },
          {
            id: 'question',
            after: ['prep'],
            ask: { to: 'slowpoke', prompt: 'What is the answer?', schema: { type: 'object', required: ['answer'] } },
          },
          {
            id: 'use',
            after: ['question'],
            command: { name: 'step', input: { log: fx.log, value: '{{ steps.question.value.answer }}' } },
          },
        ],
      });
      const runs = join(agentDir, 'runs');
      await until(() => existsSync(runs), WAIT_MS, 'the agent to be asked');
      const asked = await step(hub, run.id, 'question');
      expect(asked).toMatchObject({ status: 'processing', attempt: 1 });
      const messageId = asked?.messageId as string;
      expect((await hub.messages.require(messageId)).status).toBe('processing');
      const agent = Number(readFileSync(runs, 'utf8').trim());

      await kill(holder);
      await until(() => !alive(agent), 10_000, `the agent (pid ${agent}) to be killed with its worker`);
      await until(() => standby?.engaged() === true, 10_000, 'the standby taking over');
      writeFileSync(join(agentDir, 'release'), '');
      // Once the dead worker's claim has run out, this worker runs the same reply again.
      await hub.startWorker({ leaseMs: WORKER_LEASE_MS });
      const done = await finished(hub, run.id);

      expect(done.status).toBe('complete');
      expect(done.steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
        ['prep', 'complete', 1],
        ['question', 'complete', 1],
        ['use', 'complete', 1],
      ]);
      // The same reply, answered by the second worker (the agent ran again for it), holds the step's value.
      expect(done.steps[1]).toMatchObject({ messageId, output: { value: { answer: 42 }, messageId } });
      expect(readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(2);
      const reply = await hub.messages.require(messageId);
      const thread = await hub.messages.list({ threadId: reply.threadId });
      expect(thread.filter((m) => m.role === 'assistant').map((m) => m.id)).toEqual([messageId]);
      expect(thread.filter((m) => m.role !== 'assistant')).toHaveLength(1);
      expect(attempts(fx.of('prep'), 'prep')).toEqual([`${run.id}:prep:1`]);
      expect(attempts(fx.of('use'), 'use')).toEqual([`${run.id}:use:1`]);
      expect(done.steps[2]?.output).toEqual({ step: 'use', attempt: `${run.id}:use:1`, value: 42 });
    },
    TEST_MS,
  );

  it(
    'never runs again a step that finished just before the kill (the run paused, nothing else started)',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const { holder, standby } = await services(hub.database, fx.commands);
      const goOne = fx.gate('go-one');
      const run = await hub.workflows.start({
        name: 'finished-then-killed',
        steps: [
          { id: 'one', command: { name: 'step', input: { log: fx.log, gate: goOne } } },
          { id: 'two', after: ['one'], command: { name: 'step', input: { log: fx.log } } },
          { id: 'three', after: ['two'], command: { name: 'step', input: { log: fx.log } } },
        ],
      });
      await until(() => fx.of('one').length === 1, WAIT_MS, 'step one to start on the holder');
      await hub.workflows.pause(run.id);
      writeFileSync(goOne, '');
      await until(
        async () => (await step(hub, run.id, 'one'))?.status === 'complete',
        WAIT_MS,
        'step one to complete on the holder',
      );
      expect((await step(hub, run.id, 'two'))?.status).toBe('pending');

      await kill(holder);
      await hub.workflows.resume(run.id);
      const done = await finished(hub, run.id);
      expect(standby?.engaged()).toBe(true);
      expect(done.status).toBe('complete');
      expect(attempts(fx.lines(), 'one')).toEqual([`${run.id}:one:1`, `${run.id}:one:1`]);
      expect(attempts(fx.lines(), 'two')).toEqual([`${run.id}:two:1`, `${run.id}:two:1`]);
      expect(attempts(fx.lines(), 'three')).toEqual([`${run.id}:three:1`, `${run.id}:three:1`]);
    },
    TEST_MS,
  );

  it(
    'never runs again a step killed just after it finished, and runs the next one under one attempt id',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const { holder } = await services(hub.database, fx.commands, { standby: false });
      const go = fx.gate('go');
      const run = await hub.workflows.start({
        name: 'killed-after-finish',
        steps: [
          { id: 'one', command: { name: 'step', input: { log: fx.log } } },
          { id: 'two', after: ['one'], command: { name: 'step', input: { log: fx.log, gate: go } } },
          { id: 'three', after: ['two'], command: { name: 'step', input: { log: fx.log } } },
        ],
      });
      await until(
        async () => (await step(hub, run.id, 'one'))?.status === 'complete',
        WAIT_MS,
        'step one to complete on the holder',
      );
      await kill(holder);
      // Whether or not the holder had started `two` when it died, a service started after completes the run.
      const after = startEngineProcess(hub.database, { commands: fx.commands });
      expect(await after.ready).toBe(true);
      const mine = (l: Line) => l.ppid === after.process.pid;
      await until(() => fx.of('two').some(mine), WAIT_MS, 'step two to run on the new holder');
      // A run of `two` the dead holder had started is over before the gate opens: it never finishes.
      await until(() => fx.of('two').every((l) => mine(l) || !alive(l.pid)), 10_000, "the dead holder's step to end");
      writeFileSync(go, '');
      const done = await finished(hub, run.id);
      expect(done.status).toBe('complete');
      expect(attempts(fx.lines(), 'one')).toEqual([`${run.id}:one:1`, `${run.id}:one:1`]);
      // Started once by the new holder, and perhaps once before by the dead one: under one attempt id either way.
      const two = fx.of('two');
      expect(two.filter(mine)).toHaveLength(1);
      expect(two.filter((l) => l.ppid === holder.process.pid)).toHaveLength(two.length - 1);
      expect(new Set(attempts(two, 'two'))).toEqual(new Set([`${run.id}:two:1`]));
      expect(fx.of('two', 'end')).toHaveLength(1);
      expect(attempts(fx.lines(), 'three')).toEqual([`${run.id}:three:1`, `${run.id}:three:1`]);
    },
    TEST_MS,
  );

  it(
    'keeps the items of a forEach step that finished, and runs the running ones again under their own attempt ids',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const { holder, standby } = await services(hub.database, fx.commands);
      const go = fx.gate('go');
      const run = await hub.workflows.start({
        name: 'items-recovered',
        steps: [
          {
            id: 'each',
            forEach: { items: [0, 1, 2, 3].map((v) => ({ v, gate: v < 2 ? null : go })), concurrency: 2 },
            command: { name: 'step', input: { log: fx.log, value: '{{ item.v }}', gate: '{{ item.gate }}' } },
          },
        ],
      });
      // Items 0 and 1 finish; 2 and 3 start and wait for the gate: the holder is killed then.
      await until(() => fx.of('each').length === 4, WAIT_MS, 'all four items to start on the holder');
      const started = fx.of('each');
      await kill(holder);
      await until(() => standby?.engaged() === true, 10_000, 'the standby taking over');
      await until(() => fx.of('each').length === 6, WAIT_MS, 'the two running items to run again');
      writeFileSync(go, '');
      const done = await finished(hub, run.id);
      expect(done.status).toBe('complete');
      expect(((done.steps[0]?.output ?? []) as { value: number }[]).map((o) => o.value)).toEqual([0, 1, 2, 3]);
      const ids = (lines: Line[]) => lines.map((l) => l.attempt).sort();
      // Each item its own attempt id; the finished ones never again, the running ones again under the same id.
      expect(ids(started)).toEqual([0, 1, 2, 3].map((i) => `${run.id}:each[${i}]:1`));
      expect(ids(fx.of('each').slice(4))).toEqual([`${run.id}:each[2]:1`, `${run.id}:each[3]:1`]);
      expect(
        fx
          .of('each')
          .slice(4)
          .every((l) => l.ppid === standby?.process.pid),
      ).toBe(true);
      expect(ids(fx.of('each', 'end'))).toEqual([0, 1, 2, 3].map((i) => `${run.id}:each[${i}]:1`));
    },
    TEST_MS,
  );

  // An ask step's time limit is a timer in the holder's memory: a new holder sets it again from when the step
  // started, so the step still fails with `timeout` (it would otherwise wait for as long as the agent takes).
  it(
    "keeps an ask step's time limit across the kill: the new holder fails it with timeout",
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const agentDir = await commandModule(hub, 'slowpoke', AGENT);
      await hub.startWorker();
      const { holder, standby } = await services(hub.database, fx.commands);
      const run = await hub.workflows.start({
        name: 'ask-limit',
        steps: [
          {
            id: 'question',
            timeoutMs: 4000,
            ask: { to: 'slowpoke', prompt: 'What is the answer?', schema: { type: 'object', required: ['answer'] } },
          },
          { id: 'use', after: ['question'], command: { name: 'step', input: { log: fx.log } } },
        ],
      });
      await until(() => existsSync(join(agentDir, 'runs')), WAIT_MS, 'the agent to be asked');
      const messageId = (await step(hub, run.id, 'question'))?.messageId as string;
      expect(messageId).toEqual(expect.any(String));

      await kill(holder);
      await until(() => standby?.engaged() === true, 10_000, 'the standby taking over');
      // The agent never answers: only the limit (4 s from the step's start) ends the step.
      const done = await finished(hub, run.id, 20_000);
      expect(done.status).toBe('failed');
      expect(done.steps[0]).toMatchObject({ status: 'failed', reason: 'timeout', attempt: 1 });
      expect((await hub.messages.require(messageId)).status).toBe('cancelled');
      expect(fx.lines()).toEqual([]);
    },
    TEST_MS,
  );

  it(
    'starts on the standby a step that was waiting out its retry back-off when the holder was killed',
    async () => {
      const fx = sideEffects();
      const hub = await hubs.open({ commands: fx.commands });
      const { holder, standby } = await services(hub.database, fx.commands);
      const run = await hub.workflows.start({
        name: 'backoff',
        steps: [
          { id: 'prep', command: { name: 'step', input: { log: fx.log } } },
          {
            id: 'flaky',
            after: ['prep'],
            retry: { attempts: 2, backoffMs: 2000 },
            command: { name: 'step', input: { log: fx.log, failUntil: 2 } },
          },
        ],
      });
      let waiting = await step(hub, run.id, 'flaky');
      await until(
        async () => {
          waiting = await step(hub, run.id, 'flaky');
          return waiting?.status === 'pending' && waiting.attempt === 1 && waiting.notBefore !== null;
        },
        WAIT_MS,
        'the first attempt of flaky to fail and wait for its retry',
      );

      await kill(holder);
      const done = await finished(hub, run.id);
      expect(standby?.engaged()).toBe(true);
      expect(done.status).toBe('complete');
      expect(done.steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
        ['prep', 'complete', 1],
        ['flaky', 'complete', 2],
      ]);
      expect(attempts(fx.lines(), 'prep')).toEqual([`${run.id}:prep:1`, `${run.id}:prep:1`]);
      expect(attempts(fx.of('flaky'), 'flaky')).toEqual([`${run.id}:flaky:1`, `${run.id}:flaky:2`]);
      // Not before its back-off.
      expect(fx.of('flaky')[1]?.at).toBeGreaterThanOrEqual(Date.parse(waiting?.notBefore as string));
    },
    TEST_MS,
  );
});
