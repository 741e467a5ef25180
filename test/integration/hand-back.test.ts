// A service stopping gracefully hands the replies it is answering back: they return to pending with their task,
// their partial content cleared (kept in the log and the task's log), and run again when a service is back; with
// `cancelRunning` they are cancelled, as before.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { startBareService } from '../support/service.js';
import { readLog, until } from '../support/wait.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close({ cancelRunning: true })));
});

/** Writes a first part, then the rest once a `go` file appears in its directory. */
const PATIENT = `
import { existsSync } from 'node:fs';
process.stdout.write('first part; ');
const wait = setInterval(() => { if (existsSync('go')) { clearInterval(wait); process.stdout.write('the rest'); } }, 25);`;

async function start(database: string): Promise<Service> {
  const service = await startBareService(database);
  services.push(service);
  return service;
}

describeEachBackend('hand-back', (hubs) => {
  it('returns a running reply to pending on a graceful stop, and answers it once a service is back', async () => {
    const database = (await hubs.open()).database;
    const first = await start(database);
    const dir = await commandModule(first.hub, 'patient', PATIENT);
    const asked = await first.hub.ask({ from: 'marker', to: 'patient', prompt: 'Take your time' });
    await until(
      async () => {
        const m = await first.hub.messages.get(asked.messageId);
        return 'content' in m && m.content === 'first part; ';
      },
      20_000,
      'the first part',
    );
    services.splice(services.indexOf(first), 1);
    const { handedBack } = await first.close();
    expect(handedBack).toEqual([asked.messageId]);

    const second = await start(database);
    const hub = second.hub;
    // Back in the queue, its partial content cleared, and taken again by the new service; the stop is in its
    // history and what the first run wrote in its task's log.
    await until(async () => (await hub.statusHistory(asked.messageId)).length === 4, 20_000, 'the second run');
    const history = await hub.statusHistory(asked.messageId);
    expect(history.map((h) => h.status)).toEqual(['pending', 'processing', 'pending', 'processing']);
    expect(history[2]?.reason).toContain('handed back');
    const log = await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.logged'] });
    expect(log.map((e) => String((e.data as { text: string }).text))).toEqual([
      expect.stringContaining('handed back'),
      expect.stringContaining('first part; '),
    ]);
    writeFileSync(join(dir, 'go'), '');
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('first part; the rest');
    expect((await hub.tasks.get(asked.taskId)).status).toBe('complete');
    expect(existsSync(join(dir, 'go'))).toBe(true);
  });

  it('cancels the running replies when asked to', async () => {
    const database = (await hubs.open()).database;
    const service = await start(database);
    await commandModule(service.hub, 'patient', PATIENT);
    const asked = await service.hub.ask({ from: 'marker', to: 'patient', prompt: 'Take your time' });
    await until(
      async () => (await service.hub.messages.get(asked.messageId)).status === 'processing',
      20_000,
      'the run',
    );
    services.splice(services.indexOf(service), 1);
    const { handedBack } = await service.close({ cancelRunning: true });
    expect(handedBack).toEqual([]);
    const hub = await hubs.open({ database });
    expect((await hub.messages.get(asked.messageId)).status).toBe('cancelled');
    expect((await hub.tasks.get(asked.taskId)).status).toBe('cancelled');
  });
});
