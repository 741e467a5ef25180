// The workflow engine on every backend, with real programs as command steps and a real command agent answering ask
// steps: parallel branches overlap, dependencies hold, templates resolve (and name what is missing), retries back
// off, time limits and budgets stop a run, and pause, resume, cancel, retry and start-from control it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { WorkflowRun } from '../../src/domain/workflow-types.js';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { until } from '../support/wait.js';

/** Records its start and end in the file named by its input, sleeping `ms` between, and answers its input. */
const SLEEPER = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  const input = JSON.parse(q);
  const fs = await import('node:fs');
  fs.appendFileSync(input.log, JSON.stringify({ step: process.env.CLAUDE_COMMS_STEP, at: Date.now(), what: 'start', attempt: process.env.CLAUDE_COMMS_STEP_ATTEMPT }) + '\\n');
  await new Promise((r) => setTimeout(r, input.ms ?? 0));
  if (input.cost) process.stdout.write('@@claude-comms ' + JSON.stringify({ cost_usd: input.cost, log: 'spent' }) + '\\n');
  if (input.failUntil && Number(process.env.CLAUDE_COMMS_STEP_ATTEMPT.split(':').pop()) < input.failUntil) {
    process.stderr.write('not yet\\n');
    process.exitCode = 3;
    return;
  }
  fs.appendFileSync(input.log, JSON.stringify({ step: process.env.CLAUDE_COMMS_STEP, at: Date.now(), what: 'end' }) + '\\n');
  process.stdout.write(JSON.stringify({ got: input, pages: [1, 2, 3] }));
});`;

function setup(hubOptions: { dir: string }) {
  const script = join(hubOptions.dir, 'sleeper.mjs');
  writeFileSync(script, SLEEPER);
  const log = join(hubOptions.dir, 'log.jsonl');
  writeFileSync(log, '');
  const lines = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { step: string; at: number; what: string; attempt?: string });
  return { commands: { sleep: { argv: [process.execPath, script] } }, log, lines };
}

async function finished(hub: Hub, id: string, timeoutMs = 30_000): Promise<WorkflowRun> {
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

describeEachBackend('workflows', (hubs) => {
  it('runs parallel branches side by side, then what depends on both, with templates and an output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-wf-'));
    const { commands, log, lines } = setup({ dir });
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const run = await hub.workflows.start(
      {
        name: 'fan',
        inputs: { type: 'object', properties: { doc: { type: 'string' } }, required: ['doc'] },
        steps: [
          { id: 'left', command: { name: 'sleep', input: { log, ms: 400, doc: '{{ inputs.doc }}' } } },
          { id: 'right', command: { name: 'sleep', input: { log, ms: 400 } } },
          {
            id: 'join',
            after: ['left', 'right'],
            convert: {
              function: 'collect',
              args: {
                doc: '{{ steps.left.got.doc }}',
                pages: '{{ steps.right.pages }}',
                second: 'page {{ steps.right.pages[1] }}',
              },
            },
          },
        ],
        output: { joined: '{{ steps.join }}' },
      },
      { doc: 'paper.pdf' },
    );
    expect(run.status).toMatch(/pending|processing/);
    const done = await finished(hub, run.id);
    expect(done.status).toBe('complete');
    expect(done.output).toEqual({ joined: { doc: 'paper.pdf', pages: [1, 2, 3], second: 'page 2' } });
    const seen = lines();
    const at = (step: string, what: string) => seen.find((l) => l.step === step && l.what === what)?.at as number;
    // Both branches started before either ended: they overlapped.
    expect(Math.max(at('left', 'start'), at('right', 'start'))).toBeLessThan(
      Math.min(at('left', 'end'), at('right', 'end')),
    );
    const joined = done.steps.find((s) => s.stepId === 'join');
    expect(new Date(joined?.startedAt as string).getTime()).toBeGreaterThanOrEqual(
      Math.max(at('left', 'end'), at('right', 'end')),
    );
    // Each step is a task of the run, the join depending on both branches' tasks.
    const tasks = await Promise.all(done.steps.map((s) => hub.tasks.get(s.taskId as string)));
    expect(tasks.map((t) => [t.kind, t.status, t.workflowRunId])).toEqual(
      tasks.map(() => ['workflow_step', 'complete', run.id]),
    );
    expect(tasks[2]?.dependsOn.sort()).toEqual([tasks[0]?.id, tasks[1]?.id].sort());
    // A step's task follows its step: it is not moved by hand.
    await expect(hub.tasks.transition(tasks[0]?.id as string, 'cancelled')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`workflow run ${run.id}`),
    });
    await expect(
      hub.workflows.start(
        {
          name: 'fan2',
          inputs: { type: 'object', required: ['doc'] },
          steps: [{ id: 'a', convert: { function: 'collect' } }],
        },
        {},
      ),
    ).rejects.toMatchObject({ code: 'validation' });
  });

  it('fails a step whose reference names nothing, saying what is missing, and the run with it', async () => {
    const hub = await hubs.open();
    await hub.startWorkflows();
    const run = await hub.workflows.start({
      name: 'missing',
      steps: [
        { id: 'a', convert: { function: 'collect', args: { fields: ['title'] } } },
        { id: 'b', after: ['a'], convert: { function: 'collect', args: { x: '{{ steps.a.feilds }}' } } },
        { id: 'c', after: ['b'], convert: { function: 'collect' } },
      ],
    });
    const done = await finished(hub, run.id);
    expect(done.status).toBe('failed');
    const b = done.steps.find((s) => s.stepId === 'b');
    expect(b).toMatchObject({ status: 'failed', reason: 'validation' });
    expect(b?.error).toMatch(/steps\.a has no "feilds" \(it has fields\)/);
    expect(done.steps.find((s) => s.stepId === 'c')?.status).toBe('cancelled');
    expect(done.error).toMatch(/step b failed/);
  });

  it('retries with back-off, stops a step at its time limit, and a run past its budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-wf-'));
    const { commands, log, lines } = setup({ dir });
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const flaky = await hub.workflows.start({
      name: 'flaky',
      steps: [
        { id: 'f', retry: { attempts: 3, backoffMs: 100 }, command: { name: 'sleep', input: { log, failUntil: 3 } } },
      ],
    });
    const done = await finished(hub, flaky.id);
    expect(done.status).toBe('complete');
    expect(done.steps[0]?.attempt).toBe(3);
    const starts = lines()
      .filter((l) => l.what === 'start')
      .map((l) => l.at);
    expect(starts).toHaveLength(3);
    // 100 ms, then 200 ms (factor 2), at least.
    expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(100);
    expect((starts[2] as number) - (starts[1] as number)).toBeGreaterThanOrEqual(200);
    const slow = await finished(
      hub,
      (
        await hub.workflows.start({
          name: 'slow',
          steps: [{ id: 's', timeoutMs: 300, command: { name: 'sleep', input: { log, ms: 10_000 } } }],
        })
      ).id,
    );
    expect(slow.steps[0]).toMatchObject({ status: 'failed', reason: 'timeout' });
    const costly = await finished(
      hub,
      (
        await hub.workflows.start({
          name: 'costly',
          maxCostUsd: 0.5,
          steps: [
            { id: 'a', command: { name: 'sleep', input: { log, cost: 0.75 } } },
            { id: 'b', after: ['a'], convert: { function: 'collect' } },
          ],
        })
      ).id,
    );
    expect(costly).toMatchObject({ status: 'failed', costUsd: 0.75 });
    // A failed attempt's reported cost counts too, on the step and the run.
    const spentFailing = await finished(
      hub,
      (
        await hub.workflows.start({
          name: 'spent',
          steps: [{ id: 'x', command: { name: 'sleep', input: { log, cost: 0.25, failUntil: 9 } } }],
        })
      ).id,
    );
    expect(spentFailing).toMatchObject({ status: 'failed', costUsd: 0.25, steps: [{ costUsd: 0.25 }] });
    expect(costly.error).toMatch(/budget exceeded/);
  });

  it('asks a module in an ask step and hands its checked value on', async () => {
    const hub = await hubs.open();
    await commandModule(
      hub,
      'arangodb',
      `process.stdin.resume(); process.stdin.on('end', () => process.stdout.write('{"collections": ["docs"]}'));`,
    );
    await hub.startWorker();
    await hub.startWorkflows();
    const run = await hub.workflows.start({
      name: 'ask-then',
      steps: [
        {
          id: 'needs',
          ask: { to: 'arangodb', prompt: 'What do you need?', schema: { type: 'object', required: ['collections'] } },
        },
        {
          id: 'use',
          after: ['needs'],
          convert: { function: 'collect', args: { first: '{{ steps.needs.value.collections[0] }}' } },
        },
      ],
    });
    const done = await finished(hub, run.id);
    expect(done.status).toBe('complete');
    expect(done.steps[1]?.output).toEqual({ first: 'docs' });
    const reply = await hub.messages.require(done.steps[0]?.messageId as string);
    expect(reply).toMatchObject({ status: 'complete', value: { collections: ['docs'] } });
  });

  it('pauses, resumes, cancels, retries a failed step, and starts again from a step reusing earlier outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-wf-'));
    const { commands, log, lines } = setup({ dir });
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const def = {
      name: 'chain',
      steps: [
        { id: 'one', command: { name: 'sleep', input: { log, ms: 300 } } },
        { id: 'two', after: ['one'], command: { name: 'sleep', input: { log, failUntil: 2 } } },
        { id: 'three', after: ['two'], convert: { function: 'collect', args: { from: '{{ steps.two.pages }}' } } },
      ],
    };
    const run = await hub.workflows.start(def);
    await until(async () => (await hub.workflows.get(run.id)).steps[0]?.status === 'processing');
    await hub.workflows.pause(run.id);
    await until(async () => (await hub.workflows.get(run.id)).steps[0]?.status === 'complete');
    // Paused: the running step finished, the next did not start.
    await new Promise((r) => setTimeout(r, 300));
    expect((await hub.workflows.get(run.id)).steps[1]?.status).toBe('pending');
    await hub.workflows.resume(run.id);
    const failed = await finished(hub, run.id);
    expect(failed.steps.map((s) => s.status)).toEqual(['complete', 'failed', 'cancelled']);
    // Retrying `two` reruns it and `three`, not `one`.
    await hub.workflows.retry(run.id, 'two');
    const retried = await finished(hub, run.id);
    expect(retried.status).toBe('complete');
    expect(lines().filter((l) => l.step === 'one' && l.what === 'start')).toHaveLength(1);
    await expect(hub.workflows.retry(run.id, 'one')).rejects.toMatchObject({ code: 'invalid_transition' });
    // A new run from `two`: `one`'s output is reused, not run again.
    const again = await hub.workflows.startFrom(run.id, 'two');
    const second = await finished(hub, again.id);
    // (`two` fails its first attempt in every run: this run ends failed, having run only `two`.)
    expect(second.steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([
      ['one', 'complete', 0],
      ['two', 'failed', 1],
      ['three', 'cancelled', 0],
    ]);
    expect(second.steps[0]?.output).toEqual(retried.steps[0]?.output);
    expect(lines().filter((l) => l.step === 'one' && l.what === 'start')).toHaveLength(1);
    // Cancel stops a running program and ends its unfinished steps.
    const long = await hub.workflows.start({
      name: 'long',
      steps: [
        { id: 'l', command: { name: 'sleep', input: { log, ms: 20_000 } } },
        { id: 'm', after: ['l'], convert: { function: 'collect' } },
      ],
    });
    await until(async () => (await hub.workflows.get(long.id)).steps[0]?.status === 'processing');
    const cancelled = await hub.workflows.cancel(long.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    await expect(hub.workflows.cancel(long.id)).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('lets a module token run only declared commands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-wf-'));
    const { commands } = setup({ dir });
    const hub = await hubs.open({ commands });
    const own = { name: 'own', steps: [{ id: 'x', command: { run: ['/bin/echo', '{}'] } }] };
    await expect(hub.workflows.start(own, {}, { module: 'marker' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('declared in config.yaml'),
    });
    await expect(
      hub.workflows.start(
        { name: 'undeclared', steps: [{ id: 'x', command: { name: 'rm-rf' } }] },
        {},
        { module: 'marker' },
      ),
    ).rejects.toMatchObject({ code: 'validation', message: expect.stringContaining('no command named rm-rf') });
    // Unscoped, the program runs.
    await hub.startWorkflows();
    const run = await finished(hub, (await hub.workflows.start(own)).id);
    expect(run).toMatchObject({ status: 'complete', steps: [{ output: {} }] });
  });

  it('retries a failed step whose failure cancelled a sibling: the sibling runs too, and the run completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-wf-'));
    const { commands, log } = setup({ dir });
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const run = await hub.workflows.start({
      name: 'siblings',
      steps: [
        { id: 'a', command: { name: 'sleep', input: { log, failUntil: 2 } } },
        { id: 'b', command: { name: 'sleep', input: { log, ms: 2000 } } },
        { id: 'd', after: ['a', 'b'], convert: { function: 'collect' } },
      ],
    });
    const failed = await finished(hub, run.id);
    expect(failed.steps.map((s) => s.status)).toEqual(['failed', 'cancelled', 'cancelled']);
    // Every step's task ended with its step.
    const tasks = await Promise.all(failed.steps.map((s) => hub.tasks.get(s.taskId as string)));
    expect(tasks.map((t) => t.status)).toEqual(['failed', 'cancelled', 'cancelled']);
    await hub.workflows.retry(run.id, 'a');
    const done = await finished(hub, run.id);
    expect(done.steps.map((s) => s.status)).toEqual(['complete', 'complete', 'complete']);
  });

  it('asks a module named by a template, and ends the run in the step that could not start', async () => {
    const hub = await hubs.open();
    await commandModule(
      hub,
      'arangodb',
      `process.stdin.resume(); process.stdin.on('end', () => process.stdout.write('ok'));`,
    );
    await hub.startWorker();
    await hub.startWorkflows();
    const run = await hub.workflows.start(
      { name: 'to', steps: [{ id: 'q', ask: { to: '{{ inputs.who }}', prompt: 'hi' } }] },
      { who: 'arangodb' },
    );
    expect((await finished(hub, run.id)).status).toBe('complete');
    const nobody = await finished(
      hub,
      (
        await hub.workflows.start(
          { name: 'to', steps: [{ id: 'q', ask: { to: '{{ inputs.who }}', prompt: 'hi' } }] },
          { who: 'nobody' },
        )
      ).id,
    );
    expect(nobody).toMatchObject({
      status: 'failed',
      steps: [{ status: 'failed', error: expect.stringContaining('no module named nobody') }],
    });
  });
});
