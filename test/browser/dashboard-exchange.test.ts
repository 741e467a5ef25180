// The dashboard's exchange views in chromium against a real service: the Schemas page lists the bundled and
// published schemas and the query templates, shows a schema's versions and bodies, and follows publications
// live; a structured reply answered by a real command agent shows its checking on the thread view as it happens —
// the first answer invalid with its issues, the repair round valid, then the value.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeDashboard, shows } from '../support/dashboard.js';
import { commandModule } from '../support/modules.js';

const text = (page: Page, selector: string) => () => page.locator(selector).first().textContent();
const attribute = (page: Page, selector: string, name: string) => () =>
  page.locator(selector).first().getAttribute(name);
const texts = (page: Page, selector: string) => () => page.locator(selector).allTextContents();

/** A schema with markup in its texts: the page must show it as text. */
const LAYOUT_V1 = {
  type: 'object',
  properties: {
    collections: { type: 'array', items: { type: 'string' }, description: '<img src=x onerror="alert(1)">' },
  },
  required: ['collections'],
  additionalProperties: false,
};
/** The next version: an optional field more, so it accepts every value the first did (BACKWARD compatible). */
const LAYOUT_V2 = {
  ...LAYOUT_V1,
  properties: { ...LAYOUT_V1.properties, keyPattern: { type: 'string' } },
};

const NEEDS = {
  type: 'object',
  properties: {
    collections: { type: 'array', items: { type: 'string' }, minItems: 1 },
    keyPattern: { type: 'string' },
  },
  required: ['collections', 'keyPattern'],
  additionalProperties: false,
};

/**
 * Answers with a misspelt field (and without keyPattern) until told what was wrong, then with a valid value. Each
 * answer waits for its gate file (`go-0`, then `go-1`) in the agent's directory, so the test sees every round
 * arrive in the open page, one at a time.
 */
const LEARNER = `
import { existsSync } from 'node:fs';
let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => {
  const repair = q.includes('does not satisfy');
  const timer = setInterval(() => {
    if (!existsSync(repair ? 'go-1' : 'go-0')) return;
    clearInterval(timer);
    process.stdout.write(
      repair
        ? 'Fixed:\\n\`\`\`json\\n{ "collections": ["documents", "sections"], "keyPattern": "^[a-z]+$" }\\n\`\`\`'
        : 'Here is what I need: {"colections": ["documents"]}',
    );
  }, 20);
});`;

