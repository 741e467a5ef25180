// Instances and module health on every backend, with real agent programs: instances made on demand within the
// module's concurrency, paused (work waits) and resumed, terminated mid-run, cleaned up when idle, persisted
// across a reopen; a module whose backend fails is marked unhealthy, its work waits, and a passing check resumes it.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { moduleView } from '../../src/domain/types.js';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { alive, commandModule } from '../support/modules.js';
import { payload } from '../support/payload.js';
import { readLog, until } from '../support/wait.js';

const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q));`;
const SLOW = `import { writeFileSync } from 'node:fs';
writeFileSync('pid', String(process.pid));
process.stdout.write('working');
setInterval(() => {}, 1000);`;

/** The status of a reply now. */
async function status(hub: Hub, messageId: string): Promise<string> {
  return ((await hub.messages.get(messageId)) as { status: string }).status;
}

describeEachBackend('instances and health', (hubs) => {
  it('makes instances on demand, never more than the module’s concurrency, and keeps them idle afterwards', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', `setTimeout(() => process.stdout.write('ok'), 100);`, 2);
    await hub.startWorker();
    const asks = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => hub.ask({ from: 'marker', to: 'arangodb', prompt: `q${i}` })),
    );
    for (const a of asks)
      expect((await hub.waitForCompletion(a.messageId, { timeoutMs: 20_000 })).status).toBe('complete');
    await until(async () => (await hub.instances.list()).every((i) => i.state === 'idle'), 10_000, 'idle instances');
    const instances = await hub.instances.list({ module: 'arangodb' });
    expect(instances).toHaveLength(2);
    expect(instances.reduce((n, i) => n + i.runs, 0)).toBe(5);
    // Never more than two busy at once: replay the instance events.
    let busy = 0;
    let most = 0;
    for (const e of await readLog(hub)) {
      if (e.type === 'instance.created' || e.type === 'instance.updated') {
        if (e.data.state === 'busy') busy++;
        if (payload(e).from === 'busy') busy--;
        most = Math.max(most, busy);
      }
    }
    expect(most).toBe(2);
    // The reply's history names the instance that answered it.
    const history = await hub.statusHistory(asks[0]?.messageId ?? '');
    expect(history[1]?.reason).toMatch(/instance [0-9a-f-]{36}/);
  });

  it('pauses an instance (queued work waits), resumes it, and keeps it paused across a reopen', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO, 1);
    const instance = await hub.instances.create('arangodb');
    expect(instance).toMatchObject({ module: 'arangodb', state: 'idle', runs: 0 });
    await expect(hub.instances.create('arangodb')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('already has 1 live instance'),
    });
    await expect(hub.instances.create('nobody')).rejects.toMatchObject({ code: 'not_found' });
    expect((await hub.instances.pause(instance.id)).state).toBe('paused');

    // Reopened: the instance is still paused.
    const again = await hubs.open({ database: hub.database });
    expect((await again.instances.get(instance.id)).state).toBe('paused');
    await again.startWorker();
    const asked = await again.ask({ from: 'marker', to: 'arangodb', prompt: 'wait for me' });
    await sleep(500);
    expect(await status(again, asked.messageId)).toBe('pending');

    await again.instances.resume(instance.id);
    const done = await again.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.message.content).toBe('re: wait for me');
    await until(async () => (await again.instances.get(instance.id)).runs === 1, 10_000, 'the run to be counted');
    expect((await again.instances.list({ module: 'arangodb' })).map((i) => i.id)).toEqual([instance.id]);
  });

  it('terminates a busy instance: its reply is cancelled and its agent stopped', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'slow', SLOW);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'slow', prompt: 'take your time' });
    await until(async () => (await hub.instances.list({ state: 'busy' })).length === 1, 10_000, 'a busy instance');
    const [busy] = await hub.instances.list({ state: 'busy' });
    expect(busy?.messageId).toBe(asked.messageId);
    await until(async () => (await status(hub, asked.messageId)) === 'processing', 10_000, 'processing');
    await until(() => readPid(dir) !== undefined, 10_000, 'the agent to start');

    const ended = await hub.instances.terminate(busy?.id ?? '', 'no longer needed');
    expect(ended).toMatchObject({ state: 'terminated', reason: 'no longer needed' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    expect(done.status).toBe('cancelled');
    expect(done.history.at(-1)?.reason).toBe('its instance was terminated: no longer needed');
    await until(() => !alive(readPid(dir) ?? 0), 10_000, 'the agent process to end');
    await until(async () => (await hub.tasks.get(asked.taskId)).status === 'cancelled', 10_000, 'the task');
    await expect(hub.instances.terminate(busy?.id ?? '')).rejects.toMatchObject({ code: 'invalid_transition' });
    await expect(hub.instances.pause(busy?.id ?? '')).rejects.toMatchObject({ code: 'invalid_transition' });
    expect(await hub.instances.list()).toEqual([]);
    expect((await hub.instances.list({ all: true })).map((i) => i.state)).toEqual(['terminated']);
  });

  it('cleans up instances left idle, and makes a new one for the next question', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO);
    await hub.startWorker({ idleInstanceMs: 300 });
    const first = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'one' });
    await hub.waitForCompletion(first.messageId, { timeoutMs: 20_000 });
    await until(async () => (await hub.instances.list()).length === 0, 10_000, 'the idle instance to be cleaned up');
    const [gone] = await hub.instances.list({ all: true });
    expect(gone).toMatchObject({ state: 'terminated', reason: 'idle for 300 ms', runs: 1 });

    const second = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'two' });
    expect((await hub.waitForCompletion(second.messageId, { timeoutMs: 20_000 })).status).toBe('complete');
    expect(await hub.instances.list({ all: true })).toHaveLength(2);
  });

  it('marks a module whose program is missing unhealthy; its work waits until the program appears', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'marker', '');
    await hub.modules.register({
      name: 'marker',
      config: { backend: 'command', cwd: dir, command: './agent.sh' },
    });
    await hub.startWorker({ healthBackoffMs: 100, healthBackoffMaxMs: 200 });
    const module = await hub.modules.get('marker');
    expect(module).toMatchObject({ health: 'unhealthy' });
    expect(module.healthError).toBe(`command ./agent.sh: ${join(dir, 'agent.sh')} does not exist`);
    const asked = await hub.ask({ from: 'arangodb', to: 'marker', prompt: 'anything' });
    await sleep(400);
    expect(await status(hub, asked.messageId)).toBe('pending');

    writeFileSync(join(dir, 'agent.sh'), '#!/bin/sh\necho fixed\n');
    chmodSync(join(dir, 'agent.sh'), 0o755);
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.message.content).toBe('fixed\n');
    expect(await hub.modules.get('marker')).toMatchObject({ health: 'healthy', healthError: null });
    const changes = (await readLog(hub)).filter((e) => e.type === 'module.updated' && e.data.health);
    expect(changes.map((e) => payload(e).health)).toEqual(['unhealthy', 'healthy']);
  });

  it('shows a module registered with settings it cannot run unhealthy, naming the keys, and reads its concurrency as its view does', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(hub, 'marker', ECHO);
    const settings = { backend: 'command', cwd: dir, command: process.execPath, args: ['agent.mjs'] };
    await hub.modules.register({ name: 'marker', config: { ...settings, concurrency: 2.5, capabilities: 'pdf' } });
    await hub.startWorker();
    const module = await hub.modules.get('marker');
    expect(module).toMatchObject({ health: 'unhealthy' });
    expect(module.healthError).toBe(
      'module marker has invalid settings: capabilities: Invalid input: expected array, received string; concurrency: Invalid input: expected int, received number',
    );
    // Concurrency 2.5 is not a concurrency: the view and the instance limit both read the default.
    expect(moduleView(module, [])).toMatchObject({ concurrency: 1, capabilities: [] });
    const instance = await hub.instances.create('marker');
    await expect(hub.instances.create('marker')).rejects.toMatchObject({ code: 'conflict' });
    await hub.instances.terminate(instance.id);

    await hub.modules.register({ name: 'marker', config: { ...settings, concurrency: 2 } });
    const asked = await hub.ask({ from: 'arangodb', to: 'marker', prompt: 'fixed?' });
    expect((await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 })).message.content).toBe('re: fixed?');
    expect(await hub.modules.get('marker')).toMatchObject({ health: 'healthy', healthError: null });
  });

  it('backs off a module whose runs keep failing, and takes its work again once a run succeeds', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(
      hub,
      'flaky',
      `import { existsSync } from 'node:fs';
      let q = '';
      process.stdin.on('data', (d) => (q += d));
      process.stdin.on('end', () => {
        if (!existsSync('fixed')) { process.stderr.write('cannot answer ' + q + '\\n'); process.exit(1); }
        process.stdout.write('answered');
      });`,
    );
    await hub.startWorker({ unhealthyAfter: 2, healthBackoffMs: 300, healthBackoffMaxMs: 300 });
    const asks = [];
    for (const p of ['a', 'b', 'c']) asks.push(await hub.ask({ from: 'marker', to: 'flaky', prompt: `secret ${p}` }));
    for (const a of asks.slice(0, 2)) {
      expect((await hub.waitForCompletion(a.messageId, { timeoutMs: 20_000 })).status).toBe('failed');
    }
    const sick = await hub.modules.get('flaky');
    expect(sick.health).toBe('unhealthy');
    // Every token sees a module's health: it says what failed and where to look, never what the runs were asked.
    expect(sick.healthError).toBe(
      `runs keep failing (agent_error): 2 failed runs in a row; the last error is on task ${asks[1]?.taskId}`,
    );
    expect((await hub.tasks.get(asks[1]?.taskId ?? '')).error).toContain('cannot answer secret b');
    const healthEvents = (await readLog(hub)).filter((e) => e.type.startsWith('module.'));
    expect(JSON.stringify(healthEvents)).not.toContain('secret');
    writeFileSync(join(dir, 'fixed'), '');
    const third = await hub.waitForCompletion(asks[2]?.messageId ?? '', { timeoutMs: 20_000 });
    expect(third.message.content).toBe('answered');
    // It waited for the health check rather than failing straight away.
    expect(Date.parse(third.message.startedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(sick.healthCheckedAt ?? '') + 250,
    );
    expect((await hub.modules.get('flaky')).health).toBe('healthy');
  });
});

function readPid(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'pid'), 'utf8')) || undefined;
  } catch {
    return undefined;
  }
}
