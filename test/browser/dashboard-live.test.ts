// The dashboard in chromium against a real service: changes made through the API and the hub appear live,
// a reply streams into its thread, the agent control panel follows a task and cancels its agent, instances are
// paused, resumed and terminated from the page, and after a restart of the service the page resumes from its
// cursor and shows what changed while it was down.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it, vi } from 'vitest';
import { openHub } from '../../src/index.js';
import { describeDashboard, shows } from '../support/dashboard.js';
import { alive } from '../support/modules.js';
import { until } from '../support/wait.js';

const text = (page: Page, selector: string) => () => page.locator(selector).first().textContent();
const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);
const texts = (page: Page, selector: string) => () => page.locator(selector).allTextContents();

describeDashboard('dashboard, live', (open) => {
  it('shows task and module changes made through the API', async () => {
    const d = await open();
    await d.page.goto(`${d.url}/#/tasks`);
    await shows(attribute(d.page, '.connection', 'data-state'), 'live');
    const created = await d.call('/tasks', {
      body: { name: 'Index the PDFs', module: 'marker', criteria: ['all pages'] },
    });
    const id = created.body.id as string;
    const row = `tr[data-task-id="${id}"]`;
    await shows(attribute(d.page, row, 'data-status'), 'pending');

    await d.call(`/tasks/${id}`, { method: 'PATCH', body: { status: 'processing', progress: 40, iteration: 2 } });
    await shows(attribute(d.page, row, 'data-status'), 'processing');
    await shows(text(d.page, `${row} .progress-value`), '40 %');

    await d.page.goto(`${d.url}/#/`);
    await shows(text(d.page, '[data-total="processing"] .tile-value'), '1');
    await d.call('/modules/marker/pause', { method: 'POST' });
    await shows(texts(d.page, '[data-module="marker"] .status'), ['paused']);
    await d.call(`/tasks/${id}/complete`, { body: {} });
    await shows(text(d.page, '[data-total="complete"] .tile-value'), '1');
    await shows(text(d.page, '[data-total="processing"] .tile-value'), '0');
  });

  it('shows a task created while the task list is still loading', async () => {
    const d = await open();
    // The list's answer is read before the task exists and reaches the page only after the task's event.
    let created: string | undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await d.page.route('**/api/v1/tasks?*', async (route) => {
      const response = await route.fetch();
      if (!created) {
        created = (await d.call('/tasks', { body: { name: 'Born while loading' } })).body.id as string;
        await released;
      }
      await route.fulfill({ response });
    });
    await d.page.goto(`${d.url}/#/tasks`);
    await shows(attribute(d.page, '.connection', 'data-state'), 'live');
    await vi.waitFor(() => expect(created).toBeDefined());
    await d.page.waitForTimeout(300); // the task's event reaches the page while the list is held
    release();
    await shows(attribute(d.page, `tr[data-task-id="${created}"]`, 'data-status'), 'pending');
  });

  it('streams a reply into the thread as it is written, with its status and timings', async () => {
    const d = await open();
    const hub = d.service.hub;
    const thread = await hub.threads.create({ title: 'PDF structure', createdBy: 'marker' });
    await hub.messages.create({
      threadId: thread.id,
      author: 'marker',
      role: 'user',
      status: 'complete',
      content: 'Which structure?',
    });
    const reply = await hub.messages.create({ threadId: thread.id, author: 'reviewer' }); // no worker serves it
    await d.page.goto(`${d.url}/#/threads/${thread.id}`);
    const message = `[data-message-id="${reply.id}"]`;
    await shows(attribute(d.page, message, 'data-status'), 'pending');

    await hub.messages.transition(reply.id, 'processing');
    await hub.messages.appendContent(reply.id, 'Sections with ');
    await shows(text(d.page, `${message} .content`), 'Sections with ');
    expect(await d.page.locator(message).getAttribute('data-status')).toBe('processing');
    await hub.messages.appendContent(reply.id, 'page spans,\n');
    await shows(text(d.page, `${message} .content`), 'Sections with page spans,\n');
    await hub.messages.appendContent(reply.id, 'and one table per node.');
    await hub.messages.transition(reply.id, 'complete');
    await shows(attribute(d.page, message, 'data-status'), 'complete');
    expect(await d.page.locator(`${message} .content`).textContent()).toBe(
      'Sections with page spans,\nand one table per node.',
    );
    expect(await d.page.locator(`${message} .timings`).textContent()).toMatch(/waited .+ · took \d/);
  });

  it('follows a task on the agent control panel: criteria, cost, iterations, files, log and errors', async () => {
    const d = await open();
    const hub = d.service.hub;
    const task = await hub.progress.start({
      name: 'Extract tables',
      agentId: 'marker',
      criteria: ['all pages read', 'tables kept'],
      maxIterations: 5,
      maxCostUsd: 2,
    });
    const id = task.taskId;
    const p = d.page;
    await p.goto(`${d.url}/#/tasks/${id}`);
    await shows(attribute(p, '.panel', 'data-status'), 'processing');
    await shows(texts(p, '.criteria li'), ['○all pages readpending', '○tables keptpending']);
    expect(await p.locator('[data-gauge="cost"] .gauge-value').textContent()).toBe('$0.00 of $2.00');
    expect(await p.locator('[data-gauge="iteration"] .gauge-value').textContent()).toBe('0 of 5');

    await hub.progress.verifyCriterion(id, 'tables kept');
    await shows(texts(p, '.criteria li'), ['○all pages readpending', '✓tables keptpass']);
    await shows(text(p, '[data-testid="criteria-count"]'), '1 of 2 pass');
    await d.call(`/tasks/${id}`, { method: 'PATCH', body: { costUsd: 0.42, iteration: 2 } });
    await shows(text(p, '[data-gauge="cost"] .gauge-value'), '$0.42 of $2.00');
    await shows(text(p, '[data-gauge="iteration"] .gauge-value'), '2 of 5');
    await hub.progress.updateProgress(id, 60, 'first pages done');
    await shows(text(p, '[data-gauge="progress"] .progress-value'), '60 %');
    await hub.progress.logAction(id, 'Write', 'out/tables.json');
    await hub.progress.logAction(id, 'Edit', 'src/extract.py');
    await shows(texts(p, '[data-files="created"] li'), ['out/tables.json']);
    await shows(texts(p, '[data-files="modified"] li'), ['src/extract.py']);
    await hub.progress.logError(id, 'page 7 has no text layer');
    await shows(texts(p, '.errors li'), ['page 7 has no text layer']);
    await shows(texts(p, '.log .log-text'), [
      'first pages done',
      'Write out/tables.json',
      'Edit src/extract.py',
      'page 7 has no text layer',
    ]);
    await hub.progress.complete(id);
    await shows(attribute(p, '.panel', 'data-status'), 'complete');
    expect(await p.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
  });

  it('cancels the agent from the panel (the reply ends cancelled, the agent process is gone), then retries it', async () => {
    const d = await open();
    const asked = await d.call('/ask', { body: { from: 'marker', to: 'slow', prompt: 'Take your time' } });
    const { messageId, taskId } = asked.body as Record<string, string>;
    const pidFile = join(d.dir, 'slow', 'pid');
    await until(() => existsSync(pidFile), 10_000, 'the agent to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);

    await d.page.goto(`${d.url}/#/tasks/${taskId}`);
    await shows(attribute(d.page, '.panel', 'data-status'), 'processing');
    await d.page.getByRole('button', { name: 'Cancel' }).click();
    // Asked first: backing out leaves the agent running.
    await d.page.getByRole('button', { name: 'Keep it running' }).click();
    expect(await d.page.getByRole('button', { name: 'Stop the agent' }).count()).toBe(0);
    expect(alive(pid)).toBe(true);
    await d.page.getByRole('button', { name: 'Cancel' }).click();
    await d.page.getByRole('button', { name: 'Stop the agent' }).click();
    await shows(attribute(d.page, '.panel', 'data-status'), 'cancelled');
    await shows(
      () => d.page.locator('[data-testid="cancelled"]').textContent(),
      expect.stringMatching(/^Cancelled .* · cancelled from the dashboard$/),
    );
    expect(await d.page.locator('.errors').count()).toBe(0);
    expect((await d.call(`/messages/${messageId}`)).body.status).toBe('cancelled');
    await until(() => !alive(pid), 10_000, `the agent (pid ${pid}) to be stopped`);

    await d.page.getByRole('link', { name: /Open the conversation/ }).click();
    await shows(attribute(d.page, `[data-message-id="${messageId}"]`, 'data-status'), 'cancelled');
    expect(await d.page.locator(`[data-message-id="${messageId}"] .content`).textContent()).toMatch(/^step 1\n/);

    // Retried from the conversation: a new reply to the same question, marked as the cancelled one's retry.
    await d.page.locator(`[data-message-id="${messageId}"]`).getByRole('button', { name: 'Retry' }).click();
    const retry = d.page.locator(`.message:has([data-retry-of="${messageId}"])`);
    await shows(() => retry.getAttribute('data-status'), expect.stringMatching(/^(pending|processing)$/));
    expect(await d.page.locator('.message.role-user').count()).toBe(1);
    // Retried once: the retry is what is retried next.
    expect(await d.page.locator(`[data-message-id="${messageId}"] .retry`).count()).toBe(0);
    const again = (await retry.getAttribute('data-message-id')) as string;
    await d.call(`/messages/${again}/cancel`, { body: {} });
    // And from the panel of its task: the panel then shows the newest retry, linked to the task it retries.
    const againTask = (await d.call(`/messages/${again}`)).body.taskId as string;
    await d.page.goto(`${d.url}/#/tasks/${againTask}`);
    await shows(attribute(d.page, '.panel', 'data-status'), 'cancelled');
    await d.page.getByRole('button', { name: 'Retry' }).click();
    await shows(() => d.page.locator('[data-testid="retry-of"]').getAttribute('href'), `#/tasks/${againTask}`);
  });

  it('pauses, resumes and terminates an instance, and pauses a module, from the page', async () => {
    const d = await open();
    const asked = await d.call('/ask', { body: { from: 'marker', to: 'arangodb', prompt: 'hello' } });
    await d.service.hub.waitForCompletion(asked.body.messageId as string, { timeoutMs: 10_000 });
    const [instance] = (await d.call('/instances?module=arangodb')).body.instances as { id: string }[];
    const row = `tr[data-instance-id="${instance?.id}"]`;
    const state = async () =>
      ((await d.call(`/instances?all=true`)).body.instances as { id: string; state: string }[]).find(
        (i) => i.id === instance?.id,
      )?.state;
    await d.page.goto(`${d.url}/#/instances`);
    await shows(attribute(d.page, row, 'data-state'), 'idle');

    await d.page.locator(row).getByRole('button', { name: 'Pause' }).click();
    await shows(attribute(d.page, row, 'data-state'), 'paused');
    expect(await state()).toBe('paused');
    await d.page.locator(row).getByRole('button', { name: 'Resume' }).click();
    await shows(attribute(d.page, row, 'data-state'), 'idle');
    expect(await state()).toBe('idle');
    await d.page.locator(row).getByRole('button', { name: 'Terminate' }).click();
    await shows(() => d.page.locator(row).count(), 0);
    expect(await state()).toBe('terminated');

    const section = d.page.locator('[data-module="arangodb"]');
    await section.getByRole('button', { name: 'Pause module' }).click();
    await shows(() => section.locator('.status[data-status="paused"]').count(), 1);
    expect((await d.call('/modules/arangodb')).body.paused).toBe(true);
  });

  it('resumes from its cursor after the service restarts and shows what changed while it was down', async () => {
    const d = await open();
    const hub = d.service.hub;
    const thread = await hub.threads.create({ title: 'Restart', createdBy: 'marker' });
    const reply = await hub.messages.create({ threadId: thread.id, author: 'reviewer' }); // no worker serves it
    await hub.messages.transition(reply.id, 'processing');
    await hub.messages.appendContent(reply.id, 'before the restart; ');
    const message = `[data-message-id="${reply.id}"]`;
    await d.page.goto(`${d.url}/#/threads/${thread.id}`);
    await shows(text(d.page, `${message} .content`), 'before the restart; ');
    await shows(attribute(d.page, '.connection', 'data-state'), 'live');

    await d.stop();
    await shows(attribute(d.page, '.connection', 'data-state'), 'reconnecting');
    // Changes while no service is running, written straight to the database.
    const offline = await openHub({ database: d.database, config: false });
    await offline.messages.appendContent(reply.id, 'written while the service was down');
    await offline.messages.transition(reply.id, 'complete');
    const task = await offline.tasks.create({ name: 'made while down', module: 'marker' });
    await offline.close();

    await d.start();
    await shows(attribute(d.page, '.connection', 'data-state'), 'live', 15_000);
    await shows(attribute(d.page, message, 'data-status'), 'complete');
    expect(await d.page.locator(`${message} .content`).textContent()).toBe(
      'before the restart; written while the service was down',
    );
    // The feed holds only what came through the stream: the replay after the cursor brought these.
    await d.page.goto(`${d.url}/#/`);
    await shows(
      async () =>
        (await texts(d.page, '.feed-item')()).filter((t) => /made while down|processing → complete/.test(t)).length,
      2,
    );
    expect(await d.page.locator(`.feed-item a[href="#/tasks/${task.id}"]`).count()).toBe(1);
  });
});
