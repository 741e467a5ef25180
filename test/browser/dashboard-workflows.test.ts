// The Runs page in chromium against a real service, which runs the workflow engine: a run started through the
// API appears live and goes processing → complete as its steps do (a command step that waits for a file the test
// creates, then a convert step), with its steps, inputs and output shown as text; pause and resume from the page
// change the run (and a refused action shows the API's reason); a failing command step shows its error, and
// Retry makes a new attempt of it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { expect, it } from 'vitest';
import { type Dashboard, describeDashboard, shows } from '../support/dashboard.js';

const text = (page: Page, selector: string) => () => page.locator(selector).first().textContent();
const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);
const texts = (page: Page, selector: string) => () => page.locator(selector).allTextContents();

/** Waits for the file named by its argument, then prints its output: the test decides when the step ends. */
const GATE = `import { existsSync } from 'node:fs';
const gate = process.argv[2];
const timer = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ pages: 3, note: '<b>bold</b>' }));
}, 20);`;

/** Markup in the run's inputs, which its last step gathers into the output: the page must show it as text. */
const NOTE = '<img src=x onerror="alert(1)">';

async function runStatus(d: Dashboard, id: string): Promise<unknown> {
  return (await d.call(`/runs/${id}`)).body.status;
}

describeDashboard('dashboard, workflow runs', (open) => {
  it('follows a run live through its steps, and pauses and resumes it from the page', async () => {
    const d = await open();
    const p = d.page;
    const script = join(d.dir, 'gate.mjs');
    const gate = join(d.dir, 'go');
    writeFileSync(script, GATE);
    await p.goto(`${d.url}/#/runs`);
    await shows(attribute(p, '.connection', 'data-state'), 'live');
    expect(await p.locator('a[aria-current="page"]', { hasText: 'Runs' }).count()).toBe(1);
    await shows(text(p, '[data-testid="runs-empty"]'), 'No workflow runs yet: start one with POST /api/v1/runs.');

    const started = await d.call('/runs', {
      body: {
        definition: {
          name: 'gated-collect',
          steps: [
            { id: 'wait', command: { run: [process.execPath, script, gate] } },
            {
              id: 'gather',
              after: ['wait'],
              convert: { function: 'collect', args: { counted: '{{ steps.wait }}', note: '{{ inputs.note }}' } },
            },
          ],
        },
        inputs: { note: NOTE },
      },
    });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const row = `tr[data-run-id="${id}"]`;

    // The list: the new run appears, and follows changes made elsewhere.
    await shows(attribute(p, row, 'data-status'), 'processing');
    expect(await text(p, `${row} .run-name a`)()).toBe('gated-collect');
    expect(await text(p, `${row} [data-testid="run-steps"]`)()).toBe('0 of 2');
    expect((await d.call(`/runs/${id}/pause`, { method: 'POST' })).status).toBe(200);
    await shows(attribute(p, row, 'data-status'), 'paused');
    expect((await d.call(`/runs/${id}/resume`, { method: 'POST' })).status).toBe(200);
    await shows(attribute(p, row, 'data-status'), 'processing');

    // The run's view: its steps in order, the first running.
    await p.locator(`${row} .run-name a`).click();
    const view = `.run-view[data-run-id="${id}"]`;
    await shows(attribute(p, view, 'data-status'), 'processing');
    await shows(
      async () =>
        p
          .locator(`${view} .step-table tbody tr`)
          .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step-id'), r.getAttribute('data-status')])),
      [
        ['wait', 'processing'],
        ['gather', 'pending'],
      ],
    );
    expect(await text(p, `${view} tr[data-step-id="wait"] [data-testid="step-attempt"]`)()).toBe('1');
    const button = (name: string) => p.locator(view).getByRole('button', { name, exact: true });
    expect(await button('Resume').isDisabled()).toBe(true);
    expect(await p.locator(`${view} .step-table`).getByRole('button', { name: 'Retry' }).first().isDisabled()).toBe(
      true,
    );

    // Pause and resume from the page move the run.
    await button('Pause').click();
    await shows(() => runStatus(d, id), 'paused');
    await shows(attribute(p, view, 'data-status'), 'paused');
    expect(await button('Pause').isDisabled()).toBe(true);
    await button('Resume').click();
    await shows(() => runStatus(d, id), 'processing');
    await shows(attribute(p, view, 'data-status'), 'processing');

    // Paused elsewhere while the page has not yet heard (its reads of the run held back): Pause is refused, and
    // the page says why in the API's words.
    const held: Route[] = [];
    let holding = true;
    await p.route(`**/api/v1/runs/${id}`, async (route) => {
      if (holding) held.push(route);
      else await route.continue();
    });
    expect((await d.call(`/runs/${id}/pause`, { method: 'POST' })).status).toBe(200);
    await button('Pause').click();
    await shows(
      text(p, `${view} [data-testid="run-action-error"]`),
      `run ${id} is paused; it can be paused only when pending or processing`,
    );
    holding = false;
    for (const route of held.splice(0)) await route.continue();
    await p.unroute(`**/api/v1/runs/${id}`);
    await shows(attribute(p, view, 'data-status'), 'paused');
    await button('Resume').click();
    await shows(() => runStatus(d, id), 'processing');
    await shows(() => p.locator(`${view} [data-testid="run-action-error"]`).count(), 0);

    // The first step ends when the test says so; the second follows, and the run completes with its output.
    writeFileSync(gate, '');
    await shows(attribute(p, view, 'data-status'), 'complete');
    await shows(texts(p, `${view} .step-table tbody tr .status`), ['complete', 'complete']);
    expect(await text(p, `${view} [data-testid="run-steps"]`)()).toBe('2 of 2 complete');
    const gathered = { counted: { pages: 3, note: '<b>bold</b>' }, note: NOTE };
    expect(JSON.parse((await text(p, `${view} [data-testid="run-output"]`)()) ?? '')).toEqual({
      wait: { pages: 3, note: '<b>bold</b>' },
      gather: gathered,
    });
    expect(JSON.parse((await text(p, `${view} [data-testid="run-inputs"]`)()) ?? '')).toEqual({ note: NOTE });
    expect(await button('Pause').isDisabled()).toBe(true);
    expect(await button('Resume').isDisabled()).toBe(true);
    expect(await button('Cancel').isDisabled()).toBe(true);
    expect(await p.locator(`${view} img, ${view} b`).count()).toBe(0);

    // Back on the list, the run is complete with both steps done.
    await p.locator(view).getByRole('link', { name: '← runs' }).click();
    await shows(attribute(p, row, 'data-status'), 'complete');
    expect(await text(p, `${row} [data-testid="run-steps"]`)()).toBe('2 of 2');
  });

  it('shows a failed step with its error, and retries it from the page', async () => {
    const d = await open();
    const p = d.page;
    await p.goto(`${d.url}/#/runs`);
    await shows(attribute(p, '.connection', 'data-state'), 'live');
    // Listing failed runs only: the run enters the list when it fails.
    await p.getByLabel('Status').selectOption('failed');
    await shows(text(p, '[data-testid="runs-empty"]'), 'No failed runs.');
    const started = await d.call('/runs', {
      body: { definition: { name: 'always-fails', steps: [{ id: 'check', command: { run: ['/bin/false'] } }] } },
    });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const row = `tr[data-run-id="${id}"]`;
    await shows(attribute(p, row, 'data-status'), 'failed');
    expect(await text(p, `${row} [data-testid="run-steps"]`)()).toBe('0 of 1');

    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    const step = `${view} tr[data-step-id="check"]`;
    await shows(attribute(p, step, 'data-status'), 'failed');
    expect(await text(p, `${step} [data-testid="step-error"]`)()).toBe('exited with status 1');
    expect(await text(p, `${step} [data-testid="step-attempt"]`)()).toBe('1');
    expect(await text(p, `${view} [data-testid="run-error"]`)()).toBe('step check failed: exited with status 1');
    for (const name of ['Pause', 'Resume', 'Cancel'])
      expect(await p.locator(view).getByRole('button', { name, exact: true }).isDisabled()).toBe(true);

    const firstTask = (await d.call(`/runs/${id}`)).body.steps as { taskId: string }[];
    await p.locator(step).getByRole('button', { name: 'Retry' }).click();
    await shows(text(p, `${step} [data-testid="step-attempt"]`), '2');
    await shows(attribute(p, step, 'data-status'), 'failed');
    const run = (await d.call(`/runs/${id}`)).body as { status: string; steps: { attempt: number; taskId: string }[] };
    expect(run.status).toBe('failed');
    expect(run.steps[0]?.attempt).toBe(2);
    expect(run.steps[0]?.taskId).not.toBe(firstTask[0]?.taskId);

    // The step opens its task: the new attempt's.
    await p.locator(step).getByRole('link', { name: 'check' }).click();
    const panel = `.panel[data-task-id="${run.steps[0]?.taskId}"]`;
    await shows(attribute(p, panel, 'data-status'), 'failed');
    expect(await text(p, `${panel} h2`)()).toBe('always-fails › check');

    // The overview's feed links the run's events to the run.
    await p.goto(`${d.url}/#/`);
    const feedLink = p.locator('.feed-item[data-type="workflow_run.status_changed"] a').first();
    await shows(() => feedLink.getAttribute('href'), `#/runs/${id}`);
  });

  it('cancels a run from the page once confirmed, and retries its cancelled step', async () => {
    const d = await open();
    const p = d.page;
    const script = join(d.dir, 'gate.mjs');
    writeFileSync(script, GATE);
    const started = await d.call('/runs', {
      body: {
        definition: {
          name: 'never-opens',
          steps: [{ id: 'wait', command: { run: [process.execPath, script, join(d.dir, 'never')] } }],
        },
      },
    });
    const id = started.body.id as string;
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    const step = `${view} tr[data-step-id="wait"]`;
    await shows(attribute(p, step, 'data-status'), 'processing');
    const button = (name: string) => p.locator(view).getByRole('button', { name, exact: true });

    // Cancel asks first; keeping it running changes nothing.
    await button('Cancel').click();
    await button('Keep it running').click();
    expect(await runStatus(d, id)).toBe('processing');
    await button('Cancel').click();
    await button('Cancel the run').click();
    await shows(() => runStatus(d, id), 'cancelled');
    await shows(attribute(p, view, 'data-status'), 'cancelled');
    await shows(attribute(p, step, 'data-status'), 'cancelled');
    expect(await button('Cancel').isDisabled()).toBe(true);

    // The cancelled step can be tried again: a second attempt, running.
    await p.locator(step).getByRole('button', { name: 'Retry' }).click();
    await shows(text(p, `${step} [data-testid="step-attempt"]`), '2');
    await shows(attribute(p, step, 'data-status'), 'processing');
    await button('Cancel').click();
    await button('Cancel the run').click();
    await shows(() => runStatus(d, id), 'cancelled');
  });
});
