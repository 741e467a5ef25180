// Webhooks of watches created by module tokens, on every backend, against real HTTP servers on loopback only:
// loopback, private and link-local targets are refused when the watch is created and again at every delivery
// (unless the hub allows private webhooks), and a redirect is a failed delivery, never followed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend, memoryLogger } from '../support/backends.js';
import { until } from '../support/wait.js';

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An HTTP server on 127.0.0.1 answering `status` (with `location` for a redirect); counts what it got. */
async function receiver(status = 204, location?: string) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(req.url ?? '');
      res.writeHead(status, location ? { location } : {});
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, hits };
}

/** A thread `alpha` asked in, with `beta`'s pending reply. */
async function alphaThread(hub: Hub): Promise<{ threadId: string; replyId: string }> {
  const { threadId, messageId } = await hub.ask({ from: 'alpha', to: 'beta', prompt: 'where is it?' });
  return { threadId, replyId: messageId };
}

async function finish(hub: Hub, id: string): Promise<void> {
  await hub.messages.transition(id, 'processing');
  await hub.messages.transition(id, 'complete');
}

/** Given-up deliveries are logged at warn: kept out of the test output. */
const quiet = () => memoryLogger().logger;

const ONE_ATTEMPT = { retryBaseMs: 10, retryMaxMs: 10, maxAttempts: 1 };

describeEachBackend('webhook targets', (hubs) => {
  it('refuse a module’s watch calling loopback, private or link-local addresses, by name or literal, naming the address', async () => {
    const hub = await hubs.open({ allowPrivateWebhooks: false, logger: quiet() });
    await hub.modules.register({ name: 'beta' });
    const { threadId } = await alphaThread(hub);
    const { port } = await receiver();
    const refused: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/hooks`, /resolves to 127\.0\.0\.1, a loopback address/],
      [`http://localhost:${port}/hooks`, /webhook host localhost resolves to .*(127\.0\.0\.1|::1)/],
      [`http://[::1]:${port}/hooks`, /resolves to ::1/],
      [`http://[::ffff:127.0.0.1]:${port}/hooks`, /loopback/],
      [`http://0.0.0.0:${port}/hooks`, /unspecified/],
      [`http://2130706433:${port}/hooks`, /resolves to 127\.0\.0\.1/],
      ['http://10.0.0.7/hooks', /a private address/],
      ['http://169.254.169.254/latest/meta-data/', /a link-local address/],
      ['http://100.64.0.1/', /carrier-grade NAT/],
      ['https://[fd00::1]/', /private \(unique local\)/],
    ];
    for (const [webhook, message] of refused) {
      await expect(hub.watches.create({ threadId, webhook }, 'alpha'), webhook).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringMatching(message),
      });
    }
    await expect(
      hub.watches.create({ threadId, webhook: 'http://no-such-host.invalid/' }, 'alpha'),
    ).rejects.toMatchObject({ code: 'validation', message: expect.stringContaining('does not resolve') });
    expect(await hub.watches.list({ all: true })).toEqual([]);
    // Without a module scope the same target is trusted.
    expect((await hub.watches.create({ threadId, webhook: `http://127.0.0.1:${port}/hooks` })).createdBy).toBeNull();
  });

  it('check again at delivery: a module’s watch to loopback stored while allowed is not POSTed once disallowed', async () => {
    const allowing = await hubs.open({ allowPrivateWebhooks: true, logger: quiet() });
    await allowing.modules.register({ name: 'beta' });
    const { threadId, replyId } = await alphaThread(allowing);
    const target = await receiver();
    const watch = await allowing.watches.create({ threadId, webhook: `http://localhost:${target.port}/x` }, 'alpha');
    expect(watch.createdBy).toBe('alpha');

    const hub = await hubs.open({ database: allowing.database, allowPrivateWebhooks: false, logger: quiet() });
    await hub.startHooks(ONE_ATTEMPT);
    await finish(hub, replyId);
    await until(async () => (await hub.watches.get(watch.id)).lastError !== null, 10_000, 'the failed delivery');
    expect((await hub.watches.get(watch.id)).lastError).toMatch(
      /webhook: webhook host localhost resolves to .*a loopback address/,
    );
    expect(target.hits).toEqual([]);
  });

  it('deliver a module’s watch to loopback when the hub allows private webhooks', async () => {
    const hub = await hubs.open({ allowPrivateWebhooks: true, logger: quiet() });
    await hub.modules.register({ name: 'beta' });
    const { threadId, replyId } = await alphaThread(hub);
    const target = await receiver();
    const watch = await hub.watches.create({ threadId, webhook: `http://127.0.0.1:${target.port}/x` }, 'alpha');
    expect(watch.createdBy).toBe('alpha');
    await hub.startHooks(ONE_ATTEMPT);
    await finish(hub, replyId);
    await until(async () => (await hub.watches.get(watch.id)).delivered === 1, 10_000, 'the delivery');
    expect(target.hits).toEqual(['/x']);
  });

  it('treat a redirect as a failed delivery and never follow it', async () => {
    const hub = await hubs.open({ logger: quiet() });
    const { id: threadId } = await hub.threads.create();
    const elsewhere = await receiver();
    const redirecting = await receiver(302, `http://127.0.0.1:${elsewhere.port}/elsewhere`);
    const watch = await hub.watches.create({ threadId, webhook: `http://127.0.0.1:${redirecting.port}/hooks` });
    await hub.startHooks(ONE_ATTEMPT);
    const reply = await hub.messages.create({ threadId, author: 'beta' });
    await finish(hub, reply.id);
    await until(async () => (await hub.watches.get(watch.id)).lastError !== null, 10_000, 'the failed delivery');
    expect((await hub.watches.get(watch.id)).lastError).toMatch(
      new RegExp(`webhook: HTTP 302: a redirect to http://127\\.0\\.0\\.1:${elsewhere.port}/elsewhere, not followed`),
    );
    expect(redirecting.hits).toEqual(['/hooks']);
    expect(elsewhere.hits).toEqual([]);
  });
});
