// The dashboard's safety in chromium: agent output (and every other text a module writes) is shown as text and
// runs nothing, the page is served under its Content-Security-Policy, and a service that requires a token is
// usable with one: from a link once, or typed into the prompt a 401 brings up. A page of another origin can
// neither read the service nor change anything in it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/service/dashboard.js';
import { describeDashboard, shows } from '../support/dashboard.js';

const PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="alert(1); window.__pwned = 2">**not bold**';

/** Records Content-Security-Policy violations in the page, from before its first script runs. */
const RECORD_VIOLATIONS = `window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`;

describeDashboard('dashboard, safety', (open) => {
  it('shows agent output as text and runs none of it', async () => {
    const d = await open();
    await d.context.addInitScript({ content: RECORD_VIOLATIONS });
    const hub = d.service.hub;
    const thread = await hub.threads.create({ title: PAYLOAD, createdBy: 'marker' });
    await hub.messages.create({
      threadId: thread.id,
      author: 'marker',
      role: 'user',
      status: 'complete',
      content: PAYLOAD,
    });
    const reply = await hub.messages.create({ threadId: thread.id, author: 'reviewer' });
    await hub.messages.transition(reply.id, 'processing');
    const task = await hub.progress.start({ name: PAYLOAD, agentId: 'marker', criteria: [PAYLOAD] });
    const { page } = d;
    await page.goto(`${d.url}/#/threads/${thread.id}`);
    const content = page.locator(`[data-message-id="${reply.id}"] .content`);
    await shows(() => content.textContent(), '…');
    // Streamed in pieces that split the tags, as an agent might write them.
    await hub.messages.appendContent(reply.id, PAYLOAD.slice(0, 20));
    await hub.messages.appendContent(reply.id, PAYLOAD.slice(20, 60));
    await hub.messages.appendContent(reply.id, PAYLOAD.slice(60));
    await hub.messages.transition(reply.id, 'failed', { error: PAYLOAD });
    await shows(() => content.textContent(), PAYLOAD);
    expect(await page.locator('.content').allTextContents()).toEqual([PAYLOAD, PAYLOAD]);
    expect(await page.locator('.thread h2').textContent()).toBe(PAYLOAD);
    expect(await page.locator(`[data-message-id="${reply.id}"] .error-text`).textContent()).toBe(PAYLOAD);
    await page.getByText(PAYLOAD).first().waitFor();

    await hub.progress.logAction(task.taskId, PAYLOAD, PAYLOAD);
    await hub.progress.logError(task.taskId, PAYLOAD);
    await page.goto(`${d.url}/#/tasks/${task.taskId}`);
    await shows(() => page.locator('.errors li').allTextContents(), [PAYLOAD]);
    expect(await page.locator('.panel h2').textContent()).toBe(PAYLOAD);
    expect(await page.locator('.criterion-text').textContent()).toBe(PAYLOAD);
    await page.goto(`${d.url}/#/`);
    await shows(
      async () => (await page.locator('.feed-text').allTextContents()).some((t) => t.includes(PAYLOAD)),
      true,
    );

    expect(await page.evaluate('document.querySelectorAll("#root img, #root script, #root strong").length')).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.evaluate('window.__violations')).toEqual([]);
  });

  it('serves the page with its Content-Security-Policy and loads nothing from elsewhere', async () => {
    const d = await open();
    const requests: string[] = [];
    d.page.on('request', (r) => requests.push(r.url()));
    const res = await d.page.goto(`${d.url}/`);
    expect(res?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await shows(() => d.page.locator('.connection').getAttribute('data-state'), 'live');
    expect(requests.filter((url) => !url.startsWith(d.url) && !url.startsWith(d.url.replace('http', 'ws')))).toEqual(
      [],
    );
    const asset = requests.find((url) => /\/assets\/.+\.js$/.test(url));
    const assetRes = await fetch(asset ?? '');
    expect(assetRes.headers.get('cache-control')).toContain('immutable');
    expect(assetRes.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('works with a token: once from the link, or typed in after a 401', async () => {
    const first = await open();
    const { token } = await first.service.hub.tokens.create({ label: 'dashboard' });
    await first.stop();
    // A bind other than loopback requires tokens; the page still reaches it through 127.0.0.1.
    const d = await open({ host: '0.0.0.0', database: first.database });
    expect((await d.call('/modules')).status).toBe(401);

    await d.page.goto(`${d.url}/?token=${encodeURIComponent(token)}#/instances`);
    await shows(() => d.page.locator('.connection').getAttribute('data-state'), 'live');
    await d.page.locator('[data-module="arangodb"]').waitFor();
    expect(d.page.url()).toBe(`${d.url}/#/instances`);
    expect(await d.page.evaluate('sessionStorage.getItem("claude-comms.token")')).toBe(token);
    const asked = await d.call('/ask', { token, body: { from: 'marker', to: 'arangodb', prompt: 'with a token' } });
    await d.page.locator('[data-module="arangodb"] tr[data-instance-id]').waitFor();
    expect(asked.status).toBe(202);

    const other = await d.context.browser()?.newPage();
    if (!other) throw new Error('no second page');
    await other.goto(`${d.url}/`);
    await other.getByRole('heading', { name: 'This service requires a token' }).waitFor();
    expect(await other.locator('.connection').getAttribute('data-state')).toBe('unauthorized');
    await other.getByLabel('Token', { exact: true }).fill('cc_wrong');
    await other.getByRole('button', { name: 'Connect' }).click();
    await other.getByRole('heading', { name: 'The token was refused' }).waitFor();
    await other.getByLabel('Token', { exact: true }).fill(token);
    await other.getByRole('button', { name: 'Connect' }).click();
    await shows(() => other.locator('.connection').getAttribute('data-state'), 'live');
    await other.locator('[data-module="arangodb"]').waitFor();
    expect(await other.getByRole('heading', { name: /token/ }).count()).toBe(0);
    await other.close();
  });
});

describeDashboard('dashboard, other origins', (open) => {
  it('a page on another origin can neither read the stream nor change anything', async () => {
    const d = await open();
    const hub = d.service.hub;
    const thread = await hub.threads.create({ title: 'secret plans', createdBy: 'marker' });
    await hub.messages.create({
      threadId: thread.id,
      author: 'marker',
      role: 'user',
      status: 'complete',
      content: 'the key is 42',
    });
    const head = await hub.events.head();
    const api = `${d.url}/api/v1`;
    // A page of its own origin: another port on this machine, as any local web page or dev server would be.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>evil</title><script>
        window.seen = [];
        const note = (what) => window.seen.push(what);
        const ws = new WebSocket(${JSON.stringify(api.replace('http', 'ws'))} + '/ws?after=c0');
        ws.onmessage = (m) => note('ws: ' + m.data);
        ws.onerror = () => note('ws error');
        const es = new EventSource(${JSON.stringify(api)} + '/events/stream');
        es.onmessage = (m) => note('sse: ' + m.data);
        es.addEventListener('ready', (m) => note('sse ready: ' + m.data));
        es.onerror = () => { note('sse error'); es.close(); };
        fetch(${JSON.stringify(api)} + '/threads').then((r) => r.text()).then((t) => note('read: ' + t), () => note('read refused'));
        for (const path of ['/modules/arangodb/pause', '/modules/marker/pause']) {
          fetch(${JSON.stringify(api)} + path, { method: 'POST', mode: 'no-cors' }).then(() => note('posted'), () => note('post failed'));
          fetch(${JSON.stringify(api)} + path, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '' }).then(() => note('posted'), () => note('post failed'));
        }
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = ${JSON.stringify(api)} + '/modules/arangodb/pause';
        form.target = 'sink';
        const frame = document.createElement('iframe');
        frame.name = 'sink';
        document.body.append(frame, form);
        form.submit();
      </script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const port = (evil.address() as AddressInfo).port;
      const page = await d.context.newPage();
      await page.goto(`http://localhost:${port}/`);
      await shows(async () => {
        const seen = (await page.evaluate('window.seen')) as string[];
        return (
          ['ws error', 'sse error', 'read refused'].every((s) => seen.includes(s)) &&
          seen.filter((s) => s.startsWith('post')).length === 4
        );
      }, true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const seen = (await page.evaluate('window.seen')) as string[];
      expect(
        seen.filter((s) => s.startsWith('ws:') || (s.startsWith('sse') && s !== 'sse error') || s.startsWith('read:')),
      ).toEqual([]);
      expect(JSON.stringify(seen)).not.toContain('the key is 42');
      // Nothing changed: not a single event was written, no module paused.
      expect(await hub.events.head()).toBe(head);
      expect((await hub.modules.get('arangodb')).paused).toBe(false);
      await page.close();
      // The dashboard, on its own origin, still works.
      await d.page.goto(`${d.url}/#/threads/${thread.id}`);
      await shows(() => d.page.locator('.connection').getAttribute('data-state'), 'live');
      await d.page.getByText('the key is 42').waitFor();
    } finally {
      evil.close();
    }
  });
});
