// A run's steps drawn as their graph, in chromium against a real service running the workflow engine: a diamond
// laid out left to right with an arrow per dependency, its boxes changing status live as the steps run (one held
// by a file the test creates), a box opening its step's task; a step whose condition is false drawn skipped with
// its reason (and the step after it skipped too); a forEach step counting its items done; an approval step
// waiting until Approve or Reject is pressed in the page (with a note, shown afterwards; a decision made elsewhere
// meanwhile refused in the API's words); and, once a run has ended, its critical path marked.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { expect, it } from 'vitest';
import { type Dashboard, describeDashboard, shows } from '../support/dashboard.js';

/** Waits for the file named by its argument, then prints its output: the test decides when the step ends. */
const GATE = `import { existsSync } from 'node:fs';
const gate = process.argv[2];
const timer = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(timer);
  process.stdout.write(JSON.stringify({ done: true }));
}, 20);`;

/** The longest id of the diamond: its box shows it shortened, its label and title in full. */
const LONG_ID = 'publish_the_collected_results_everywhere';

const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);
const text = (page: Page, selector: string) => () => page.locator(selector).first().textContent();

/** Each box's step id and status, in the order the graph lists them. */
const boxes = (page: Page, view: string) => () =>
  page
    .locator(`${view} .dag-step`)
    .evaluateAll((els) => els.map((e) => [e.getAttribute('data-step-id'), e.getAttribute('data-status')]));

