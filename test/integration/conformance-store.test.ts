// Conformance, part 1: threads, messages, tasks and transitions behave the same on every backend.
import { expect, it } from 'vitest';
import { HubError } from '../../src/index.js';
import { openDatabase } from '../../src/store/open.js';
import { describeEachBackend } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { readLog } from '../support/wait.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HubError) return err.code;
    throw err;
  }
  throw new Error('expected a HubError, got success');
}

describeEachBackend('store', (hubs) => {
  it('creates threads and messages, each with its event in the log', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create({ title: 'PDF structure', createdBy: 'marker' });
    const question = await hub.messages.create({
      threadId: thread.id,
      author: 'marker',
      role: 'user',
      content: 'Which structure do you need?',
      status: 'complete',
    });
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    expect(await hub.threads.get(thread.id)).toMatchObject({
      id: thread.id,
      title: 'PDF structure',
      createdBy: 'marker',
    });
    expect(await hub.messages.get(question.id)).toMatchObject({
      status: 'complete',
      content: 'Which structure do you need?',
    });
    expect(await hub.messages.get(reply.id)).toMatchObject({ status: 'pending', content: '', role: 'assistant' });
    expect((await hub.messages.list({ threadId: thread.id })).map((m) => m.id)).toEqual([question.id, reply.id]);
    const events = await readLog(hub);
    expect(events.map((e) => e.type)).toEqual(['thread.created', 'message.created', 'message.created']);
    expect(events[1]?.data).toMatchObject({ content: 'Which structure do you need?', status: 'complete' });
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('answers status unknown for a message that does not exist', async () => {
    const hub = await hubs.open();
    expect(await hub.messages.get('01900000-0000-7000-8000-000000000000')).toEqual({
      id: '01900000-0000-7000-8000-000000000000',
      status: 'unknown',
    });
  });

  it('moves a reply through its lifecycle with times, and records each move as an event', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    const processing = await hub.messages.transition(reply.id, 'processing', { reason: 'worker picked it up' });
    expect(processing.startedAt).not.toBeNull();
    const failed = await hub.messages.transition(reply.id, 'failed', { error: 'agent crashed' });
    expect(failed).toMatchObject({ status: 'failed', error: 'agent crashed' });
    expect(failed.completedAt).not.toBeNull();
    const moves = (await hub.events.list({ messageId: reply.id, types: ['message.status_changed'] })).events;
    expect(moves.map((e) => e.data)).toEqual([
      { from: 'pending', to: 'processing', reason: 'worker picked it up' },
      { from: 'processing', to: 'failed', error: 'agent crashed' },
    ]);
  });

  it('refuses an illegal transition with invalid_transition and changes nothing', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    const before = await readLog(hub);
    expect(await codeOf(hub.messages.transition(reply.id, 'complete'))).toBe('invalid_transition');
    await hub.messages.transition(reply.id, 'cancelled');
    expect(await codeOf(hub.messages.transition(reply.id, 'processing'))).toBe('invalid_transition');
    expect(await hub.messages.get(reply.id)).toMatchObject({ status: 'cancelled' });
    const after = await readLog(hub);
    expect(after.length).toBe(before.length + 1);
  });

  it('streams content as coalesced deltas whose concatenation is the stored content', async () => {
    const hub = await hubs.open({ contentCoalesceMs: 50 });
    const thread = await hub.threads.create();
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    await hub.messages.transition(reply.id, 'processing');
    const parts = Array.from({ length: 200 }, (_, i) => `chunk ${i}; `);
    const started = Date.now();
    await Promise.all(parts.map((p) => hub.messages.appendContent(reply.id, p)));
    const elapsed = Date.now() - started;
    await hub.messages.transition(reply.id, 'complete');
    const message = await hub.messages.get(reply.id);
    expect(message).toMatchObject({ status: 'complete', content: parts.join('') });
    const updates = (await hub.events.list({ messageId: reply.id, types: ['message.content_updated'] })).events;
    expect(updates.map((e) => payload(e).delta).join('')).toBe(parts.join(''));
    expect(payload(updates.at(-1))?.length).toBe(parts.join('').length);
    // 200 appends in one burst become a handful of writes, at most one per 50 ms window after the first.
    expect(updates.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 50));
  });

  it('refuses content past the limit with too_large and writes none of it', async () => {
    const hub = await hubs.open({ maxContentLength: 10 });
    const thread = await hub.threads.create();
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    await hub.messages.transition(reply.id, 'processing');
    await hub.messages.appendContent(reply.id, '12345');
    expect(await codeOf(hub.messages.appendContent(reply.id, '1234567'))).toBe('too_large');
    await hub.messages.appendContent(reply.id, '67890');
    expect((await hub.messages.get(reply.id)) as { content: string }).toMatchObject({ content: '1234567890' });
    expect(await codeOf(hub.messages.create({ threadId: thread.id, author: 'x', content: 'far too long here' }))).toBe(
      'too_large',
    );
    expect(await hub.messages.list({ threadId: thread.id })).toHaveLength(1);
  });

  it('refuses a second message with the same caller-chosen id with conflict, even when racing', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const id = '01900000-0000-7000-8000-0000000000aa';
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => hub.messages.create({ id, threadId: thread.id, author: 'a' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
    }
    expect((await hub.events.list({ messageId: id })).events).toHaveLength(1);
  });

  it('refuses content for a finished message', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const reply = await hub.messages.create({ threadId: thread.id, author: 'arangodb' });
    await hub.messages.transition(reply.id, 'cancelled');
    expect(await codeOf(hub.messages.appendContent(reply.id, 'late'))).toBe('invalid_transition');
  });

  it('names what was wrong for unknown and malformed ids', async () => {
    const hub = await hubs.open();
    const missing = '01900000-0000-7000-8000-000000000001';
    expect(await codeOf(hub.threads.get(missing))).toBe('not_found');
    expect(await codeOf(hub.messages.transition(missing, 'processing'))).toBe('not_found');
    expect(await codeOf(hub.messages.create({ threadId: missing, author: 'marker' }))).toBe('not_found');
    expect(await codeOf(hub.tasks.get(missing))).toBe('not_found');
    await expect(hub.messages.get('not-an-id')).rejects.toThrow("'not-an-id' is not a valid message id");
    await expect(hub.messages.create({ threadId: 'x', author: 'marker' })).rejects.toThrow(
      expect.objectContaining({ code: 'validation' }),
    );
    const thread = await hub.threads.create();
    await expect(hub.messages.create({ threadId: thread.id, author: 'bad name!' })).rejects.toThrow(
      'author must be a module name',
    );
  });

  it('tracks a task: progress, iterations, cost, tokens, files, criteria, log and status', async () => {
    const hub = await hubs.open();
    const task = await hub.tasks.create({
      name: 'Extract tables',
      module: 'marker',
      criteria: ['tables found', 'schema valid'],
      maxIterations: 10,
      maxCostUsd: 2,
    });
    await hub.tasks.transition(task.id, 'processing');
    await hub.tasks.update(task.id, { progress: 40, iteration: 2, costUsd: 0.25, tokensIn: 1200, tokensOut: 300 });
    await hub.tasks.update(task.id, { filesCreated: ['out/a.json'], filesModified: ['src/x.ts'] });
    await hub.tasks.update(task.id, { filesCreated: ['out/a.json', 'out/b.json'] });
    await hub.tasks.verifyCriterion(task.id, 'schema valid');
    await hub.tasks.log(task.id, { text: 'wrote out/a.json', action: 'Write', target: 'out/a.json', success: true });
    const done = await hub.tasks.transition(task.id, 'complete');
    expect(done).toMatchObject({
      status: 'complete',
      progress: 100,
      iteration: 2,
      costUsd: 0.25,
      tokensIn: 1200,
      tokensOut: 300,
      filesCreated: ['out/a.json', 'out/b.json'],
      filesModified: ['src/x.ts'],
      maxIterations: 10,
      maxCostUsd: 2,
    });
    expect(done.criteria.map((c) => [c.text, c.verified])).toEqual([
      ['tables found', false],
      ['schema valid', true],
    ]);
    const types = (await hub.events.list({ taskId: task.id })).events.map((e) => e.type);
    expect(types).toEqual([
      'task.created',
      'task.status_changed',
      'task.progressed',
      'task.progressed',
      'task.progressed',
      'task.criterion_verified',
      'task.logged',
      'task.status_changed',
    ]);
    expect(await codeOf(hub.tasks.update(task.id, { progress: 10 }))).toBe('invalid_transition');
    expect((await hub.tasks.list({ status: 'complete' })).map((t) => t.id)).toEqual([task.id]);
  });

  it('validates task input, naming the field', async () => {
    const hub = await hubs.open();
    const task = await hub.tasks.create({ name: 'x', criteria: ['one'] });
    await expect(hub.tasks.update(task.id, { progress: 140 })).rejects.toThrow(
      'progress must be between 0 and 100, got 140',
    );
    await expect(hub.tasks.update(task.id, { iteration: 1.5 })).rejects.toThrow('iteration must be a whole number');
    await expect(hub.tasks.verifyCriterion(task.id, 3)).rejects.toThrow(expect.objectContaining({ code: 'not_found' }));
    await expect(hub.tasks.create({ name: '' })).rejects.toThrow('name must not be empty');
    expect((await hub.tasks.get(task.id)).progress).toBe(0);
  });

  it('changes a task’s counters and status together, or nothing when the transition is refused', async () => {
    const hub = await hubs.open();
    const task = await hub.tasks.create({ name: 'x' });
    const head = await hub.events.head();
    const refused = hub.tasks.change(task.id, { progress: 60, iteration: 3, filesCreated: ['a.md'], status: 'paused' });
    expect(await codeOf(refused)).toBe('invalid_transition');
    expect(await hub.tasks.get(task.id)).toEqual(task);
    expect((await hub.events.list({ after: head })).events).toEqual([]);

    const changed = await hub.tasks.change(task.id, { progress: 60, iteration: 3, status: 'processing' });
    expect(changed).toMatchObject({ progress: 60, iteration: 3, status: 'processing' });
    const types = (await hub.events.list({ after: head })).events.map((e) => e.type);
    expect(types).toEqual(['task.progressed', 'task.status_changed']);
    expect(await codeOf(hub.tasks.change(task.id, { progress: 90, status: 'nonsense' as never }))).toBe('validation');
    expect((await hub.tasks.get(task.id)).progress).toBe(60);
  });

  it('registers and updates modules', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb', description: 'database layer' });
    await hub.modules.register({
      name: 'arangodb',
      description: 'graph database layer',
      config: { backend: 'command' },
    });
    expect(await hub.modules.list()).toMatchObject([
      { name: 'arangodb', description: 'graph database layer', config: { backend: 'command' }, paused: false },
    ]);
    expect((await readLog(hub)).map((e) => e.type)).toEqual(['module.registered', 'module.updated']);
    await expect(hub.modules.get('marker')).rejects.toThrow('no module named marker');
  });

  it('keeps every change when many writers race on the same records', async () => {
    const hub = await hubs.open();
    const thread = await hub.threads.create();
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => hub.messages.create({ threadId: thread.id, author: 'arangodb' })),
    );
    // Every reply gets two racing transitions: exactly one of them may win.
    const outcomes = await Promise.allSettled(
      replies.flatMap((r) => [hub.messages.transition(r.id, 'processing'), hub.messages.transition(r.id, 'cancelled')]),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled').length;
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won + lost.length).toBe(80);
    for (const o of lost) expect((o as PromiseRejectedResult).reason).toMatchObject({ code: 'invalid_transition' });
    const moves = (await hub.events.list({ types: ['message.status_changed'], limit: 1000 })).events;
    expect(moves.length).toBe(won);
    for (const r of replies) {
      const m = await hub.messages.get(r.id);
      const last = moves.filter((e) => e.messageId === r.id).at(-1);
      expect(m.status).toBe(payload(last)?.to);
    }
  });

  it('appends the events of one transaction in the order they were emitted, beyond one statement’s worth', async () => {
    const hub = await hubs.open();
    const before = (await readLog(hub)).length;
    const db = await openDatabase(hub.database);
    try {
      const count = 2_345;
      const written = await new Promise<import('../../src/index.js').HubEvent[]>((resolve, reject) => {
        db.onCommit(resolve);
        db.write(async (tx) => {
          for (let i = 0; i < count; i++)
            tx.emit({ type: 'thread.created', threadId: `t${i}`, data: { title: `${i}`, createdBy: null } });
        }).catch(reject);
      });
      const seqs = written.map((e) => e.seq);
      expect(written.map((e) => payload(e).title)).toEqual(Array.from({ length: count }, (_, i) => `${i}`));
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => (seqs[0] as number) + i));
      // What the table holds, read back in seq order, is what the commit reported.
      const log = (await readLog(hub)).slice(before);
      expect(log.map((e) => [e.seq, e.threadId, payload(e).title])).toEqual(
        written.map((e) => [e.seq, e.threadId, payload(e).title]),
      );
    } finally {
      await db.close();
    }
  });
});
