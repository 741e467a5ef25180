// Capability routing and discovery on every backend, with real load: busy instances are agents a worker is
// running, queued replies are asks to modules no worker serves. The least loaded module declaring a capability is
// chosen and `considered` says why each other was passed over; paused, unhealthy and removed modules are never
// chosen; a capability no one declares names those declared, one no served module declares names each and why.
// Discovery: `GET /api/v1/modules?capability=` on a real service (the command: test/e2e/config.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { BACKENDS, describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

/** An agent that starts answering and never ends: its instance stays busy until the hub closes. */
const HANG = `process.stdout.write('working'); setInterval(() => {}, 1000);`;

/** Registers `name` (no backend: routing reads only what it declares) with `capabilities`. */
async function declaring(hub: Hub, name: string, capabilities: string[]): Promise<void> {
  await hub.modules.register({ name, config: { capabilities } });
}

/** Asks `to` `n` questions; with no worker serving it, each waits as a pending reply. */
async function queue(hub: Hub, to: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await hub.ask({ from: 'cli', to, prompt: `question ${i + 1} for ${to}` });
}

describeEachBackend('capability routing', (hubs) => {
  it('routes to the least loaded module: fewest busy instances, then fewest queued, then by name', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'alpha', HANG, 2, { capabilities: ['pdf', 'tables'] });
    await declaring(hub, 'beta', ['pdf']);
    await declaring(hub, 'gamma', [' pdf ']);
    await declaring(hub, 'other', ['graph']);
    await hub.startWorker({ modules: ['alpha'] });
    await queue(hub, 'alpha', 2);
    await until(
      async () => (await hub.instances.list({ module: 'alpha', state: 'busy' })).length === 2,
      20_000,
      'both of alpha’s instances to be busy',
    );
    await queue(hub, 'beta', 3);
    await queue(hub, 'gamma', 1);

    expect(await hub.modules.load(['alpha', 'beta', 'gamma', 'other'])).toEqual([
      { module: 'alpha', busy: 2, queued: 0 },
      { module: 'beta', busy: 0, queued: 3 },
      { module: 'gamma', busy: 0, queued: 1 },
      { module: 'other', busy: 0, queued: 0 },
    ]);
    expect(await hub.routeCapability('pdf')).toEqual({
      capability: 'pdf',
      chosen: 'gamma',
      considered: [
        { module: 'alpha', busy: 2, queued: 0, chosen: false, why: 'busier: 2 busy instances vs 0' },
        { module: 'beta', busy: 0, queued: 3, chosen: false, why: 'more queued: 3 vs 1' },
        { module: 'gamma', busy: 0, queued: 1, chosen: true },
      ],
    });
    // Spaces around the capability asked for are ignored, as around one declared (gamma's ' pdf ').
    expect((await hub.routeCapability('  pdf ')).chosen).toBe('gamma');

    // As loaded as beta: the name decides, the same way on every database.
    await queue(hub, 'gamma', 2);
    const tie = await hub.routeCapability('pdf');
    expect(tie.chosen).toBe('beta');
    expect(tie.considered.find((c) => c.module === 'gamma')).toEqual({
      module: 'gamma',
      busy: 0,
      queued: 3,
      chosen: false,
      why: 'as loaded as beta, which comes first by name',
    });
    // The only module declaring `tables` is chosen however busy it is.
    expect(await hub.routeCapability('tables')).toEqual({
      capability: 'tables',
      chosen: 'alpha',
      considered: [{ module: 'alpha', busy: 2, queued: 0, chosen: true }],
    });
  });

  it('never chooses a paused or unhealthy module, however idle, and says why', async () => {
    const hub = await hubs.open();
    for (const name of ['alpha', 'beta', 'gamma']) await declaring(hub, name, ['pdf']);
    await queue(hub, 'gamma', 2);
    await hub.modules.setPaused('alpha', true);
    await hub.modules.setHealth('beta', 'unhealthy', 'claude: command not found');

    expect(await hub.routeCapability('pdf')).toEqual({
      capability: 'pdf',
      chosen: 'gamma',
      considered: [
        { module: 'alpha', busy: 0, queued: 0, chosen: false, why: 'paused' },
        { module: 'beta', busy: 0, queued: 0, chosen: false, why: 'unhealthy: claude: command not found' },
        { module: 'gamma', busy: 0, queued: 2, chosen: true },
      ],
    });
    // Resumed and healthy again, the idle ones win.
    await hub.modules.setPaused('alpha', false);
    await hub.modules.setHealth('beta', 'healthy');
    expect((await hub.routeCapability('pdf')).chosen).toBe('alpha');
  });

  it('refuses a capability no module declares, naming those declared (and the likely one)', async () => {
    const hub = await hubs.open();
    await expect(hub.routeCapability('pdf')).rejects.toMatchObject({
      code: 'not_found',
      message: 'no module declares the capability "pdf" (no module declares any capability)',
    });
    await declaring(hub, 'marker', ['pdf', 'tables']);
    await declaring(hub, 'arangodb', ['graph', 'aql', 'tables']);
    for (const [asked, hint] of [
      ['pdff', 'did you mean "pdf"? '],
      ['PDF', 'did you mean "pdf"? '],
      ['vectors', ''],
    ]) {
      await expect(hub.routeCapability(asked as string)).rejects.toMatchObject({
        code: 'not_found',
        message: `no module declares the capability "${asked}" (${hint}declared: aql, graph, pdf, tables)`,
        details: { capability: asked, declared: ['aql', 'graph', 'pdf', 'tables'] },
      });
    }
    for (const blank of ['', '   ']) {
      await expect(hub.routeCapability(blank)).rejects.toMatchObject({
        code: 'validation',
        message: 'capability must not be empty',
      });
    }
  });

  it('refuses a capability whose every module is paused, unhealthy or removed, naming each and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-routing-'));
    const config = join(dir, 'config.yaml');
    const module = (name: string) =>
      `  ${name}:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    capabilities: [pdf]\n`;
    writeFileSync(config, `modules:\n${module('gamma')}${module('delta')}`);
    const hub = await hubs.open({ config });
    writeFileSync(config, `modules:\n${module('delta')}`);
    await hub.syncConfig(config);
    const { removedAt } = await hub.modules.get('gamma');
    await declaring(hub, 'alpha', ['pdf']);
    await declaring(hub, 'beta', ['pdf']);
    await hub.modules.setPaused('alpha', true);
    await hub.modules.setHealth('alpha', 'unhealthy', 'exit code 127');
    await hub.modules.setHealth('beta', 'unhealthy', 'claude: command not found');
    await hub.modules.setPaused('delta', true);

    const refused = await hub.routeCapability('pdf').catch((err: unknown) => err);
    expect(refused).toMatchObject({
      code: 'unavailable',
      message:
        'no module can take the capability "pdf" now: alpha is paused and unhealthy: exit code 127; ' +
        'beta is unhealthy: claude: command not found; delta is paused; ' +
        `gamma is removed from config.yaml on ${removedAt}`,
      details: {
        capability: 'pdf',
        considered: [
          { module: 'alpha', busy: 0, queued: 0, chosen: false, why: 'paused and unhealthy: exit code 127' },
          { module: 'beta', busy: 0, queued: 0, chosen: false, why: 'unhealthy: claude: command not found' },
          { module: 'delta', busy: 0, queued: 0, chosen: false, why: 'paused' },
          { module: 'gamma', busy: 0, queued: 0, chosen: false, why: `removed from config.yaml on ${removedAt}` },
        ],
      },
    });
  });
});

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

