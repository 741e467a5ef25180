// The scope rule in the store, on every backend: what `visibleTo` lets a module see in lists, history pages and
// live subscriptions — and that a live subscription scoped to a module gets exactly what a scoped page of
// history holds for the same stretch of the log, writes from another hub included.
import { expect, it } from 'vitest';
import type { HubEvent } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { readLog, until } from '../support/wait.js';

describeEachBackend('visibility', (hubs) => {
  it('restrict threads, messages, tasks and stats to what a module opened, wrote in, or owns', async () => {
    const hub = await hubs.open();
    for (const name of ['alpha', 'beta', 'gamma']) await hub.modules.register({ name });
    const mine = await hub.ask({ from: 'alpha', to: 'beta', prompt: 'a' });
    const answered = await hub.ask({ from: 'gamma', to: 'alpha', prompt: 'b' });
    const theirs = await hub.ask({ from: 'beta', to: 'gamma', prompt: 'c' });
    const own = await hub.tasks.create({ name: 'own', module: 'alpha' });
    await hub.tasks.create({ name: 'other', module: 'beta' });
    const sorted = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

    expect(sorted(await hub.threads.list({ visibleTo: 'alpha' }))).toEqual([mine.threadId, answered.threadId].sort());
    expect(sorted(await hub.messages.list({ visibleTo: 'alpha' }))).toEqual(
      [mine.questionId, mine.messageId, answered.questionId, answered.messageId].sort(),
    );
    expect(await hub.messages.list({ threadId: theirs.threadId, visibleTo: 'alpha' })).toEqual([]);
    expect(sorted(await hub.tasks.list({ visibleTo: 'alpha' }))).toEqual([mine.taskId, answered.taskId, own.id].sort());
    expect((await hub.tasks.stats({ visibleTo: 'alpha' })).total).toBe(3);
    expect((await hub.tasks.stats({ visibleTo: 'alpha', module: 'beta' })).total).toBe(1);
    expect(await hub.visibility.message('alpha', theirs.messageId)).toBe(false);
    expect(await hub.visibility.task('alpha', theirs.taskId)).toBe(false);
    expect(await hub.visibility.task('alpha', answered.taskId)).toBe(true);
    expect(await hub.visibility.thread('gamma', theirs.threadId)).toBe(true);
  });

  it('give a scoped live subscription exactly what a scoped page of history holds, with writes from another hub on the database', async () => {
    const hub = await hubs.open();
    const writer = await hubs.open({ database: hub.database });
    for (const name of ['alpha', 'beta', 'gamma']) await hub.modules.register({ name });
    const earlier = await hub.ask({ from: 'beta', to: 'gamma', prompt: 'before alpha joins' });
    const start = await hub.events.head();
    const live: HubEvent[] = [];
    const subscription = await hub.events.subscribe({ after: start, visibleTo: 'alpha' }, (e) => live.push(e));

    for (const w of [hub, writer]) {
      const mine = await w.ask({ from: 'alpha', to: 'beta', prompt: 'mine' });
      await w.messages.transition(mine.messageId, 'processing');
      await w.messages.appendContent(mine.messageId, 'partial answer');
      await w.tasks.log(mine.taskId, { text: 'working' });
      const theirs = await w.ask({ from: 'beta', to: 'gamma', prompt: 'not for alpha' });
      await w.messages.transition(theirs.messageId, 'processing');
      await w.tasks.log(theirs.taskId, { text: 'hidden' });
      await w.tasks.create({ name: 'beta alone', module: 'beta' });
      await w.watches.create({ threadId: mine.threadId, command: 'true' });
    }
    await writer.instances.create('beta');
    await writer.instances.create('alpha');
    // beta asks alpha into the thread beta opened before: from then on it concerns alpha.
    await writer.ask({ from: 'beta', to: 'alpha', prompt: 'join', threadId: earlier.threadId });
    await writer.messages.transition(earlier.messageId, 'processing');
    const end = await writer.tasks.create({ name: 'last', module: 'alpha' });

    await until(() => live.some((e) => e.taskId === end.id));
    subscription.close();
    const history = (await readLog(hub, start, { visibleTo: 'alpha' })).filter((e) => e.seq <= (live.at(-1)?.seq ?? 0));
    expect(live.map((e) => e.seq)).toEqual(history.map((e) => e.seq));
    const kinds = new Set(live.map((e) => e.type));
    expect([...kinds].sort()).toEqual(
      [
        'instance.created',
        'message.content_updated',
        'message.created',
        'message.status_changed',
        'task.created',
        'task.logged',
        'thread.created',
      ].sort(),
    );
    expect(live.filter((e) => e.type === 'instance.created').every((e) => e.module === 'alpha')).toBe(true);
    expect(live.some((e) => payload(e).text === 'hidden' || payload(e).content === 'not for alpha')).toBe(false);
    expect(live.some((e) => e.messageId === earlier.messageId && e.type === 'message.status_changed')).toBe(true);
  });
});
