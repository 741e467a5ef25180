// Conformance: asking with a request id (an idempotency key) — a retry answers the original ask, never a second
// question — and input the database could not store faithfully (lone UTF-16 surrogates) refused, on every backend.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { ageAskRequests } from '../support/ask-requests.js';
import { describeEachBackend } from '../support/backends.js';
import { readLog } from '../support/wait.js';

async function questions(hub: Hub): Promise<number> {
  return (await readLog(hub)).filter((e) => e.type === 'message.created' && e.data.role === 'user').length;
}

describeEachBackend('asking with a request id', (hubs) => {
  const question = { from: 'marker', to: 'arangodb', prompt: 'Which structure?', requestId: 'ask-1' };

  it('answers a retry with the original ask, even once it has been answered; one question is stored', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const first = await hub.ask({ ...question, schema: { type: 'object', required: ['a', 'b'] } });
    expect(first.replayed).toBe(false);
    await hub.messages.transition(first.messageId, 'processing');
    await hub.messages.transition(first.messageId, 'complete');
    // Key order inside the schema does not make it another question.
    const again = await hub.ask({ ...question, schema: { required: ['a', 'b'], type: 'object' } });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await hub.messages.list({ threadId: first.threadId })).toHaveLength(2);
    expect(await questions(hub)).toBe(1);
    expect((await hub.tasks.list()).length).toBe(1);
  });

  it('refuses the same request id for another question with conflict naming the key, writing nothing', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    await hub.ask(question);
    const before = (await readLog(hub)).length;
    for (const change of [{ prompt: 'Something else?' }, { to: 'marker' }, { schema: { type: 'string' } }]) {
      await expect(hub.ask({ ...question, ...change })).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining("request id 'ask-1'"),
      });
    }
    expect((await readLog(hub)).length).toBe(before);
  });

  it('keeps request ids apart per asker and per scope', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const marker = await hub.ask(question);
    const other = await hub.ask({ ...question, from: 'pdf-tools' });
    const token = await hub.ask({ ...question, requestScope: 'token:0190a6a4-0000-7000-8000-000000000001' });
    expect(new Set([marker.messageId, other.messageId, token.messageId]).size).toBe(3);
    expect([marker, other, token].map((a) => a.replayed)).toEqual([false, false, false]);
    expect((await hub.ask({ ...question, requestScope: 'token:0190a6a4-0000-7000-8000-000000000001' })).messageId).toBe(
      token.messageId,
    );
  });

  it('forgets a request id after 24 hours: the same id then asks anew', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const first = await hub.ask(question);
    await ageAskRequests(hub.database, 23);
    expect((await hub.ask(question)).messageId).toBe(first.messageId);
    await ageAskRequests(hub.database, 2);
    const later = await hub.ask(question);
    expect(later).toMatchObject({ replayed: false });
    expect(later.messageId).not.toBe(first.messageId);
    // A different question under the expired id is no conflict either.
    await ageAskRequests(hub.database, 25);
    await expect(hub.ask({ ...question, prompt: 'New?' })).resolves.toMatchObject({ replayed: false });
  });

  it('does not use up the request id when the ask fails', async () => {
    const hub = await hubs.open();
    await expect(hub.ask(question)).rejects.toMatchObject({ code: 'not_found' });
    await hub.modules.register({ name: 'arangodb' });
    await expect(hub.ask(question)).resolves.toMatchObject({ replayed: false });
  });

  it('stores exactly one ask for concurrent duplicates, from one hub and from two hubs on one database', async () => {
    const hub = await hubs.open();
    const second = await hubs.open({ database: hub.database });
    await hub.modules.register({ name: 'arangodb' });
    for (const requestId of ['same-hub', 'two-hubs']) {
      const askers = requestId === 'same-hub' ? [hub, hub, hub, hub] : [hub, second, hub, second];
      const results = await Promise.all(askers.map((h) => h.ask({ ...question, requestId })));
      expect(new Set(results.map((r) => r.messageId)).size).toBe(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    }
    expect(await questions(hub)).toBe(2);
  });

  it('refuses a malformed request id', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    for (const requestId of ['', 'x'.repeat(256), 'tab\there', 'naïve', ' padded ']) {
      await expect(hub.ask({ ...question, requestId })).rejects.toMatchObject({
        code: 'validation',
        message: expect.stringContaining('requestId'),
      });
    }
    expect(await questions(hub)).toBe(0);
  });

  it('refuses lone UTF-16 surrogates in a question, naming where, and stores nothing', async () => {
    const hub = await hubs.open();
    await hub.modules.register({ name: 'arangodb' });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ prompt: 'broken \ud800 text' }, /^prompt: .*surrogate/],
      [{ prompt: 'reversed \udc00\ud800' }, /^prompt: .*surrogate/],
      [
        { schema: { properties: { name: { description: 'x\udfff' } } } },
        /^schema\.properties\.name\.description: .*surrogate/,
      ],
      [{ schema: { enum: ['ok', '\ud83d'] } }, /^schema\.enum\[1\]: .*surrogate/],
      [{ schema: { 'key\ud800': true } }, /^schema: a key .*surrogate/],
    ];
    for (const [change, message] of cases) {
      await expect(hub.ask({ from: 'marker', to: 'arangodb', prompt: 'ok', ...change })).rejects.toMatchObject({
        code: 'validation',
        message: expect.stringMatching(message),
      });
    }
    // A pair is a character like any other.
    await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'smile \ud83d\ude00' });
    const task = await hub.tasks.create({ name: 'log', kind: 'manual' });
    await expect(hub.tasks.log(task.id, { text: 'half \ud83d' })).rejects.toMatchObject({ code: 'validation' });
    expect(await questions(hub)).toBe(1);
    expect((await hub.tasks.list()).length).toBe(2);
  });
});