/** The edges `selector` finds, as "from→to". */
const edges = (page: Page, selector: string) => () =>
  page
    .locator(selector)
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`));

async function start(d: Dashboard, definition: unknown, inputs: Record<string, unknown> = {}): Promise<string> {
  const started = await d.call('/runs', { body: { definition, inputs } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return started.body.id as string;
}

async function runOf(d: Dashboard, id: string) {
  return (await d.call(`/runs/${id}`)).body as {
    status: string;
    steps: { stepId: string; status: string; taskId: string | null }[];
  };
}

/** `a` (held by a gate file) → `b` and `c` → the long-named last step, each a command or a convert step. */
function diamond(script: string, gate: string) {
  return {
    name: 'diamond',
    steps: [
      { id: 'a', command: { run: [process.execPath, script, gate] } },
      { id: 'b', after: ['a'], convert: { function: 'collect', args: { from: '{{ steps.a }}' } } },
      { id: 'c', after: ['a'], convert: { function: 'collect', args: { from: '{{ steps.a }}' } } },
      { id: LONG_ID, after: ['b', 'c'], convert: { function: 'collect', args: { b: 1, c: 2 } } },
    ],
  };
}

describeDashboard('dashboard, a run as a graph', (open) => {
  it('draws a diamond left to right, follows its steps live, and opens a step’s task', async () => {
    const d = await open();
    const p = d.page;
    const script = join(d.dir, 'gate.mjs');
    const gate = join(d.dir, 'go');
    writeFileSync(script, GATE);
    const id = await start(d, diamond(script, gate));
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    await shows(boxes(p, view), [
      ['a', 'processing'],
      ['b', 'pending'],
      ['c', 'pending'],
      [LONG_ID, 'pending'],
    ]);
    const graph = p.locator(`${view} svg.dag-graph`);
    expect(await graph.getAttribute('aria-label')).toBe(
      "The run's 4 steps as a graph, each after the steps it waits for",
    );

    // Columns: a, then b and c one above the other, then d.
    const box = async (step: string) => {
      const found = await p.locator(`${view} .dag-step[data-step-id="${step}"]`).boundingBox();
      if (!found) throw new Error(`no box for ${step}`);
      return found;
    };
    const [a, b, c, end] = [await box('a'), await box('b'), await box('c'), await box(LONG_ID)];
    expect(a.x).toBeLessThan(b.x);
    expect(b.x).toBeLessThan(end.x);
    expect(b.x).toBe(c.x);
    expect(b.y).not.toBe(c.y);
    expect(await p.locator(`${view} .dag-edge`).count()).toBe(4);
    expect(await edges(p, `${view} .dag-edge`)()).toEqual(['a→b', 'a→c', `b→${LONG_ID}`, `c→${LONG_ID}`]);
    // Each box is a link named for what it is; a long id is shortened in the box, whole in its name and title.
    expect(await attribute(p, `${view} .dag-step[data-step-id="a"]`, 'aria-label')()).toBe(
      'step a, command, processing, opens its task',
    );
    const last = `${view} .dag-step[data-step-id="${LONG_ID}"]`;
    const shown = (await text(p, `${last} .dag-id`)()) ?? '';
    expect(shown.endsWith('…') && LONG_ID.startsWith(shown.slice(0, -1))).toBe(true);
    const idBox = await p.locator(`${last} .dag-id`).boundingBox();
    const stepBox = await p.locator(`${last} .dag-box`).boundingBox();
    const room = (stepBox?.x ?? 0) + (stepBox?.width ?? 0) - ((idBox?.x ?? 0) + (idBox?.width ?? 0));
    expect(room).toBeGreaterThan(0);
    expect(await attribute(p, last, 'aria-label')()).toBe(`step ${LONG_ID}, convert, pending, opens its task`);
    expect(await text(p, `${last} > title`)()).toBe(LONG_ID);
    expect(await text(p, `${last} .dag-meta`)()).toBe('convert');
    // The running step counts its time; one not started shows none.
    expect(await text(p, `${view} .dag-step[data-step-id="a"] .dag-took`)()).toMatch(/^\d+ ms$|^\d+\.\d s$/);
    expect(await text(p, `${last} .dag-took`)()).toBe('');
    // Not ended: no critical path yet.
    expect(await p.locator(`${view} [data-critical="true"]`).count()).toBe(0);

    // Released: the boxes move without a reload, and the list below the graph agrees.
    await p.evaluate('window.notReloaded = true');
    writeFileSync(gate, '');
    await shows(boxes(p, view), [
      ['a', 'complete'],
      ['b', 'complete'],
      ['c', 'complete'],
      [LONG_ID, 'complete'],
    ]);
    expect(await p.evaluate('window.notReloaded')).toBe(true);
    await shows(attribute(p, view, 'data-status'), 'complete');
    expect(await p.locator(`${view} .step-table tbody tr .status`).allTextContents()).toEqual([
      'complete',
      'complete',
      'complete',
      'complete',
    ]);

    // Ended: the path that decided when is marked, from a through whichever of b and c ended last, to d.
    const run = (await d.call(`/runs/${id}`)).body as {
      steps: { stepId: string; completedAt: string; taskId: string }[];
    };
    const ended = (step: string) => Date.parse(run.steps.find((s) => s.stepId === step)?.completedAt ?? '');
    const middle = ended('c') > ended('b') ? 'c' : 'b';
    await shows(
      () =>
        p
          .locator(`${view} .dag-step[data-critical="true"]`)
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-step-id'))),
      ['a', middle, LONG_ID],
    );
    expect(await edges(p, `${view} .dag-edge[data-critical="true"]`)()).toEqual([
      `a→${middle}`,
      `${middle}→${LONG_ID}`,
    ]);
    expect(await text(p, `${view} [data-testid="critical-path"]`)()).toBe(`Critical path: a → ${middle} → ${LONG_ID}`);

    // A box opens its step's task, as the list's link does.
    const taskOfC = run.steps.find((s) => s.stepId === 'c')?.taskId;
    await p.locator(`${view} .dag-step[data-step-id="c"]`).click();
    await shows(async () => new URL(p.url()).hash, `#/tasks/${taskOfC}`);
    const panel = `.panel[data-task-id="${taskOfC}"]`;
    await shows(text(p, `${panel} h2`), 'diamond › c');
  });

  it('draws a step whose condition is false skipped, with its reason, and the step after it skipped too', async () => {
    const d = await open();
    const p = d.page;
    const id = await start(
      d,
      {
        name: 'conditional',
        steps: [
          { id: 'first', convert: { function: 'collect', args: { x: 1 } } },
          { id: 'maybe', after: ['first'], when: 'inputs.go == true', convert: { function: 'collect', args: {} } },
          { id: 'then', after: ['maybe'], convert: { function: 'collect', args: {} } },
        ],
      },
      { go: false },
    );
    await shows(async () => (await runOf(d, id)).status, 'complete');
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    await shows(boxes(p, view), [
      ['first', 'complete'],
      ['maybe', 'skipped'],
      ['then', 'skipped'],
    ]);
    const reason = await text(p, `${view} .dag-step[data-step-id="maybe"] > title`)();
    expect(reason).toMatch(/^maybe\nskipped: .*inputs\.go == true.*/);
    expect(await text(p, `${view} .dag-step[data-step-id="then"] > title`)()).toMatch(/^then\nskipped: .*maybe/);
    expect(await text(p, `${view} .dag-step[data-step-id="maybe"] .dag-state`)()).toBe('skipped');
    // The list says so too, and skipped steps never make the critical path.
    expect(await text(p, `${view} tr[data-step-id="maybe"] .status`)()).toBe('skipped');
    expect(await text(p, `${view} tr[data-step-id="maybe"] [data-testid="step-skipped"]`)()).toMatch(
      /^skipped: .*inputs\.go == true/,
    );
    expect(await text(p, `${view} [data-testid="run-steps"]`)()).toBe('1 of 3 complete, 2 skipped');
    expect(await text(p, `${view} [data-testid="critical-path"]`)()).toBe('Critical path: first');
  });

  it('counts a forEach step’s items live in its box', async () => {
    const d = await open();
    const p = d.page;
    const script = join(d.dir, 'gate.mjs');
    writeFileSync(script, GATE);
    const gates = ['one', 'two', 'three'].map((name) => join(d.dir, name));
    const id = await start(d, {
      name: 'each-file',
      steps: [
        { id: 'list', convert: { function: 'collect', args: { files: gates } } },
        {
          id: 'each',
          after: ['list'],
          forEach: { items: '{{ steps.list.files }}', concurrency: 1 },
          command: { run: [process.execPath, script, '{{ item }}'] },
        },
      ],
    });
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    const each = `${view} .dag-step[data-step-id="each"]`;
    await shows(text(p, `${each} .dag-meta`), 'command · 0/3 items');
    expect(await attribute(p, each, 'data-status')()).toBe('processing');
    writeFileSync(gates[0] as string, '');
    await shows(text(p, `${each} .dag-meta`), 'command · 1/3 items');
    // Its task's progress counts the items too (it arrives as the task's own event).
    await shows(
      attribute(p, each, 'aria-label'),
      'step each, command, processing, 33 % done, 1/3 items complete, opens its task',
    );
    expect(await text(p, `${each} .dag-percent`)()).toBe('33 %');
    writeFileSync(gates[1] as string, '');
    writeFileSync(gates[2] as string, '');
    await shows(text(p, `${each} .dag-meta`), 'command · 3/3 items');
    await shows(attribute(p, each, 'data-status'), 'complete');
    expect(await text(p, `${view} tr[data-step-id="each"] [data-testid="step-items"]`)()).toBe(
      'items: 3 of 3 complete',
    );
  });

  it('waits for an approval, and approves or rejects it from the page with a note', async () => {
    const d = await open();
    const p = d.page;
    const definition = {
      name: 'shipping',
      steps: [
        { id: 'build', convert: { function: 'collect', args: { built: true } } },
        { id: 'ship-it', after: ['build'], approve: { message: 'Ship it?' } },
        { id: 'release', after: ['ship-it'], convert: { function: 'collect', args: { shipped: true } } },
      ],
    };
    const id = await start(d, definition);
    await p.goto(`${d.url}/#/runs/${id}`);
    const view = `.run-view[data-run-id="${id}"]`;
    const gate = `${view} .dag-step[data-step-id="ship-it"]`;
    await shows(attribute(p, gate, 'data-status'), 'waiting');
    expect(await text(p, `${gate} .dag-state`)()).toBe('awaiting approval');
    expect(await text(p, `${gate} .dag-took`)()).toMatch(/^\d/);
    expect(await text(p, `${view} [data-testid="run-steps"]`)()).toBe('1 of 3 complete, 1 awaiting approval');
    expect(await text(p, `${view} tr[data-step-id="ship-it"] .status`)()).toBe('waiting');
    const form = p.getByRole('form', { name: 'Approve or reject step ship-it' });
    expect(await form.locator('[data-testid="approval-request"]').textContent()).toBe('Ship it?');
    await form.getByLabel('Note').fill('looks good');
    await form.getByRole('button', { name: 'Approve', exact: true }).click();
    await shows(attribute(p, view, 'data-status'), 'complete');
    await shows(boxes(p, view), [
      ['build', 'complete'],
      ['ship-it', 'complete'],
      ['release', 'complete'],
    ]);
    expect(await form.count()).toBe(0);
    const facts = `${view} tr[data-step-id="ship-it"] [data-testid="step-approval"]`;
    expect(await text(p, `${facts} [data-testid="approval-message"]`)()).toBe('“Ship it?”');
    expect(await text(p, `${facts} [data-testid="approval-decision"]`)()).toMatch(/^ approved by user at /);
    expect(await text(p, `${facts} [data-testid="approval-note"]`)()).toBe(' · note: looks good');
    expect(await text(p, `${view} [data-testid="critical-path"]`)()).toBe('Critical path: build → ship-it → release');

    // Another run: rejected from the page, the step fails with the note shown, and the run fails.
    const second = await start(d, definition);
    await p.goto(`${d.url}/#/runs/${second}`);
    const view2 = `.run-view[data-run-id="${second}"]`;
    await shows(attribute(p, `${view2} .dag-step[data-step-id="ship-it"]`, 'data-status'), 'waiting');
    const form2 = p.locator(`${view2} form.approval[data-step-id="ship-it"]`);
    await form2.getByLabel('Note').fill('<b>not today</b>');
    await form2.getByRole('button', { name: 'Reject', exact: true }).click();
    await shows(attribute(p, view2, 'data-status'), 'failed');
    await shows(attribute(p, `${view2} .dag-step[data-step-id="ship-it"]`, 'data-status'), 'failed');
    expect(await attribute(p, `${view2} .dag-step[data-step-id="release"]`, 'data-status')()).not.toBe('complete');
    const facts2 = `${view2} tr[data-step-id="ship-it"] [data-testid="step-approval"]`;
    expect(await text(p, `${facts2} [data-testid="approval-decision"]`)()).toMatch(/^ rejected by user at /);
    expect(await text(p, `${facts2} [data-testid="approval-note"]`)()).toBe(' · note: <b>not today</b>');
    expect(await p.locator(`${view2} b`).count()).toBe(0);
    expect(await p.locator(`${view2} .dag-step[data-critical="true"]`).count()).toBeGreaterThan(0);

    // A third: decided elsewhere while the page has not yet heard (its reads held back): the page's Approve is
    // refused, in the API's words, and the refusal stays once the step has left the approvals.
    const third = await start(d, definition);
    await p.goto(`${d.url}/#/runs/${third}`);
    const view3 = `.run-view[data-run-id="${third}"]`;
    await shows(attribute(p, `${view3} .dag-step[data-step-id="ship-it"]`, 'data-status'), 'waiting');
    const held: Route[] = [];
    let holding = true;
    await p.route(`**/api/v1/runs/${third}`, async (route) => {
      if (holding) held.push(route);
      else await route.continue();
    });
    const path = `/runs/${third}/steps/ship-it`;
    expect((await d.call(`${path}/reject`, { body: {} })).status).toBe(200);
    const refused = await d.call(`${path}/approve`, { body: {} });
    expect(refused.status).toBe(409);
    await p.locator(`${view3} form.approval`).getByRole('button', { name: 'Approve', exact: true }).click();
    await shows(text(p, `${view3} [data-testid="approval-error"]`), refused.body.detail);
    holding = false;
    for (const route of held.splice(0)) await route.continue();
    await p.unroute(`**/api/v1/runs/${third}`);
    await shows(attribute(p, `${view3} .dag-step[data-step-id="ship-it"]`, 'data-status'), 'failed');
    expect(await p.locator(`${view3} form.approval`).count()).toBe(0);
    expect(await text(p, `${view3} [data-testid="approval-error"]`)()).toBe(refused.body.detail);
  });
});
