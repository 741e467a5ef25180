// Conformance: config sync — a module deleted from config.yaml is marked removed (asking it refused, its
// unanswered replies failed with the reason), one put back is served again, and modules registered through the
// library are left alone — on every backend, through the hub and across a real restart of the service.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHub } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { BACKENDS, describeEachBackend } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { readLog } from '../support/wait.js';

const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q));`;

/** A config.yaml defining `names`, each answered by an echo agent; rewritten in place by calling it again. */
function configWith(dir: string, names: string[]): string {
  writeFileSync(join(dir, 'agent.mjs'), ECHO);
  const modules = names.map(
    (n) =>
      `  ${n}:\n    cwd: .\n    backend: command\n    command: ${JSON.stringify(process.execPath)}\n    args: [agent.mjs]\n`,
  );
  writeFileSync(join(dir, 'config.yaml'), `modules:\n${modules.join('') || '  {}\n'}`);
  return join(dir, 'config.yaml');
}

describeEachBackend('config sync', (hubs) => {
  it('marks a module deleted from config.yaml removed, fails its replies, refuses asks; putting it back serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-sync-'));
    const config = configWith(dir, ['marker', 'arangodb']);
    const hub = await hubs.open({ config });
    await hub.modules.register({ name: 'library', description: 'registered in code' });
    const asked = await hub.ask({ from: 'cli', to: 'arangodb', prompt: 'Still there?' });
    const before = (await readLog(hub)).length;

    configWith(dir, ['marker']);
    const result = await hub.syncConfig(config);
    expect(result).toEqual({ modules: ['marker'], removed: ['arangodb'], failedReplies: 1, warnings: [] });
    const removed = await hub.modules.get('arangodb');
    expect(removed.removedAt).toEqual(expect.any(String));
    expect(removed).toMatchObject({ paused: false, health: 'healthy' });
    expect(await hub.modules.get('library')).toMatchObject({ removedAt: null, configFile: null });
    expect(await hub.modules.get('marker')).toMatchObject({ removedAt: null, configFile: config });

    const error = `module arangodb was removed from ${config} on ${removed.removedAt}; add it back to serve it`;
    expect(await hub.messages.get(asked.messageId)).toMatchObject({ status: 'failed', error });
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ status: 'failed', error });
    const events = (await readLog(hub)).slice(before);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['module.updated', { removed: true, removedAt: removed.removedAt }],
      ['task.status_changed', { from: 'pending', to: 'failed', reason: 'module_removed', error }],
      ['message.status_changed', { from: 'pending', to: 'failed', reason: 'module_removed', error }],
    ]);
    await expect(hub.ask({ from: 'cli', to: 'arangodb', prompt: 'x' })).rejects.toMatchObject({
      code: 'conflict',
      message: error,
    });
    // Its failed reply cannot be retried either while the module is gone: the same reason, nothing created.
    await expect(hub.retry(asked.messageId)).rejects.toMatchObject({ code: 'conflict', message: error });
    expect(await hub.messages.list({ threadId: asked.threadId })).toHaveLength(2);

    // Syncing the same file again changes nothing; a library module survives any config.
    expect(await hub.syncConfig(config)).toEqual({ modules: ['marker'], removed: [], failedReplies: 0, warnings: [] });
    configWith(dir, []);
    await hub.syncConfig(config);
    expect((await hub.modules.get('library')).removedAt).toBeNull();
    expect((await hub.modules.get('marker')).removedAt).toEqual(expect.any(String));

    const mark = (await readLog(hub)).length;
    configWith(dir, ['marker', 'arangodb']);
    await hub.syncConfig(config);
    expect((await hub.modules.get('arangodb')).removedAt).toBeNull();
    expect((await readLog(hub)).slice(mark).map((e) => [e.type, e.module, e.data])).toEqual([
      ['module.updated', 'marker', { removed: false }],
      ['module.updated', 'arangodb', { removed: false }],
    ]);
    await expect(hub.ask({ from: 'cli', to: 'arangodb', prompt: 'Back?' })).resolves.toMatchObject({});
  });

  it('keeps the removal when the hub opens again, and a missing file changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-sync-'));
    const config = configWith(dir, ['marker', 'arangodb']);
    const hub = await hubs.open({ config });
    configWith(dir, ['marker']);
    const again = await hubs.open({ database: hub.database, config });
    expect((await again.modules.get('arangodb')).removedAt).toEqual(expect.any(String));
    await hubs.open({ database: hub.database, config: join(dir, 'gone.yaml') });
    expect((await again.modules.get('marker')).removedAt).toBeNull();
    await expect(again.syncConfig(join(dir, 'gone.yaml'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('stores a module’s old budget names as the new ones, warns of them, and gives its asks the limits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-sync-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      `modules:\n  marker:\n    cwd: .\n    backend: claude-code\n    maxTurns: 3\n    maxBudgetUsd: 0.25\n`,
    );
    const heard: string[] = [];
    const hub = await hubs.open({ config, onConfigWarning: (w) => heard.push(w) });
    const warnings = [
      `${config}:5: modules.marker.maxTurns: deprecated, read as maxIterations; rename it to maxIterations`,
      `${config}:6: modules.marker.maxBudgetUsd: deprecated, read as maxCostUsd; rename it to maxCostUsd`,
    ];
    expect(heard).toEqual(warnings);
    expect((await hub.syncConfig(config)).warnings).toEqual(warnings);
    const { config: stored } = await hub.modules.get('marker');
    expect(stored).toMatchObject({ maxIterations: 3, maxCostUsd: 0.25 });
    expect(stored).not.toHaveProperty('maxTurns');
    const asked = await hub.ask({ from: 'cli', to: 'marker', prompt: 'q' });
    expect(await hub.tasks.get(asked.taskId)).toMatchObject({ maxIterations: 3, maxCostUsd: 0.25 });
  });

  it('refuses reserved module names everywhere, not only in config.yaml', async () => {
    const hub = await hubs.open();
    for (const name of ['constructor', '__proto__', 'toString', 'a/b']) {
      await expect(hub.modules.register({ name })).rejects.toMatchObject({ code: 'validation' });
    }
  });
});

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

describe.each(BACKENDS)('a module deleted from config.yaml, across a restart of the service, on $name', (backend) => {
  it.skipIf(!backend.available)('is shown removed, refused, its waiting reply failed; back, it answers', async () => {
    const database = await backend.freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'cc-restart-'));
    const config = configWith(dir, ['marker', 'arangodb']);
    const start = async () => {
      const s = await startBareService(database, { config });
      services.push(s);
      return s;
    };
    await (await start()).close();
    // Asked while the service is down: the reply waits for the next start.
    const offline = await openHub({ database, config: false });
    const asked = await offline.ask({ from: 'cli', to: 'arangodb', prompt: 'Are you there?' });
    await offline.close();

    configWith(dir, ['marker']);
    const second = await start();
    const api = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${second.url}/api/v1${path}`, init);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const { body } = await api('/modules');
    const views = body.modules as { name: string; removedAt: string | null; health: string }[];
    expect(views.find((m) => m.name === 'arangodb')).toMatchObject({
      removedAt: expect.any(String),
      health: 'healthy',
    });
    expect(views.find((m) => m.name === 'marker')).toMatchObject({ removedAt: null });
    expect(await second.hub.messages.get(asked.messageId)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining(`module arangodb was removed from ${config}`),
    });
    const refused = await api('/ask', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'cli', to: 'arangodb', prompt: 'x' }),
    });
    expect(refused).toMatchObject({
      status: 409,
      body: { code: 'conflict', detail: expect.stringContaining('add it back to serve it') },
    });
    await second.close();

    configWith(dir, ['marker', 'arangodb']);
    const third = await start();
    const again = await third.hub.ask({ from: 'cli', to: 'arangodb', prompt: 'Back?' });
    const done = await third.hub.waitForCompletion(again.messageId, { timeoutMs: 20_000 });
    expect(done.message).toMatchObject({ status: 'complete', content: 're: Back?' });
    expect((await third.hub.modules.get('arangodb')).removedAt).toBeNull();
  });
});
