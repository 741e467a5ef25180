// Budgets on every backend, with command agents (real programs) reporting cost and iterations: a run past its
// task's limit is stopped where it passes it — process group ended, nothing it writes afterwards recorded — and
// its reply and task fail with reason budget_exceeded; a run within its limits completes. Limits come from the ask,
// else from the module's settings, and a retry keeps those of the reply it retries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { alive, commandModule } from '../support/modules.js';
import { readLog, until } from '../support/wait.js';

/**
 * An agent that writes `step N` and then reports `reports[N]` (a control message), 30 ms apart; then, unless it is
 * stopped, writes `after the limit` for a second and a half and ends well — a run nobody stopped would complete.
 */
function reporting(reports: Record<string, unknown>[], tail = true): string {
  return `
import { writeFileSync } from 'node:fs';
writeFileSync('pid', String(process.pid));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const reports = ${JSON.stringify(reports)};
for (const [i, report] of reports.entries()) {
  process.stdout.write('step ' + (i + 1) + '\\n@@claude-comms ' + JSON.stringify(report) + '\\n');
  await sleep(30);
}
for (let i = 0; ${tail ? 'i < 75' : 'false'}; i++) {
  process.stdout.write('after the limit\\n');
  await sleep(20);
}
process.stdout.write('done');`;
}

const COSTS = [{ cost_usd: 0.2 }, { cost_usd: 0.4 }, { cost_usd: 0.6 }, { cost_usd: 0.8 }];
const ITERATIONS = [1, 2, 3, 4, 5, 6, 7, 8].map((iteration) => ({ iteration }));

/** The reply, its task and the reason of each one's last status change, once the reply is finished. */
async function outcome(hub: Hub, asked: { messageId: string; taskId: string }) {
  const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
  await until(async () => (await hub.tasks.get(asked.taskId)).status !== 'processing', 10_000, 'the task to end');
  const task = await hub.tasks.get(asked.taskId);
  const taskChanges = await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.status_changed'] });
  const last = taskChanges.at(-1);
  return {
    done,
    task,
    replyReason: done.history.at(-1)?.reason,
    taskReason: last?.type === 'task.status_changed' ? last.data.reason : undefined,
  };
}

