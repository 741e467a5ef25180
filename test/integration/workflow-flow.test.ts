// The workflow engine's flow on every backend, with real programs and command agents: `when` runs or skips a step
// (and what depends on a skipped step is skipped unless it says runIfSkipped), `forEach` runs a step per item under
// its concurrency cap (the overlap measured from the programs' own log) and fails on a failed item unless
// continueOnError, approvals wait for a person or a module (approve, reject, time out, who may), and an ask step
// that names a capability goes to the least loaded module declaring it, or fails naming why none could take it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { WorkflowRun } from '../../src/domain/workflow-types.js';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { until } from '../support/wait.js';

/** Logs its start and end (with its item) in the file its input names, sleeps `ms`, fails when `fail`. */
const WORKER = `let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  const input = JSON.parse(q);
  const fs = await import('node:fs');
  const note = (what) => fs.appendFileSync(input.log, JSON.stringify({ item: input.item, at: Date.now(), what }) + '\\n');
  note('start');
  await new Promise((r) => setTimeout(r, input.ms ?? 0));
  note('end');
  if (input.fail || (input.failIf && fs.existsSync(input.failIf))) {
    process.stderr.write('item ' + JSON.stringify(input.item) + ' cannot be done\\n');
    process.exitCode = 4;
    return;
  }
  process.stdout.write(JSON.stringify({ done: input.item, index: input.index }));
});`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'cc-flow-'));
  const script = join(dir, 'worker.mjs');
  writeFileSync(script, WORKER);
  const log = join(dir, 'log.jsonl');
  writeFileSync(log, '');
  const lines = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { item: unknown; at: number; what: 'start' | 'end' });
  return { commands: { work: { argv: [process.execPath, script] } }, log, lines };
}

