// The thread list on every backend: each thread with the modules asked in it and its replies counted by status,
// filtered by module and reply status (alone, together, and within what a module may see), and bad filters
// refused with the field they name.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';

/**
 * Four threads, oldest first: `answered` (marker asked arangodb, complete), `failed` (marker asked arangodb, failed;
 * then asked again: pending), `mixed` (marker asked arangodb, complete, then reviewer, cancelled) and `waiting`
 * (reviewer asked marker, processing).
 */
async function fourThreads(hub: Hub) {
  for (const name of ['marker', 'arangodb', 'reviewer']) await hub.modules.register({ name });
  const finish = async (messageId: string, to: 'complete' | 'failed' | 'cancelled' | 'processing') => {
    await hub.messages.transition(messageId, 'processing');
    if (to !== 'processing') await hub.messages.transition(messageId, to);
  };
  const answered = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'one' });
  await finish(answered.messageId, 'complete');
  const failed = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'two' });
  await finish(failed.messageId, 'failed');
  const retried = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'two again', threadId: failed.threadId });
  const mixed = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'three' });
  await finish(mixed.messageId, 'complete');
  const review = await hub.ask({ from: 'marker', to: 'reviewer', prompt: 'check it', threadId: mixed.threadId });
  await finish(review.messageId, 'cancelled');
  const waiting = await hub.ask({ from: 'reviewer', to: 'marker', prompt: 'four' });
  await finish(waiting.messageId, 'processing');
  return { answered, failed, retried, mixed, waiting };
}

const counts = (partial: Record<string, number>) => ({
  pending: 0,
  processing: 0,
  complete: 0,
  failed: 0,
  cancelled: 0,
  ...partial,
});

describeEachBackend('thread list', (hubs) => {
  it('shows per thread the modules asked and its replies by status, with the newest reply', async () => {
    const hub = await hubs.open();
    const w = await fourThreads(hub);
    const threads = await hub.threads.list();
    expect(threads.map((t) => t.id)).toEqual([
      w.waiting.threadId,
      w.mixed.threadId,
      w.failed.threadId,
      w.answered.threadId,
    ]);
    const [waiting, mixed, failed, answered] = threads;
    expect(answered).toMatchObject({ asked: ['arangodb'], replies: counts({ complete: 1 }) });
    expect(answered?.latestReply).toMatchObject({ module: 'arangodb', status: 'complete' });
    expect(failed).toMatchObject({ asked: ['arangodb'], replies: counts({ failed: 1, pending: 1 }) });
    expect(failed?.latestReply).toMatchObject({ module: 'arangodb', status: 'pending' });
    expect(mixed).toMatchObject({ asked: ['arangodb', 'reviewer'], replies: counts({ complete: 1, cancelled: 1 }) });
    expect(mixed?.latestReply).toMatchObject({ module: 'reviewer', status: 'cancelled' });
    expect(waiting).toMatchObject({ asked: ['marker'], replies: counts({ processing: 1 }), createdBy: 'reviewer' });

    const empty = await hub.threads.create({ title: 'nobody asked yet' });
    expect((await hub.threads.list({ limit: 1 }))[0]).toMatchObject({
      id: empty.id,
      asked: [],
      replies: counts({}),
      latestReply: null,
    });
  });

  it('filters by the module asked and by reply status, alone and together', async () => {
    const hub = await hubs.open();
    const w = await fourThreads(hub);
    const ids = async (options: Parameters<Hub['threads']['list']>[0]) =>
      (await hub.threads.list(options)).map((t) => t.id);

    expect(await ids({ module: 'arangodb' })).toEqual([w.mixed.threadId, w.failed.threadId, w.answered.threadId]);
    expect(await ids({ module: 'reviewer' })).toEqual([w.mixed.threadId]);
    // Asking is not being asked: marker asked in three threads but was asked in one.
    expect(await ids({ module: 'marker' })).toEqual([w.waiting.threadId]);
    expect(await ids({ module: 'nobody' })).toEqual([]);
    expect(await ids({ status: ['failed'] })).toEqual([w.failed.threadId]);
    expect(await ids({ status: ['cancelled'] })).toEqual([w.mixed.threadId]);
    expect(await ids({ status: ['failed', 'cancelled'] })).toEqual([w.mixed.threadId, w.failed.threadId]);
    expect(await ids({ status: ['pending', 'processing'] })).toEqual([w.waiting.threadId, w.failed.threadId]);
    expect(await ids({ status: ['processing'] })).toEqual([w.waiting.threadId]);
    expect(await ids({ status: ['complete'] })).toEqual([w.mixed.threadId, w.answered.threadId]);
    expect(await ids({ status: ['complete', 'failed'] })).toEqual([
      w.mixed.threadId,
      w.failed.threadId,
      w.answered.threadId,
    ]);
    // Together, one reply must match both: arangodb's reply in `mixed` is complete, reviewer's is cancelled.
    expect(await ids({ module: 'arangodb', status: ['cancelled'] })).toEqual([]);
    expect(await ids({ module: 'reviewer', status: ['cancelled'] })).toEqual([w.mixed.threadId]);
    expect(await ids({ module: 'arangodb', status: ['pending'] })).toEqual([w.failed.threadId]);
    expect(await ids({ module: 'arangodb', status: ['complete'], limit: 1 })).toEqual([w.mixed.threadId]);
    expect(await ids({ status: ['failed', 'cancelled'], limit: 1 })).toEqual([w.mixed.threadId]);
    // The filtered list has the same summaries as the whole one.
    const [mixed] = await hub.threads.list({ status: ['cancelled'] });
    expect(mixed).toEqual((await hub.threads.list()).find((t) => t.id === w.mixed.threadId));
  });

  it('filters within what a module may see', async () => {
    const hub = await hubs.open();
    const w = await fourThreads(hub);
    const ids = async (options: Parameters<Hub['threads']['list']>[0]) =>
      (await hub.threads.list(options)).map((t) => t.id);
    // reviewer sees `mixed` (asked in it) and `waiting` (opened it), not marker's threads with arangodb.
    expect(await ids({ visibleTo: 'reviewer' })).toEqual([w.waiting.threadId, w.mixed.threadId]);
    expect(await ids({ visibleTo: 'reviewer', module: 'arangodb' })).toEqual([w.mixed.threadId]);
    expect(await ids({ visibleTo: 'reviewer', status: ['failed', 'pending'] })).toEqual([]);
    expect(await ids({ visibleTo: 'reviewer', status: ['processing'] })).toEqual([w.waiting.threadId]);
    expect(await ids({ visibleTo: 'arangodb', status: ['processing'] })).toEqual([]);
  });

  it('refuses a bad filter, naming it', async () => {
    const hub = await hubs.open();
    const refused = (options: unknown) =>
      hub.threads.list(options as Parameters<Hub['threads']['list']>[0]).then(
        () => 'accepted',
        (err: { code: string; message: string }) => `${err.code}: ${err.message}`,
      );
    expect(await refused({ module: 'no spaces' })).toMatch(/^validation: module must be a module name/);
    expect(await refused({ status: ['done'] })).toMatch(/^validation: status must be one of pending, processing/);
    expect(await refused({ status: ['paused'] })).toMatch(/^validation: status must be one of/);
    expect(await refused({ status: [] })).toMatch(/^validation: status must name at least one/);
    expect(await refused({ limit: 0 })).toMatch(/^validation: limit must be between 1 and 1000/);
  });
});
