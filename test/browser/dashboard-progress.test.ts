// A running step's progress in its run's view, in chromium against a real service running the workflow engine: a
// command step's program reports pages (`@@claude-comms {"progress": …, "log": …}`), each after a file the test
// creates. The view, opened mid-run, shows what was reported before it opened (the step's task read once), then
// follows each report live, in the step's box (percent, bar, latest log line cut to fit) and in the steps list,
// without a reload or polling; a log line with markup is text; another run's reports cost the page nothing; once
// the step completes its box and row say so, with no progress left over.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { type Dashboard, describeDashboard, shows } from '../support/dashboard.js';

/**
 * Reports page 1 of 4 at once, then each next page when the file `go-N` appears in the directory it is given
 * (page 3's log line is long and holds markup), then prints its output.
 */
const PAGES = `import { existsSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2];
const report = (page, log) =>
  process.stdout.write('@@claude-comms ' + JSON.stringify({ progress: page * 25, log }) + '\\n');
const logOf = (page) =>
  page === 3 ? '<b>page 3 of 4</b>: the tables of the appendix, with their captions' : 'page ' + page + ' of 4';
let page = 1;
report(page, logOf(page));
const timer = setInterval(() => {
  if (!existsSync(join(dir, 'go-' + (page + 1)))) return;
  page++;
  report(page, logOf(page));
  if (page < 4) return;
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ pages: 4 }));
}, 20);`;

const text = (page: Page, selector: string) => () => page.locator(selector).first().textContent();
const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);

/** Starts a run whose `extract` step reports pages as `dir`'s gates open, and a step after it. */
async function start(d: Dashboard, script: string, dir: string): Promise<{ id: string; task: string }> {
  const started = await d.call('/runs', {
    body: {
      definition: {
        name: 'extract-pages',
        steps: [
          { id: 'extract', command: { run: [process.execPath, script, dir] } },
          { id: 'count', after: ['extract'], convert: { function: 'collect', args: { from: '{{ steps.extract }}' } } },
        ],
      },
    },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const steps = started.body.steps as { stepId: string; taskId: string }[];
  return { id: started.body.id as string, task: steps[0]?.taskId as string };
}

/** What the API says the task reported: its progress and its newest log line. */
async function reported(d: Dashboard, task: string): Promise<[unknown, unknown]> {
  const { body } = await d.call(`/tasks/${task}?logLimit=1`);
  return [body.progress, (body.log as { text: string }[] | undefined)?.at(-1)?.text];
}

describeDashboard('dashboard, a running step’s progress', (open) => {
  it('shows a step’s progress and latest log line live, read once when the view opens mid-run', async () => {
    const d = await open();
    const p = d.page;
    const script = join(d.dir, 'pages.mjs');
    writeFileSync(script, PAGES);
    const { id, task } = await start(d, script, d.dir);
    // Page 1 is reported before the view opens: only a read of the task can show it.
    await shows(() => reported(d, task), [25, 'page 1 of 4']);

    const taskReads: string[] = [];
    p.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/v1/tasks/') && !url.pathname.startsWith('/api/v1/tasks/stats'))
        taskReads.push(`${url.pathname}${url.search}`);
    });
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    const box = `${view} .dag-step[data-step-id="extract"]`;
    const row = `${view} tr[data-step-id="extract"]`;
    await shows(attribute(p, box, 'data-status'), 'processing');
    await shows(text(p, `${box} .dag-percent`), '25 %');
    expect(await text(p, `${box} .dag-log`)()).toBe('page 1 of 4');
    expect(await text(p, `${box} .dag-state`)()).toBe('processing');
    expect(await attribute(p, box, 'aria-label')()).toBe(
      'step extract, command, processing, 25 % done, opens its task',
    );
    expect(await text(p, `${row} [data-testid="step-log"]`)()).toBe('page 1 of 4');
    const bar = p.locator(row).getByRole('progressbar', { name: 'progress of step extract' });
    expect(await bar.getAttribute('value')).toBe('25');
    // The bar fills a quarter of its track.
    const track = await p.locator(`${box} .dag-bar`).boundingBox();
    const done = await p.locator(`${box} .dag-bar-done`).boundingBox();
    expect((done?.width ?? 0) / (track?.width ?? 1)).toBeCloseTo(0.25, 2);
    // The step not yet started shows none.
    expect(await p.locator(`${view} .dag-step[data-step-id="count"] .dag-percent`).count()).toBe(0);
    expect(await p.locator(`${view} tr[data-step-id="count"] [data-testid="step-progress"]`).count()).toBe(0);

    // Another run's reports are not this view's concern: its task is never read.
    const otherDir = join(d.dir, 'other');
    mkdirSync(otherDir);
    const other = await start(d, script, otherDir);
    await shows(() => reported(d, other.task), [25, 'page 1 of 4']);

    // Page 2, live: no reload.
    await p.evaluate('window.notReloaded = true');
    writeFileSync(join(d.dir, 'go-2'), '');
    await shows(text(p, `${box} .dag-percent`), '50 %');
    await shows(text(p, `${box} .dag-log`), 'page 2 of 4');
    await shows(text(p, `${row} [data-testid="step-log"]`), 'page 2 of 4');
    expect(await bar.getAttribute('value')).toBe('50');

    // Page 3's line is long and holds markup: text, cut to fit the box (whole in its title) and the row.
    writeFileSync(join(d.dir, 'go-3'), '');
    const line = '<b>page 3 of 4</b>: the tables of the appendix, with their captions';
    await shows(text(p, `${row} [data-testid="step-log"]`), line);
    await shows(text(p, `${box} .dag-percent`), '75 %');
    expect(await text(p, `${box} .dag-log`)()).toBe(`${line.slice(0, 20)}…`);
    expect(await text(p, `${box} > title`)()).toBe(`extract\nlatest: ${line}`);
    expect(await text(p, `${box} .dag-log-room > title`)()).toBe(line);
    expect(await attribute(p, `${row} [data-testid="step-log"]`, 'title')()).toBe(line);
    // Cut and clipped to the room beside the percent.
    const percent = await p.locator(`${box} .dag-percent`).boundingBox();
    for (const part of ['.dag-log', '.dag-log-room']) {
      const shown = await p.locator(`${box} ${part}`).boundingBox();
      expect((shown?.x ?? 0) + (shown?.width ?? 0)).toBeLessThan(percent?.x ?? 0);
    }
    expect(await p.locator(`${view} b`).count()).toBe(0);
    expect(await p.evaluate('window.notReloaded')).toBe(true);

    // One read of the step's task, when the view opened; the rest came as events (no polling, nothing of the
    // other run).
    expect(taskReads).toEqual([`/api/v1/tasks/${task}?logLimit=1`]);

    // The last page: the step completes, and its box and row no longer show progress.
    writeFileSync(join(d.dir, 'go-4'), '');
    await shows(attribute(p, view, 'data-status'), 'complete');
    await shows(attribute(p, box, 'data-status'), 'complete');
    expect(await p.locator(`${box} .dag-percent, ${box} .dag-log, ${box} .dag-bar`).count()).toBe(0);
    expect(await p.locator(`${row} [data-testid="step-progress"]`).count()).toBe(0);
    expect(await attribute(p, box, 'aria-label')()).not.toContain('% done');
    expect(await p.evaluate('window.notReloaded')).toBe(true);
    expect((await d.call(`/runs/${other.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });
});