/** The most programs running at once, from their start and end lines. */
function overlap(lines: { at: number; what: string }[]): number {
  let now = 0;
  let most = 0;
  for (const l of [...lines].sort((a, b) => a.at - b.at || (a.what === 'end' ? -1 : 1))) {
    now += l.what === 'start' ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
}

async function settled(hub: Hub, id: string, done: (run: WorkflowRun) => boolean, timeoutMs = 30_000) {
  let run = await hub.workflows.get(id);
  await until(
    async () => {
      run = await hub.workflows.get(id);
      return done(run);
    },
    timeoutMs,
    () => `run ${id} (it is ${run.status}: ${run.steps.map((s) => `${s.stepId} ${s.status}`).join(', ')})`,
  );
  return run;
}
const ended = (run: WorkflowRun) => ['complete', 'failed', 'cancelled'].includes(run.status);
const step = (run: WorkflowRun, id: string) => run.steps.find((s) => s.stepId === id);

describeEachBackend('workflow flow', (hubs) => {
  it('runs a step when its condition holds, skips it when not, and skips what depends on it unless runIfSkipped', async () => {
    const hub = await hubs.open();
    await hub.startWorkflows();
    const definition = {
      name: 'branching',
      steps: [
        { id: 'check', convert: { function: 'collect', args: { pages: '{{ inputs.pages }}' } } },
        // Listed before what it depends on: a skip must still reach it.
        { id: 'after-big', after: ['big'], convert: { function: 'collect', args: { from: 'big' } } },
        {
          id: 'big',
          after: ['check'],
          when: 'steps.check.pages > 10 and not exists inputs.dryRun',
          convert: { function: 'collect', args: { pages: '{{ steps.check.pages }}' } },
        },
        { id: 'small', after: ['check'], when: 'not (steps.check.pages > 10)', convert: { function: 'collect' } },
        {
          id: 'always',
          after: ['after-big'],
          runIfSkipped: true,
          when: 'not exists steps.after-big or steps.after-big.from == "big"',
          convert: { function: 'collect', args: { ran: true } },
        },
      ],
    };
    const few = await settled(hub, (await hub.workflows.start(definition, { pages: 5 })).id, ended);
    expect(few.status).toBe('complete');
    expect(Object.fromEntries(few.steps.map((s) => [s.stepId, s.status]))).toEqual({
      check: 'complete',
      'after-big': 'skipped',
      big: 'skipped',
      small: 'complete',
      always: 'complete',
    });
    expect(step(few, 'big')?.detail?.skipped).toBe(
      'when steps.check.pages > 10 and not exists inputs.dryRun does not hold',
    );
    expect(step(few, 'after-big')?.detail?.skipped).toBe('step big was skipped');
    // A skipped step's task is not left open.
    const task = await hub.tasks.get(step(few, 'big')?.taskId as string);
    expect(task.status).toBe('cancelled');

    const many = await settled(hub, (await hub.workflows.start(definition, { pages: 50 })).id, ended);
    expect(Object.fromEntries(many.steps.map((s) => [s.stepId, s.status]))).toEqual({
      check: 'complete',
      'after-big': 'complete',
      big: 'complete',
      small: 'skipped',
      always: 'complete',
    });
    // Everything skipped but the first step: the run still completes.
    const dry = await settled(hub, (await hub.workflows.start(definition, { pages: 50, dryRun: true })).id, ended);
    expect(dry.status).toBe('complete');
    expect(step(dry, 'big')?.status).toBe('skipped');
    expect(step(dry, 'always')?.status).toBe('complete');

    // In the run's output a skipped step stands for null; a step that runs anyway says what it cannot use.
    const outputs = await settled(
      hub,
      (
        await hub.workflows.start(
          {
            name: 'skipped-output',
            steps: [
              { id: 'maybe', when: 'inputs.go == true', convert: { function: 'collect', args: { x: 1 } } },
              { id: 'anyway', after: ['maybe'], runIfSkipped: true, convert: { function: 'collect', args: { y: 2 } } },
              {
                id: 'uses',
                after: ['anyway'],
                runIfSkipped: true,
                when: 'inputs.strict == true',
                convert: { function: 'collect', args: { x: '{{ steps.maybe.x }}' } },
              },
            ],
            output: { maybe: '{{ steps.maybe }}', anyway: '{{ steps.anyway.y }}' },
          },
          { go: false, strict: false },
        )
      ).id,
      ended,
    );
    expect(outputs.status).toBe('complete');
    expect(outputs.output).toEqual({ maybe: null, anyway: 2 });
    const strict = await settled(
      hub,
      (
        await hub.workflows.start(
          {
            name: 'skipped-input',
            steps: [
              { id: 'maybe', when: 'inputs.go == true', convert: { function: 'collect', args: { x: 1 } } },
              {
                id: 'uses',
                after: ['maybe'],
                runIfSkipped: true,
                convert: { function: 'collect', args: { x: '{{ steps.maybe.x }}' } },
              },
            ],
          },
          { go: false },
        )
      ).id,
      ended,
    );
    expect(step(strict, 'uses')?.error).toMatch(/step maybe was skipped, so it has no output/);

    // A condition that compares what cannot be compared fails its step, naming both types.
    const odd = await settled(hub, (await hub.workflows.start(definition, { pages: 'many' })).id, ended);
    expect(odd.status).toBe('failed');
    expect(step(odd, 'big')?.error).toMatch(/> compares two numbers or two strings, not a string and a number/);
  });

  it('refuses conditions that do not parse or use steps not upstream, when the definition loads', async () => {
    const hub = await hubs.open();
    const bad = (when: string, after: string[] = ['a']) =>
      hub.workflows.start({
        name: 'bad-when',
        steps: [
          { id: 'a', convert: { function: 'collect' } },
          { id: 'b', after, when, convert: { function: 'collect' } },
        ],
      });
    await expect(bad('steps.a.n >')).rejects.toThrow(/steps\/1\/when.*expected a value after ">"/s);
    await expect(bad('steps.a.n == 1', [])).rejects.toThrow(/uses step a, which is not upstream of b/);
    await expect(bad('item.n == 1')).rejects.toThrow(/item/);
    // Inputs nested past what any surface accepts are refused by name, not by a crash.
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    await expect(
      hub.workflows.start({ name: 'deep', steps: [{ id: 'a', convert: { function: 'collect' } }] }, { v: deep }),
    ).rejects.toThrow(expect.objectContaining({ code: 'validation', message: expect.stringMatching(/the inputs/) }));
    expect(await hub.workflows.list()).toEqual([]);
  });

  it('runs a step per item, at most its cap at a time, its outputs in order; one failed item fails it', async () => {
    const { commands, log, lines } = setup();
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const run = await hub.workflows.start(
      {
        name: 'fan-out',
        steps: [
          { id: 'list', convert: { function: 'collect', args: { files: '{{ inputs.files }}' } } },
          {
            id: 'each',
            after: ['list'],
            forEach: { items: '{{ steps.list.files }}', concurrency: 2 },
            command: { name: 'work', input: { log, ms: 250, item: '{{ item }}', index: '{{ index }}' } },
          },
          {
            id: 'count',
            after: ['each'],
            convert: { function: 'collect', args: { second: '{{ steps.each[1].done }}' } },
          },
        ],
      },
      { files: items },
    );
    const done = await settled(hub, run.id, ended);
    expect(done.status).toBe('complete');
    expect(step(done, 'each')?.output).toEqual(items.map((item, index) => ({ done: item, index })));
    expect(step(done, 'each')?.detail?.items).toEqual({ total: 6, complete: 6, failed: 0, running: 0 });
    expect(step(done, 'count')?.output).toEqual({ second: 'b' });
    // Two at a time: never more, and not one after another either.
    expect(overlap(lines())).toBe(2);
    expect(lines().filter((l) => l.what === 'start')).toHaveLength(6);

    // An item that fails fails the step and the run, naming the item; the items not started never start.
    writeFileSync(log, '');
    const failing = await hub.workflows.start({
      name: 'fan-out-fail',
      steps: [
        {
          id: 'each',
          forEach: { items: [0, 1, 2, 3, 4].map((n) => ({ n, fail: n === 1 })), concurrency: 2 },
          command: { name: 'work', input: { log, ms: 100, item: '{{ item.n }}', fail: '{{ item.fail }}' } },
        },
      ],
    });
    const failed = await settled(hub, failing.id, ended);
    expect(failed.status).toBe('failed');
    expect(step(failed, 'each')?.error).toMatch(/^item 1 of 5 failed: .*item 1 cannot be done/s);
    expect(lines().filter((l) => l.what === 'start').length).toBeLessThan(5);

    // With continueOnError the failed item gives null, and the step says which failed.
    const tolerant = await hub.workflows.start({
      name: 'fan-out-tolerant',
      steps: [
        {
          id: 'each',
          forEach: { items: [0, 1, 2].map((n) => ({ n, fail: n === 1 })), continueOnError: true },
          command: { name: 'work', input: { log, item: '{{ item.n }}', fail: '{{ item.fail }}' } },
        },
      ],
    });
    const ok = await settled(hub, tolerant.id, ended);
    expect(ok.status).toBe('complete');
    expect(step(ok, 'each')?.output).toEqual([{ done: 0 }, null, { done: 2 }]);
    expect(step(ok, 'each')?.error).toMatch(/^1 of 3 items failed \(null in their place\): item 1:/);

    // A list that is not one fails the step saying what it is.
    const notList = await hub.workflows.start(
      {
        name: 'fan-out-none',
        steps: [{ id: 'each', forEach: { items: '{{ inputs.x }}' }, convert: { function: 'collect' } }],
      },
      { x: { a: 1 } },
    );
    const nope = await settled(hub, notList.id, ended);
    expect(step(nope, 'each')?.error).toMatch(/forEach.items is object, not a list/);
  });

  it('holds items back while the run is paused, and on retry runs only the items that did not complete', async () => {
    const { commands, log, lines } = setup();
    const hub = await hubs.open({ commands });
    await hub.startWorkflows();
    const broken = join(mkdtempSync(join(tmpdir(), 'cc-flow-')), 'broken');
    writeFileSync(broken, '');
    const run = await hub.workflows.start({
      name: 'fan-out-retry',
      steps: [
        {
          id: 'each',
          forEach: { items: [0, 1, 2, 3], concurrency: 1 },
          command: { name: 'work', input: { log, ms: 150, item: '{{ item }}' } },
        },
        { id: 'last', after: ['each'], convert: { function: 'collect', args: { n: '{{ steps.each[3].done }}' } } },
      ],
    });
    // Paused while item 0 runs: it finishes, and no other item starts until resumed.
    await until(() => lines().some((l) => l.what === 'start'));
    await hub.workflows.pause(run.id);
    await settled(hub, run.id, (r) => step(r, 'each')?.detail?.items?.complete === 1);
    await new Promise((r) => setTimeout(r, 400));
    expect(lines().filter((l) => l.what === 'start')).toHaveLength(1);
    await hub.workflows.resume(run.id);
    const done = await settled(hub, run.id, ended);
    expect(done.status).toBe('complete');
    expect(
      lines()
        .filter((l) => l.what === 'start')
        .map((l) => l.item),
    ).toEqual([0, 1, 2, 3]);

    // Item 2 fails while the file exists: the step fails; retried once it is gone, items 0 and 1 are kept.
    writeFileSync(log, '');
    const second = await hub.workflows.start({
      name: 'fan-out-retry',
      steps: [
        {
          id: 'each',
          forEach: { items: [0, 1, 2, 3], concurrency: 1 },
          command: { name: 'work', input: { log, item: '{{ item }}', failIf: `${broken}-{{ item }}` } },
        },
      ],
    });
    writeFileSync(`${broken}-2`, '');
    const failed = await settled(hub, second.id, ended);
    expect(failed.status).toBe('failed');
    expect(step(failed, 'each')?.error).toMatch(/^item 2 of 4 failed/);
    expect(
      lines()
        .filter((l) => l.what === 'start')
        .map((l) => l.item),
    ).toEqual([0, 1, 2]);
    rmSync(`${broken}-2`);
    await hub.workflows.retry(second.id, 'each');
    const retried = await settled(hub, second.id, ended);
    expect(retried.status).toBe('complete');
    expect(
      lines()
        .filter((l) => l.what === 'start')
        .map((l) => l.item),
    ).toEqual([0, 1, 2, 2, 3]);
    expect(step(retried, 'each')?.output).toEqual([0, 1, 2, 3].map((i) => ({ done: i })));
    expect(step(done, 'last')?.output).toEqual({ n: 3 });
  });

  it('waits for an approval: approved with a note, rejected, timed out, and only by those allowed', async () => {
    const hub = await hubs.open();
    await hub.startWorkflows();
    const definition = (approve: Record<string, unknown>) => ({
      name: 'gated',
      steps: [
        { id: 'build', convert: { function: 'collect', args: { version: '{{ inputs.version }}' } } },
        { id: 'ok', after: ['build'], approve: { message: 'Ship {{ steps.build.version }}?', ...approve } },
        { id: 'ship', after: ['ok'], convert: { function: 'collect', args: { by: '{{ steps.ok.by }}' } } },
      ],
    });
    const waiting = (run: WorkflowRun) => step(run, 'ok')?.status === 'waiting';

    const first = await settled(hub, (await hub.workflows.start(definition({}), { version: '1.2' })).id, waiting);
    expect(first.status).toBe('processing');
    expect(step(first, 'ok')?.detail?.approval).toMatchObject({
      message: 'Ship 1.2?',
      approvers: null,
      timeoutAt: null,
    });
    expect(step(first, 'ship')?.status).toBe('pending');
    // Approving what is not waiting is refused, naming its status.
    await expect(hub.workflows.approve(first.id, 'build')).rejects.toThrow(
      /step build is complete; only a step waiting/,
    );
    await expect(hub.workflows.approve(first.id, 'nope')).rejects.toThrow(/has no step nope/);
    await hub.workflows.approve(first.id, 'ok', { note: 'looks good' });
    const shipped = await settled(hub, first.id, ended);
    expect(shipped.status).toBe('complete');
    expect(step(shipped, 'ok')?.output).toMatchObject({ approved: true, by: 'user', note: 'looks good' });
    expect(step(shipped, 'ok')?.detail?.approval).toMatchObject({
      decision: 'approved',
      by: 'user',
      note: 'looks good',
    });
    expect(step(shipped, 'ship')?.output).toEqual({ by: 'user' });
    await expect(hub.workflows.reject(first.id, 'ok')).rejects.toThrow(/is complete/);

    const second = await settled(hub, (await hub.workflows.start(definition({}), { version: '2' })).id, waiting);
    await hub.workflows.reject(second.id, 'ok', { note: 'not on a Friday' });
    const refused = await settled(hub, second.id, ended);
    expect(refused.status).toBe('failed');
    expect(step(refused, 'ok')).toMatchObject({
      status: 'failed',
      reason: 'rejected',
      error: 'rejected by user: not on a Friday',
    });
    expect(step(refused, 'ship')?.status).toBe('cancelled');

    const late = await hub.workflows.start(definition({ timeoutMs: 300 }), { version: '3' });
    const timedOut = await settled(hub, late.id, ended);
    expect(timedOut.status).toBe('failed');
    expect(step(timedOut, 'ok')).toMatchObject({ status: 'failed', reason: 'timeout' });
    expect(step(timedOut, 'ok')?.detail?.approval?.decision).toBe('timed_out');

    // Modules: one named among the approvers decides; the one that started the run does not, then; others never.
    const guarded = await hub.workflows.start(definition({ approvers: ['ops'] }), { version: '4' }, { module: 'dev' });
    await settled(hub, guarded.id, waiting);
    await expect(hub.workflows.approve(guarded.id, 'ok', {}, { module: 'dev' })).rejects.toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
    await expect(hub.workflows.approve(guarded.id, 'ok', {}, { module: 'intruder' })).rejects.toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    await hub.workflows.approve(guarded.id, 'ok', {}, { module: 'ops' });
    const byOps = await settled(hub, guarded.id, ended);
    expect(step(byOps, 'ship')?.output).toEqual({ by: 'ops' });

    // Without approvers, the module that started the run decides.
    const own = await hub.workflows.start(definition({}), { version: '5' }, { module: 'dev' });
    await settled(hub, own.id, waiting);
    await hub.workflows.approve(own.id, 'ok', {}, { module: 'dev' });
    expect((await settled(hub, own.id, ended)).status).toBe('complete');

    // Cancelling a run ends its waiting step.
    const dropped = await hub.workflows.start(definition({}), { version: '6' });
    await settled(hub, dropped.id, waiting);
    const cancelled = await hub.workflows.cancel(dropped.id);
    expect(step(cancelled, 'ok')?.status).toBe('cancelled');
    expect((await hub.tasks.get(step(cancelled, 'ok')?.taskId as string)).status).toBe('cancelled');
  });

  it('keeps a run moving whatever earlier outputs put in an approval message or an item prints as its error', async () => {
    const hub = await hubs.open();
    await hub.startWorkflows();
    // A message made of a 30,000-character output, with a NUL and half a surrogate pair in it.
    const long = `${'x'.repeat(30_000)}\u0000\ud800`;
    const big = await hub.workflows.start(
      {
        name: 'big-message',
        steps: [
          { id: 'big', convert: { function: 'collect', args: { text: '{{ inputs.text }}' } } },
          { id: 'ok', after: ['big'], approve: { message: 'Ship {{ steps.big.text }}?' } },
        ],
      },
      { text: long },
    );
    const waiting = await settled(hub, big.id, (r) => step(r, 'ok')?.status === 'waiting');
    const message = step(waiting, 'ok')?.detail?.approval?.message ?? '';
    expect(message.length).toBeLessThanOrEqual(4001);
    expect(message.startsWith('Ship xxx')).toBe(true);
    expect(message).not.toContain('\u0000');
    // An item whose program writes a NUL on stderr as it fails: the step fails, naming it, on every backend.
    const nul = await hub.workflows.start({
      name: 'nul-item',
      steps: [
        {
          id: 'each',
          forEach: { items: [1] },
          command: { run: [process.execPath, '-e', 'process.stderr.write("bad\\u0000byte\\n"); process.exit(2)'] },
        },
      ],
    });
    const failed = await settled(hub, nul.id, ended);
    expect(failed.status).toBe('failed');
    expect(step(failed, 'each')?.error).toMatch(/^item 0 of 1 failed: .*badbyte/s);
  });

  it('refuses a decision made after the approval timed out, even before the engine has failed it', async () => {
    const engine = await hubs.open();
    await engine.startWorkflows();
    const other = await hubs.open({ database: engine.database });
    const run = await engine.workflows.start({
      name: 'late',
      steps: [{ id: 'ok', approve: { message: 'Go?', timeoutMs: 300 } }],
    });
    await settled(engine, run.id, (r) => step(r, 'ok')?.status === 'waiting');
    await engine.close();
    await new Promise((r) => setTimeout(r, 400));
    await expect(other.workflows.approve(run.id, 'ok')).rejects.toThrow(
      expect.objectContaining({ code: 'invalid_transition', message: expect.stringMatching(/too late/) }),
    );
    expect(step(await other.workflows.get(run.id), 'ok')?.status).toBe('waiting');
    // The next engine fails it as timed out.
    await other.startWorkflows();
    const done = await settled(other, run.id, ended);
    expect(step(done, 'ok')).toMatchObject({ status: 'failed', reason: 'timeout' });
  });

  it('routes an ask by capability to the least loaded of three modules, and fails naming why none could take it', async () => {
    const hub = await hubs.open();
    const answer = (name: string) =>
      `process.stdin.resume(); process.stdin.on('end', () => process.stdout.write(JSON.stringify({ by: '${name}' })));`;
    for (const name of ['east', 'north', 'west'])
      await commandModule(hub, name, answer(name), 1, { capabilities: ['summarise'] });
    await hub.modules.register({ name: 'idle', config: { capabilities: ['translate'] } });
    // Work queued for east before any worker runs: it is the busiest.
    await hub.ask({ from: 'test', to: 'east', prompt: 'earlier work' });
    await hub.modules.setPaused('north', true);
    await hub.startWorkflows();
    const run = await hub.workflows.start({
      name: 'routed',
      steps: [
        {
          id: 'each',
          forEach: { items: [1, 2, 3], concurrency: 3 },
          ask: { capability: 'summarise', prompt: 'Summarise part {{ item }}', schema: { type: 'object' } },
        },
        { id: 'one', ask: { capability: 'summarise', prompt: 'And this', schema: { type: 'object' } } },
      ],
    });
    // Each ask routed counts towards its module's queue before the next is routed, in the same transaction.
    await settled(hub, run.id, (r) => Boolean(step(r, 'one')?.messageId));
    await hub.startWorker();
    await hub.modules.setPaused('north', false);
    const done = await settled(hub, run.id, ended);
    expect(done.status).toBe('complete');
    const routing = step(done, 'one')?.detail?.routing;
    expect(routing?.capability).toBe('summarise');
    expect(routing?.considered.map((c) => c.module)).toEqual(['east', 'north', 'west']);
    expect(routing?.considered.find((c) => c.module === 'north')?.why).toMatch(/paused/);
    const by = ((step(done, 'each')?.output ?? []) as { value: { by: string } }[]).map((o) => o.value.by);
    // east had one queued, west none (north paused): west; then a tie, which the name breaks: east; then west again.
    expect(by).toEqual(['west', 'east', 'west']);
    // The last ask of the same transaction saw those three queued: two each, and east first by name.
    expect(routing?.chosen).toBe('east');
    expect(routing?.considered.find((c) => c.module === 'west')).toMatchObject({ queued: 2, chosen: false });
    expect(routing?.considered.find((c) => c.module === 'east')).toMatchObject({ queued: 2, chosen: true });

    const lost = await hub.workflows.start({
      name: 'unroutable',
      steps: [{ id: 'ask', ask: { capability: 'sumarise', prompt: 'x' } }],
    });
    const failed = await settled(hub, lost.id, ended);
    expect(failed.status).toBe('failed');
    expect(step(failed, 'ask')?.error).toMatch(/sumarise/);
    expect(step(failed, 'ask')?.error).toMatch(/summarise/);
    await hub.modules.setPaused('east', true);
    await hub.modules.setPaused('north', true);
    await hub.modules.setPaused('west', true);
    const none = await settled(
      hub,
      (
        await hub.workflows.start({
          name: 'unserved',
          steps: [{ id: 'ask', ask: { capability: 'summarise', prompt: 'x' } }],
        })
      ).id,
      ended,
    );
    expect(step(none, 'ask')?.reason).toBe('unavailable');
    expect(step(none, 'ask')?.error).toMatch(/east.*paused.*north.*paused.*west.*paused/s);
  });
});
