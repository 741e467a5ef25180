// The dashboard in daily use, in chromium against a real service: the thread list says who was asked and how
// their replies stand, and narrows to a module or a reply status, live; the event feed shows what happened
// before the page opened and goes on from there with nothing missed or shown twice; a cancelled task reads as
// cancelled, not as an error, while a failed one stays red; a module removed from the configuration is shown
// greyed and without pause or resume; the header's search box finds threads, answers and tasks and opens them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { HubEvent } from '../../src/index.js';
import { describeDashboard, shows } from '../support/dashboard.js';
import { payload } from '../support/payload.js';

const texts = (page: Page, selector: string) => () => page.locator(selector).allTextContents();
const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);

describeDashboard('dashboard, daily use', (open) => {
  it('lists threads with the modules asked and their replies, filtered by module and status, live', async () => {
    const d = await open();
    const hub = d.service.hub;
    const answered = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    await hub.waitForCompletion(answered.messageId, { timeoutMs: 10_000 });
    await hub.messages.create({ threadId: answered.threadId, author: 'reviewer' }); // no worker serves it
    const broken = await hub.threads.create({ title: 'Broken import', createdBy: 'marker' });
    const failed = await hub.messages.create({ threadId: broken.id, author: 'reviewer' }); // no worker serves it
    await hub.messages.transition(failed.id, 'processing');
    await hub.messages.transition(failed.id, 'failed', { error: 'collection missing' });
    const dropped = await hub.threads.create({ title: 'Dropped idea', createdBy: 'arangodb' });
    await hub.messages.cancel(
      (await hub.messages.create({ threadId: dropped.id, author: 'reviewer' })).id,
      'not needed',
    );

    const p = d.page;
    await p.goto(`${d.url}/#/threads`);
    const item = (id: string) => `.thread-list li[data-thread-id="${id}"]`;
    await shows(attribute(p, item(broken.id), 'data-reply-status'), 'failed');
    expect(await p.locator(`${item(dropped.id)} .status`).textContent()).toBe('cancelled');
    expect(await p.locator(`${item(broken.id)} .thread-asked`).textContent()).toBe('asked reviewer');
    // Asked twice: arangodb answered, then reviewer was asked and has not answered yet.
    await shows(() => p.locator(`${item(answered.threadId)} .thread-asked`).textContent(), 'asked arangodb, reviewer');
    await shows(attribute(p, item(answered.threadId), 'data-reply-status'), 'pending');
    expect(await p.locator(`${item(answered.threadId)} .thread-tally`).textContent()).toBe('1 pending · 1 complete');

    const replies = p.getByLabel('Replies');
    await replies.selectOption({ label: 'failed' });
    await shows(texts(p, '.thread-list .thread-title'), ['Broken import']);
    await replies.selectOption({ label: 'running or waiting' });
    await shows(texts(p, '.thread-list .thread-title'), ['Which structure?']);
    // Live: a new question comes into the filtered list; once it fails, it leaves it.
    const late = await hub.threads.create({ title: 'Late question', createdBy: 'marker' });
    const waiting = await hub.messages.create({ threadId: late.id, author: 'reviewer' });
    await shows(texts(p, '.thread-list .thread-title'), ['Late question', 'Which structure?']);
    await hub.messages.transition(waiting.id, 'failed', { error: 'no reviewer' });
    await shows(texts(p, '.thread-list .thread-title'), ['Which structure?']);

    await replies.selectOption({ label: 'any' });
    await p.getByLabel('Asked').selectOption('arangodb');
    await shows(texts(p, '.thread-list .thread-title'), ['Which structure?']);
    await p.getByLabel('Asked').selectOption('slow');
    await shows(texts(p, '.thread-list p'), ['No threads match.']);
  });

  it('shows the events from before the page opened, then goes on live with none missed or repeated', async () => {
    const d = await open();
    const hub = d.service.hub;
    const task = await hub.tasks.create({ name: 'long job', module: 'marker' });
    for (let i = 0; i < 80; i++) await hub.tasks.log(task.id, { text: `before ${i}` });
    // Writes go on while the page loads, reads its history and connects, so the hand-over happens among them,
    // and stop 60 events after it is live: without the history the feed would hold fewer than 100.
    let written = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    const writer = (async () => {
      for (; written < stopAt; written++) {
        await hub.tasks.log(task.id, { text: `during ${written}` });
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    const p = d.page;
    await p.goto(`${d.url}/#/`);
    await shows(attribute(p, '.connection', 'data-state'), 'live');
    stopAt = written + 60;
    await writer;
    await hub.tasks.log(task.id, { text: 'after' });

    const newest = (await d.call('/events?last=100')).body.events as HubEvent[];
    const seqs = async () =>
      (await p.locator('.feed-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-seq')))).map(Number);
    await shows(async () => (await seqs())[0], newest.at(-1)?.seq);
    // The feed keeps the newest 100: exactly the log's newest 100, in order, each once.
    expect(await seqs()).toEqual(newest.map((e) => e.seq).reverse());
    expect((await texts(p, '.feed-text')()).at(-1)).toBe(payload(newest[0])?.text);
  });

  it('asks before cancelling, then shows the cancellation plainly; a failure stays an error', async () => {
    const d = await open();
    const hub = d.service.hub;
    const task = await hub.progress.start({ name: 'Re-index', agentId: 'marker' });
    await hub.progress.logError(task.taskId, 'page 7 has no text layer');
    const p = d.page;
    await p.goto(`${d.url}/#/tasks/${task.taskId}`);
    await shows(attribute(p, '.panel', 'data-status'), 'processing');

    await p.getByRole('button', { name: 'Cancel', exact: true }).click();
    await p.getByRole('button', { name: 'Keep it running' }).click();
    expect(await p.getByRole('button', { name: 'Cancel the task' }).count()).toBe(0);
    expect((await hub.tasks.get(task.taskId)).status).toBe('processing');
    await p.getByRole('button', { name: 'Cancel', exact: true }).click();
    await p.getByRole('button', { name: 'Cancel the task' }).click();
    await shows(attribute(p, '.panel', 'data-status'), 'cancelled');
    await shows(
      () => p.locator('[data-testid="cancelled"]').textContent(),
      expect.stringMatching(/^Cancelled .* · cancelled from the dashboard$/),
    );
    // The error logged before is still an error; the cancellation is not one.
    expect(await texts(p, '.errors li.error-text')()).toEqual(['page 7 has no text layer']);

    const failed = await hub.progress.start({ name: 'Import figures', agentId: 'arangodb' });
    await hub.progress.complete(failed.taskId, false, 'collection "figures" does not exist');
    await p.goto(`${d.url}/#/tasks/${failed.taskId}`);
    await shows(texts(p, '.errors li.error-text'), ['collection "figures" does not exist']);
    expect(await p.locator('[data-testid="cancelled"]').count()).toBe(0);
  });

  it('shows a criterion an agent reported met on a task asked without criteria, live', async () => {
    const d = await open();
    const hub = d.service.hub;
    // An agent that reports a criterion when told to, then finishes when told to, so the page sees both live.
    const dir = mkdtempSync(join(tmpdir(), 'cc-criterion-'));
    writeFileSync(
      join(dir, 'agent.mjs'),
      `import { existsSync } from 'node:fs';
let reported = false;
const wait = setInterval(() => {
  if (!reported && existsSync('report')) {
    reported = true;
    process.stdout.write('@@claude-comms {"criterion": "structure described"}\\n');
  }
  if (existsSync('go')) { clearInterval(wait); process.stdout.write('done'); }
}, 50);`,
    );
    await hub.modules.register({
      name: 'checker',
      config: { backend: 'command', cwd: dir, command: process.execPath, args: ['agent.mjs'] },
    });
    const asked = await hub.ask({ from: 'marker', to: 'checker', prompt: 'Describe the structure' });
    const p = d.page;
    await p.goto(`${d.url}/#/tasks/${asked.taskId}`);
    await shows(attribute(p, '.panel', 'data-status'), 'processing');
    expect(await p.locator('[data-testid="criteria-count"]').textContent()).toBe('0 of 0 pass');
    writeFileSync(join(dir, 'report'), '');
    await shows(() => p.locator('[data-testid="criteria-count"]').textContent(), '1 of 1 pass');
    expect(await texts(p, '.criterion-text')()).toEqual(['structure described']);
    writeFileSync(join(dir, 'go'), '');
    await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    await shows(attribute(p, '.panel', 'data-status'), 'complete');
    expect(await p.locator('[data-testid="criteria-count"]').textContent()).toBe('1 of 1 pass');
  });

  it('shows a module removed from the configuration greyed, without pause or resume', async () => {
    const d = await open();
    const asked = await d.call('/ask', { body: { from: 'arangodb', to: 'marker', prompt: 'hello' } });
    await d.service.hub.waitForCompletion(asked.body.messageId as string, { timeoutMs: 10_000 });
    // marker taken out of config.yaml, and the service restarted: it is marked removed.
    const file = join(d.dir, 'config.yaml');
    const config = readFileSync(file, 'utf8');
    writeFileSync(file, config.replace(/^ {2}marker:\n(?: {4}.*\n)*/m, ''));
    await d.stop();
    await d.start();
    expect((await d.service.hub.modules.get('marker')).removedAt).not.toBeNull();
    const p = d.page;
    await p.goto(`${d.url}/#/`);
    const card = p.locator('.module[data-module="marker"]');
    await shows(() => card.getAttribute('class'), 'module removed');
    expect(await card.locator('.status').allTextContents()).toEqual(['removed']);
    expect(await p.locator('.module').evaluateAll((m) => m.map((e) => e.getAttribute('data-module')))).toEqual([
      'arangodb',
      'slow',
      'marker',
    ]);
    expect(await p.locator('.module[data-module="arangodb"]').getAttribute('class')).toBe('module');

    await p.goto(`${d.url}/#/instances`);
    const section = p.locator('section[data-module="marker"]');
    await section.locator('tr[data-instance-id]').waitFor();
    expect(await section.getAttribute('class')).toContain('removed');
    expect(await section.getByRole('button', { name: /Pause|Resume/ }).count()).toBe(0);
    expect(await section.getByRole('button', { name: 'Terminate' }).count()).toBe(1);
    const kept = p.locator('section[data-module="arangodb"]');
    expect(await kept.getByRole('button', { name: 'Pause module' }).count()).toBe(1);
  });

  it('searches from the header: hits with their words marked, filtered, each opening its thread or task', async () => {
    const d = await open();
    const hub = d.service.hub;
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which Graph index suits the PDFs?' });
    await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    const task = await hub.tasks.create({ name: 'Rebuild the <img src=x onerror=alert(1)> graph', module: 'marker' });
    await hub.tasks.log(task.id, { text: 'graphs rebuilt', action: 'Bash', target: 'make graphs' });

    const p = d.page;
    await p.goto(`${d.url}/#/`);
    const box = p.getByRole('searchbox', { name: 'Search' });
    await box.fill('graph');
    await box.press('Enter');
    await shows(async () => new URL(p.url()).hash, '#/search?q=graph');
    const hits = () => p.locator('.search-hit').evaluateAll((l) => l.map((e) => e.getAttribute('data-field')));
    await shows(hits, ['name', 'name', 'answer', 'question', 'title']);
    expect(await p.locator(`.search-hit[data-hit-id="${task.id}"] .snippet`).textContent()).toBe(
      'Rebuild the <img src=x onerror=alert(1)> graph',
    );
    expect(await p.locator(`.search-hit[data-hit-id="${asked.messageId}"] mark`).allTextContents()).toEqual(['Graph']);
    expect(await p.locator('.search-hit img').count()).toBe(0);

    // Filtered to tasks; the ask's task also links to its thread.
    await p.getByLabel('Kind').selectOption({ label: 'tasks' });
    await shows(hits, ['name', 'name']);
    await p.locator(`.search-hit[data-hit-id="${asked.taskId}"] a`, { hasText: 'thread' }).click();
    await shows(() => p.locator('.thread h2').textContent(), 'Which Graph index suits the PDFs?');

    // Two words, both required; a task found by its log opens its panel.
    await box.fill('rebuilt bash');
    await box.press('Enter');
    await shows(hits, ['log']);
    expect(await p.locator('.search-hit mark').allTextContents()).toEqual(['Bash', 'rebuilt']);
    await p.locator('.search-hit .snippet').click();
    await shows(() => p.locator('.panel-header h2').textContent(), 'Rebuild the <img src=x onerror=alert(1)> graph');

    // Words that are not there, and text that holds no word.
    await box.fill('graph nowhere');
    await box.press('Enter');
    await shows(() => p.locator('.card p.muted').last().textContent(), 'Nothing holds these words.');
    await box.fill('"*&|');
    await box.press('Enter');
    await shows(
      () => p.locator('.error-note').textContent(),
      'Could not search: q holds no word to search for (a word is made of letters or digits)',
    );
  });
});
