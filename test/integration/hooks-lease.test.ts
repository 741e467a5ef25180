// Several services on one database deliver each hook once: one holds the lease on delivering, the others stand
// by and take over from the stored cursors when it stops, is killed, or freezes past its lease.
import { afterEach, expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { finish, killHooksProcesses, recordingCommand, reply, startHooksProcess } from '../support/hooks.js';
import { until } from '../support/wait.js';

afterEach(() => killHooksProcesses());

const LEASE = { leaseMs: 600 };

/** `n` new replies in the thread, each moved to its end. */
async function replies(hub: Hub, threadId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await reply(hub, threadId));
  for (const id of ids) await finish(hub, id);
  return ids;
}

describeEachBackend('hooks under a lease', (hubs) => {
  it('deliver once with two services on one database, and go on from the other when the holder stops', async () => {
    const first = await hubs.open();
    const second = await hubs.open({ database: first.database });
    const { id: threadId } = await first.threads.create();
    const recorder = recordingCommand();
    const watch = await first.watches.create({ threadId, command: recorder.command });
    const a = await first.startHooks(LEASE);
    const b = await second.startHooks(LEASE);
    expect([a.delivering, b.delivering]).toEqual([true, false]);

    const before = await replies(first, threadId, 4);
    await until(async () => (await first.watches.get(watch.id)).delivered === 4, 10_000, 'the first deliveries');
    await first.close();
    await until(() => b.delivering, 5_000, 'the standby taking over');
    const after = await replies(second, threadId, 3);
    await until(async () => (await second.watches.get(watch.id)).delivered === 7, 10_000, 'every delivery');
    expect(recorder.records().map((r) => r.stdin.message.id)).toEqual([...before, ...after]);
  });

  it('take over from a holder frozen past its lease, which stops delivering once it wakes', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const recorder = recordingCommand();
    const watch = await hub.watches.create({ threadId, command: recorder.command });
    const child = startHooksProcess(hub.database, LEASE);
    await child.ready;
    const standby = await hub.startHooks(LEASE);
    expect(standby.delivering).toBe(false);
    const first = await replies(hub, threadId, 2);
    await until(async () => (await hub.watches.get(watch.id)).delivered === 2, 10_000, 'the holder delivering');

    child.process.kill('SIGSTOP');
    const second = await replies(hub, threadId, 3);
    await until(() => standby.delivering, 5_000, 'the standby taking over');
    await until(async () => (await hub.watches.get(watch.id)).delivered === 5, 10_000, 'the standby delivering');
    child.process.kill('SIGCONT');
    await until(() => child.stderr().includes('lost a lease'), 5_000, 'the woken holder noticing');
    const third = await replies(hub, threadId, 2);
    await until(async () => (await hub.watches.get(watch.id)).delivered === 7, 10_000, 'every delivery');
    expect(recorder.records().map((r) => r.stdin.message.id)).toEqual([...first, ...second, ...third]);
  });

  it('take over at once from a holder on this host that was killed, delivering what it had not', async () => {
    const hub = await hubs.open();
    const { id: threadId } = await hub.threads.create();
    const recorder = recordingCommand();
    const watch = await hub.watches.create({ threadId, command: recorder.command });
    // A long lease: the standby does not wait for it to run out, as the holder's process is gone.
    const child = startHooksProcess(hub.database, { leaseMs: 600_000 });
    await child.ready;
    const standby = await hub.startHooks({ leaseMs: 600_000 });
    expect(standby.delivering).toBe(false);
    const first = await replies(hub, threadId, 2);
    await until(async () => (await hub.watches.get(watch.id)).delivered === 2, 10_000, 'the holder delivering');
    child.process.kill('SIGKILL');
    await child.exited;
    const second = await replies(hub, threadId, 2);
    await until(() => standby.delivering, 5_000, 'the standby taking over');
    await until(async () => (await hub.watches.get(watch.id)).delivered === 4, 10_000, 'every delivery');
    expect(recorder.records().map((r) => r.stdin.message.id)).toEqual([...first, ...second]);
  });
});