describeEachBackend('budgets', (hubs) => {
  it('stops a command agent whose cost passes the ask’s limit: reply and task fail with budget_exceeded', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'spender', reporting(COSTS));
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'spender', prompt: 'Spend', maxCostUsd: 0.5 });
    expect((await hub.tasks.get(asked.taskId)).maxCostUsd).toBe(0.5);
    const { done, task, replyReason, taskReason } = await outcome(hub, asked);
    const error = 'budget exceeded: cost $0.60 passed the limit of $0.50';
    expect(done.status).toBe('failed');
    expect(done.message.error).toBe(error);
    expect(task).toMatchObject({ status: 'failed', error, costUsd: 0.6 });
    expect(replyReason).toBe('budget_exceeded');
    expect(taskReason).toBe('budget_exceeded');
    // Stopped at the report that passed: what it wrote before is kept, nothing after it is recorded, and its
    // process is gone by the time the reply is final.
    expect(done.message.content).toBe('step 1\nstep 2\nstep 3\n');
    expect(alive(Number(readFileSync(join(dir, 'pid'), 'utf8')))).toBe(false);
    // The module is not held responsible: a budget is no fault of its backend.
    expect((await hub.modules.get('spender')).health).toBe('healthy');
  });

  it('stops a command agent whose iterations pass the limit', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'looper', reporting(ITERATIONS));
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'looper', prompt: 'Loop', maxIterations: 5 });
    const { done, task, replyReason, taskReason } = await outcome(hub, asked);
    const error = 'budget exceeded: iterations 6 passed the limit of 5';
    expect(done).toMatchObject({ status: 'failed', message: { error } });
    expect(task).toMatchObject({ status: 'failed', error, iteration: 6, maxIterations: 5 });
    expect([replyReason, taskReason]).toEqual(['budget_exceeded', 'budget_exceeded']);
    expect(done.message.content).toBe('step 1\nstep 2\nstep 3\nstep 4\nstep 5\nstep 6\n');
    expect(alive(Number(readFileSync(join(dir, 'pid'), 'utf8')))).toBe(false);
  });

  it('lets an agent use exactly its limits, and completes it', async () => {
    const hub = await hubs.open();
    await commandModule(
      hub,
      'careful',
      reporting([
        { cost_usd: 0.25, iteration: 4 },
        { cost_usd: 0.5, iteration: 5 },
      ]),
    );
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'careful', prompt: 'Go', maxCostUsd: 0.5, maxIterations: 5 });
    const { done, task } = await outcome(hub, asked);
    expect(done.status).toBe('complete');
    expect(done.message.content).toContain('after the limit');
    expect(task).toMatchObject({ status: 'complete', costUsd: 0.5, iteration: 5, error: null });
  });

  it('applies the module’s default limits, and an ask’s own over them', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'spender', reporting(COSTS, false), 1, { maxCostUsd: 0.5, maxIterations: 10 });
    await hub.startWorker();
    const byDefault = await hub.ask({ from: 'marker', to: 'spender', prompt: 'Spend' });
    expect(await hub.tasks.get(byDefault.taskId)).toMatchObject({ maxCostUsd: 0.5, maxIterations: 10 });
    const first = await outcome(hub, byDefault);
    expect(first.done.message.error).toBe('budget exceeded: cost $0.60 passed the limit of $0.50');

    const raised = await hub.ask({ from: 'marker', to: 'spender', prompt: 'Spend more', maxCostUsd: 1 });
    // The ask's limit replaces the module's; the one it does not give is the module's.
    expect(await hub.tasks.get(raised.taskId)).toMatchObject({ maxCostUsd: 1, maxIterations: 10 });
    const second = await outcome(hub, raised);
    expect(second.done.status).toBe('complete');
    expect(second.task.costUsd).toBe(0.8);

    const unlimited = await hub.ask({ from: 'marker', to: 'spender', prompt: 'No limit', maxCostUsd: null });
    expect((await hub.tasks.get(unlimited.taskId)).maxCostUsd).toBeNull();
    expect((await outcome(hub, unlimited)).done.status).toBe('complete');
  });

  it('retries a reply under the limits of the one it retries', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'spender', reporting(COSTS, false));
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'spender', prompt: 'Spend', maxCostUsd: 0.3, maxIterations: 9 });
    expect((await outcome(hub, asked)).done.status).toBe('failed');
    const retried = await hub.retry(asked.messageId);
    expect(await hub.tasks.get(retried.taskId)).toMatchObject({ maxCostUsd: 0.3, maxIterations: 9 });
    const again = await outcome(hub, retried);
    expect(again.done.message.error).toBe('budget exceeded: cost $0.40 passed the limit of $0.30');
  });

  it('judges a run by its task’s limits as they are when the agent reports', async () => {
    const hub = await hubs.open();
    const slow = `
process.stdout.write('@@claude-comms {"cost_usd": 0.2}\\n');
await new Promise((r) => setTimeout(r, 400));
process.stdout.write('@@claude-comms {"cost_usd": 0.4}\\n');
await new Promise((r) => setTimeout(r, 2000));`;
    await commandModule(hub, 'spender', slow);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'spender', prompt: 'Spend', maxCostUsd: 1 });
    await until(async () => (await hub.tasks.get(asked.taskId)).costUsd === 0.2, 10_000, 'the first report');
    await hub.tasks.update(asked.taskId, { maxCostUsd: 0.3 });
    const { done } = await outcome(hub, asked);
    expect(done.message.error).toBe('budget exceeded: cost $0.40 passed the limit of $0.30');
  });

  it('refuses limits out of range, naming the field, and asks nothing', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'spender', reporting([]));
    const ask = (limits: Record<string, unknown>) => hub.ask({ from: 'marker', to: 'spender', prompt: 'q', ...limits });
    await expect(ask({ maxCostUsd: -1 })).rejects.toMatchObject({ code: 'validation', message: /maxCostUsd/ });
    await expect(ask({ maxCostUsd: Number.NaN })).rejects.toMatchObject({ code: 'validation', message: /maxCostUsd/ });
    await expect(ask({ maxIterations: 1e9 })).rejects.toMatchObject({ code: 'validation', message: /maxIterations/ });
    await expect(ask({ maxIterations: 1.5 })).rejects.toMatchObject({ code: 'validation', message: /maxIterations/ });
    expect(await hub.tasks.list()).toEqual([]);
  });
});