describe.each(BACKENDS)('GET /modules?capability= on $name', (backend) => {
  it.skipIf(!backend.available)('lists the modules declaring it, and answers 400 for a bad one', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    await declaring(service.hub, 'marker', ['pdf', 'tables']);
    await declaring(service.hub, 'arangodb', ['graph', 'tables']);
    await declaring(service.hub, 'writer', []);
    const get = async (query: string) => {
      const res = await fetch(`${service.url}/api/v1/modules${query}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const names = async (query: string) => ((await get(query)).body.modules as { name: string }[]).map((m) => m.name);

    expect(await names('')).toEqual(['arangodb', 'marker', 'writer']);
    expect(await names('?capability=tables')).toEqual(['arangodb', 'marker']);
    expect(await names('?capability=%20pdf%20')).toEqual(['marker']);
    expect(await names('?capability=PDF')).toEqual([]);
    const [listed] = (await get('?capability=graph')).body.modules as Record<string, unknown>[];
    expect(listed).toMatchObject({ name: 'arangodb', capabilities: ['graph', 'tables'] });

    for (const [query, detail] of [
      ['?capability=', /capability/],
      ['?capability=%20%20', /capability must not be empty/],
      [`?capability=${'x'.repeat(201)}`, /capability/],
      ['?capabilities=pdf', /capabilities/],
    ] as const) {
      const bad = await get(query);
      expect([query, bad.status, bad.body.code]).toEqual([query, 400, 'validation']);
      expect(bad.body.detail).toMatch(detail);
    }
  });
});
