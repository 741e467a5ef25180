// The dashboard's views with a lot in them: thousands of tasks a page at a time, and every view of a busy hub on
// a laptop screen and in a narrow window. With SCREENSHOTS=1 the second test writes docs/screenshots/*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { type Dashboard, describeDashboard, shows } from '../support/dashboard.js';

const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));

/** Writes `docs/screenshots/<name>.png` when SCREENSHOTS=1. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** A hub at work: answered questions, a conversation with a reply streaming, a task half done, one failed. */
async function busyHub(d: Dashboard): Promise<{ threadId: string; taskId: string }> {
  const hub: Hub = d.service.hub;
  for (const prompt of ['Which PDF structure do you need?', 'Can tables span pages?']) {
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt });
    await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
  }
  const thread = await hub.threads.create({ title: 'Graph schema for extracted PDFs', createdBy: 'marker' });
  await hub.messages.create({
    threadId: thread.id,
    author: 'marker',
    role: 'user',
    status: 'complete',
    content:
      'I extract sections, tables and figures from each PDF.\nWhich shape should the documents have for the graph?',
  });
  await hub.messages.create({
    threadId: thread.id,
    author: 'arangodb',
    status: 'complete',
    content:
      'One vertex per section, with:\n- title, level, page span\n- tables as child vertices (rows kept as arrays)\n\nEdges: `contains` (section → table), `follows` (section → next section).',
  });
  await hub.ask({ from: 'marker', to: 'slow', prompt: 'Re-index the 40 PDFs with that schema', threadId: thread.id });
  // Replies of a module no worker serves: one failed, one cancelled.
  const review = await hub.threads.create({ title: 'Review the table extraction', createdBy: 'marker' });
  const failedReply = await hub.messages.create({ threadId: review.id, author: 'reviewer' });
  await hub.messages.transition(failedReply.id, 'failed', { error: 'no reviewer is configured' });
  const dropped = await hub.threads.create({ title: 'Figures as separate vertices?', createdBy: 'arangodb' });
  await hub.messages.cancel((await hub.messages.create({ threadId: dropped.id, author: 'reviewer' })).id, 'not needed');

  const task = await hub.progress.start({
    name: 'Extract tables from report.pdf',
    agentId: 'marker',
    criteria: ['every page read', 'tables keep their rows', 'figures have captions'],
    maxIterations: 10,
    maxCostUsd: 2,
  });
  await hub.progress.updateIteration(task.taskId, 4);
  await hub.progress.updateProgress(task.taskId, 45, 'pages 1–12 done');
  await hub.tasks.update(task.taskId, { costUsd: 0.42, tokensIn: 48_200, tokensOut: 6_900 });
  await hub.progress.verifyCriterion(task.taskId, 0);
  await hub.progress.logAction(task.taskId, 'Read', 'report.pdf');
  await hub.progress.logAction(task.taskId, 'Write', 'out/tables.json');
  await hub.progress.logAction(task.taskId, 'Edit', 'src/extract.py');
  await hub.progress.logAction(task.taskId, 'Bash', 'pytest tests/test_tables.py');
  await hub.progress.logError(task.taskId, 'page 7 has no text layer; OCR needed');

  const failed = await hub.progress.start({ name: 'Import figures', agentId: 'arangodb', criteria: 2 });
  await hub.progress.complete(failed.taskId, false, 'collection "figures" does not exist');
  const spare = await hub.instances.create('arangodb');
  await hub.instances.pause(spare.id);
  return { threadId: thread.id, taskId: task.taskId };
}

describeDashboard('dashboard, views', (open) => {
  it('pages through thousands of tasks, one page of rows at a time', async () => {
    const d = await open();
    // Called in order, so ids (UUIDv7, made at the call) sort as the names do; committed in groups.
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => d.service.hub.tasks.create({ name: `task ${i}`, module: 'marker' })),
    );
    const { page } = d;
    await page.goto(`${d.url}/#/tasks`);
    const names = () => page.locator('.task-table .task-name a').allTextContents();
    await shows(async () => (await names()).slice(0, 2), ['task 1999', 'task 1998']);
    expect(await page.locator('.task-table tbody tr').count()).toBe(50);

    await page.getByRole('button', { name: 'Older' }).click();
    await shows(async () => (await names()).slice(0, 1), ['task 1949']);
    expect(await page.locator('.task-table tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Newer' }).click();
    await shows(async () => (await names()).slice(0, 1), ['task 1999']);

    await page.getByPlaceholder('words of its name or log').fill('task 1234');
    await shows(names, ['task 1234']);

    await page.goto(`${d.url}/#/`);
    await shows(() => page.locator('[data-total="pending"] .tile-value').textContent(), '2000');
    expect(await page.locator('.task-table tbody tr').count()).toBe(25);
  });

  it('shows every view of a busy hub on a laptop screen and in a narrow window', async () => {
    const d = await open({ viewport: { width: 1280, height: 800 } });
    const { page } = d;
    // Open first: the event feed shows what happens while the page is open.
    await page.goto(`${d.url}/#/`);
    await shows(() => page.locator('.connection').getAttribute('data-state'), 'live');
    const { threadId, taskId } = await busyHub(d);

    await shows(() => page.locator('[data-module="slow"] .chip').getAttribute('data-state'), 'busy');
    await shows(() => page.locator('[data-total="failed"] .tile-value').textContent(), '1');
    await shows(async () => (await page.locator('[data-module="arangodb"] .chip').count()) >= 2, true);
    await page.locator('.feed-item').first().waitFor();
    await screenshot(page, 'overview');

    await page.goto(`${d.url}/#/threads/${threadId}`);
    const streaming = page.locator('.message[data-status="processing"] .content');
    await shows(async () => /^step 1\nstep 2\n/.test((await streaming.textContent()) ?? ''), true);
    expect(await page.locator('.message').count()).toBe(4);
    await screenshot(page, 'thread');

    await page.goto(`${d.url}/#/threads`);
    await page.getByLabel('Replies').selectOption({ label: 'running or waiting' });
    await shows(
      () => page.locator('.thread-list .thread-title').allTextContents(),
      ['Graph schema for extracted PDFs'],
    );
    await page.getByLabel('Replies').selectOption({ label: 'any' });
    await shows(() => page.locator('.thread-list li').count(), 5);
    await screenshot(page, 'threads');

    await page.goto(`${d.url}/#/tasks/${taskId}`);
    await shows(() => page.locator('.log .log-text').count(), 6);
    await screenshot(page, 'task-panel');

    await page.goto(`${d.url}/#/instances`);
    await shows(() => page.locator('tr[data-state="paused"]').count(), 1);
    await screenshot(page, 'instances');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${d.url}/#/`);
    await page.locator('.feed-item').first().waitFor();
    // One column: nothing wider than the window.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'narrow-overview');
    await page.goto(`${d.url}/#/threads/${threadId}`);
    await page.locator('.message').first().waitFor();
    expect(await page.locator('.thread-list').isVisible()).toBe(false);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  });
});