describeDashboard('dashboard, exchange', (open) => {
  it('lists the schemas and templates, shows a schema’s versions and bodies, and follows publications live', async () => {
    const d = await open();
    const p = d.page;
    await p.goto(`${d.url}/#/schemas`);
    await shows(attribute(p, '.connection', 'data-state'), 'live');
    const row = (name: string) => `[data-testid="schema-row"][data-schema="${name}"]`;
    await shows(text(p, `${row('pdf-requirements')} [data-testid="schema-latest"]`), '1.0.0');
    expect(await p.locator('a[aria-current="page"]', { hasText: 'Schemas' }).count()).toBe(1);

    // The templates, with their parameters (required ones marked) and a link to their answer schema.
    const template = '[data-testid="template"][data-template="field-requirements"]';
    await shows(
      async () =>
        p
          .locator(`${template} [data-testid="template-param"]`)
          .evaluateAll((els) => els.map((e) => [e.getAttribute('data-param'), e.getAttribute('data-required')])),
      [
        ['format', 'true'],
        ['use', 'false'],
      ],
    );
    expect(await p.locator(`${template} [data-testid="template-param"][data-param="format"] .required`).count()).toBe(
      1,
    );
    expect(await p.locator(`${template} [data-testid="template-answer-schema"]`).getAttribute('href')).toBe(
      '#/schemas/field-requirements/1.0.0',
    );

    // Published while the page is open: the list shows it without a reload.
    const published = await d.call('/schemas', {
      body: { name: 'graph-layout', version: '1.0.0', schema: LAYOUT_V1, description: 'Collections <b>and</b> keys' },
    });
    expect(published.status).toBe(201);
    await shows(text(p, `${row('graph-layout')} [data-testid="schema-latest"]`), '1.0.0');
    expect(await p.locator(`${row('graph-layout')} .schema-description`).textContent()).toBe(
      'Collections <b>and</b> keys',
    );
    expect(await p.locator(`${row('graph-layout')} [data-testid="schema-version-count"]`).textContent()).toBe('1');

    await p.locator(`${row('graph-layout')} a`).click();
    const detail = '[data-testid="schema-detail"][data-schema="graph-layout"]';
    await shows(texts(p, `${detail} [data-testid="schema-version"] code`), ['1.0.0']);
    await shows(text(p, `${detail} [data-testid="schema-body"]`), JSON.stringify(LAYOUT_V1, null, 2));
    expect(await p.locator(`${row('graph-layout')}`).getAttribute('aria-current')).toBe('true');

    // A new version, published while the schema is shown: newest first, and shown, the list counting two.
    const next = await d.call('/schemas', { body: { name: 'graph-layout', version: '1.1.0', schema: LAYOUT_V2 } });
    expect([next.status, next.body.detail]).toEqual([201, undefined]);
    await shows(texts(p, `${detail} [data-testid="schema-version"] code`), ['1.1.0', '1.0.0']);
    await shows(text(p, `${detail} [data-testid="schema-body"]`), JSON.stringify(LAYOUT_V2, null, 2));
    await shows(text(p, `${row('graph-layout')} [data-testid="schema-latest"]`), '1.1.0');
    await shows(text(p, `${row('graph-layout')} [data-testid="schema-version-count"]`), '2');

    // An older version, chosen.
    await p.locator(`${detail} [data-testid="schema-version"][data-version="1.0.0"] a`).click();
    await shows(attribute(p, `${detail} [data-testid="schema-shown"]`, 'data-version'), '1.0.0');
    expect(await p.locator(`${detail} [data-testid="schema-body"]`).textContent()).toBe(
      JSON.stringify(LAYOUT_V1, null, 2),
    );
    expect(p.url()).toMatch(/#\/schemas\/graph-layout\/1\.0\.0$/);

    // A template published while the page is open, answering with the new version.
    const posted = await d.call('/templates', {
      body: {
        name: 'graph-needs',
        version: '1.0.0',
        description: 'Ask how a module lays out its graph',
        params: { type: 'object', properties: { dataset: { type: 'string' } }, required: ['dataset'] },
        prompt: 'How do you lay out {{ dataset }}?',
        answerSchema: 'graph-layout@1.1.0',
      },
    });
    expect(posted.status).toBe(201);
    const added = '[data-testid="template"][data-template="graph-needs"]';
    await shows(
      attribute(p, `${added} [data-testid="template-answer-schema"]`, 'href'),
      '#/schemas/graph-layout/1.1.0',
    );
    expect(await p.locator(`${added} [data-testid="template-param"]`).getAttribute('data-required')).toBe('true');

    // The publishers' markup stayed text.
    expect(await p.locator('main img, main b').count()).toBe(0);
  });

  it('shows a structured reply’s rounds live: the first answer invalid with its issues, the repair valid, the value', async () => {
    const d = await open();
    const hub = d.service.hub;
    const dir = await commandModule(hub, 'learner', LEARNER);
    expect((await d.call('/schemas', { body: { name: 'needs', version: '1.0.0', schema: NEEDS } })).status).toBe(201);
    const thread = await hub.threads.create({ title: 'What do you need?', createdBy: 'marker' });
    const p = d.page;
    await p.goto(`${d.url}/#/threads/${thread.id}`);
    await shows(attribute(p, '.connection', 'data-state'), 'live');
    await shows(attribute(p, '.thread', 'data-thread-id'), thread.id);

    // Asked while the thread is open: the reply arrives by the event stream.
    const asked = await d.call('/ask', {
      body: {
        from: 'marker',
        to: 'learner',
        prompt: 'Which collections do you need?',
        schema: 'needs@1.0.0',
        threadId: thread.id,
      },
    });
    expect(asked.status).toBe(202);
    const reply = `[data-message-id="${asked.body.messageId as string}"]`;
    const badge = `${reply} [data-testid="validation-badge"]`;
    await shows(text(p, badge), 'checking (round 1 of 3)');
    expect(await p.locator(`${reply} [data-testid="validation-schema"]`).textContent()).toBe('needs@1.0.0');
    expect(await p.locator(`${reply} [data-testid="validation-schema"]`).getAttribute('href')).toBe(
      '#/schemas/needs/1.0.0',
    );
    expect(await p.locator(`${reply} [data-testid="validation-round"]`).count()).toBe(0);

    // The first answer: invalid, its issues listed under its round; the agent is asked again.
    writeFileSync(join(dir, 'go-0'), '');
    const first = `${reply} [data-testid="validation-round"][data-round="0"]`;
    await shows(attribute(p, first, 'data-valid'), 'false');
    await shows(text(p, badge), 'checking (round 2 of 3)');
    expect(await p.locator(badge).getAttribute('data-validity')).toBe('checking');
    await p.locator(`${first} summary`).click();
    const misspelt = `${first} [data-testid="validation-issue"][data-path="/colections"]`;
    await p.locator(misspelt).waitFor();
    expect(await p.locator(`${misspelt} [data-testid="issue-suggestion"]`).textContent()).toContain('collections');
    const paths = await p
      .locator(`${first} [data-testid="validation-issue"]`)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/colections', '/keyPattern']));
    expect(await p.locator(`${first} .round-answer`).textContent()).toBe(
      'Here is what I need: {"colections": ["documents"]}',
    );
    expect(await p.locator(`${reply} [data-testid="validation-value"]`).count()).toBe(0);

    // The repair round: valid; the reply completes with its value, in the same open page.
    writeFileSync(join(dir, 'go-1'), '');
    await shows(text(p, badge), 'valid');
    await shows(attribute(p, `${reply} [data-testid="validation-round"][data-round="1"]`, 'data-valid'), 'true');
    await shows(
      text(p, `${reply} [data-testid="validation-value"]`),
      JSON.stringify({ collections: ['documents', 'sections'], keyPattern: '^[a-z]+$' }, null, 2),
    );
    expect(await p.locator(reply).getAttribute('data-status')).toBe('complete');
    expect(await p.locator(`${reply} [data-testid="validation-round"]`).count()).toBe(2);
    // The first round stayed open through the updates, its issues still listed.
    expect(await p.locator(misspelt).isVisible()).toBe(true);
  });
});
