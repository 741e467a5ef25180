// hub.progress (the original design's ProgressTracker) on every backend: the full cycle of one task, its
// agent-control view, live listeners fed by another hub on the same database, and tasks tracked independently.
import { expect, it } from 'vitest';
import type { AgentControl } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { until } from '../support/wait.js';

describeEachBackend('progress tracker', (hubs) => {
  it('tracks a task from start to complete, with criteria, files, log and errors', async () => {
    const hub = await hubs.open();
    const started = await hub.progress.start({
      name: 'Extract tables',
      agentId: 'marker',
      criteria: 3,
      maxIterations: 5,
      maxCostUsd: 2,
      sessionId: 's-1',
    });
    expect(started).toMatchObject({
      status: 'processing',
      agentId: 'marker',
      sessionId: 's-1',
      iteration: 0,
      maxIterations: 5,
      maxCostUsd: 2,
      criteriaTotal: 3,
      criteriaPassed: 0,
    });
    expect(started.criteria.map((c) => c.text)).toEqual(['criterion 1', 'criterion 2', 'criterion 3']);
    const id = started.taskId;
    await hub.progress.updateIteration(id);
    expect((await hub.progress.updateIteration(id)).iteration).toBe(2);
    expect((await hub.progress.updateIteration(id, 4)).iteration).toBe(4);
    await hub.progress.updateProgress(id, 35, 'first pages done');
    await hub.progress.verifyCriterion(id, 1);
    await hub.progress.verifyCriterion(id, 'criterion 3');
    await hub.progress.logAction(id, 'Write', 'out/tables.json');
    await hub.progress.logAction(id, 'Edit', 'src/extract.py');
    await hub.progress.logAction(id, 'Edit', 'src/broken.py', false);
    await hub.progress.logAction(id, 'Bash', 'pytest');
    await hub.progress.logError(id, 'page 7 has no text layer');
    const view = await hub.progress.get(id);
    expect(view).toMatchObject({
      progress: 35,
      criteriaPassed: 2,
      filesCreated: ['out/tables.json'],
      filesModified: ['src/extract.py'],
      errors: ['page 7 has no text layer'],
    });
    expect(view.criteria.map((c) => c.status)).toEqual(['pending', 'pass', 'pass']);
    expect(view.logs.map((l) => l.text)).toEqual([
      'first pages done',
      'Write out/tables.json',
      'Edit src/extract.py',
      'Edit src/broken.py (failed)',
      'Bash pytest',
      'page 7 has no text layer',
    ]);
    expect((await hub.progress.active()).map((t) => t.taskId)).toEqual([id]);
    const done = await hub.progress.complete(id);
    expect(done).toMatchObject({ status: 'complete', progress: 100 });
    expect(await hub.progress.active()).toEqual([]);
    await expect(hub.progress.updateProgress(id, 50)).rejects.toMatchObject({ code: 'invalid_transition' });

    const failed = await hub.progress.start({ name: 'Doomed', criteria: ['loads'] });
    const end = await hub.progress.complete(failed.taskId, false, 'out of budget');
    expect(end).toMatchObject({ status: 'failed', errors: ['out of budget'] });
    await expect(hub.progress.start({})).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.progress.verifyCriterion(failed.taskId, 'loads')).rejects.toMatchObject({
      code: 'invalid_transition',
    });
  });

  it('tells listeners every change, in order, including changes made by another hub', async () => {
    const hub = await hubs.open();
    const other = await hubs.open({ database: hub.database });
    const seen: AgentControl[] = [];
    const sub = await hub.progress.on((view) => seen.push(view));
    const a = await other.progress.start({ name: 'A', criteria: ['x', 'y'] });
    const b = await other.progress.start({ name: 'B', criteria: 1 });
    // Interleaved changes of two tasks: each tracks independently.
    await other.progress.updateProgress(a.taskId, 10);
    await other.progress.updateProgress(b.taskId, 90);
    await other.progress.verifyCriterion(a.taskId, 'y');
    await other.progress.updateProgress(a.taskId, 60);
    await other.progress.complete(b.taskId);
    await until(() => seen.some((v) => v.taskId === b.taskId && v.status === 'complete'), 10_000, 'B complete');
    await until(() => seen.filter((v) => v.taskId === a.taskId).some((v) => v.progress === 60), 10_000, 'A at 60');
    sub.close();
    const aViews = seen.filter((v) => v.taskId === a.taskId).map((v) => v.progress);
    expect(aViews.at(-1)).toBe(60);
    expect([...aViews].sort((x, y) => x - y)).toEqual(aViews);
    const final = await hub.progress.get(a.taskId);
    expect(final).toMatchObject({ progress: 60, criteriaPassed: 1, status: 'processing' });
    expect((await hub.progress.get(b.taskId)).progress).toBe(100);
  });
});
