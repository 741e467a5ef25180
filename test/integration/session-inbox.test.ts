// Interactive modules (backend: session) and asks made from inside an answer, on every backend. A question to an
// interactive module waits in its inbox (no worker runs it) until `answer`: parts stream into the reply, the last
// completes it and its task; a schema is checked before the answer completes; cancel and the module's timeoutMs
// end it as any reply; a finished reply refuses more. Asks with `via` follow the chain back: A → B → A and chains
// deeper than the limit are refused with `conflict`, naming the chain. Asks by capability name the module chosen.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { MAX_ASK_DEPTH } from '../../src/store/ask-chain.js';
import { describeEachBackend } from '../support/backends.js';
import { until } from '../support/wait.js';

async function sessionModule(hub: Hub, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), `cc-${name}-`));
  await hub.modules.register({
    name,
    description: `${name}, answered by hand`,
    config: { backend: 'session', cwd, ...extra },
  });
}

describeEachBackend('interactive modules and nested asks', (hubs) => {
  it('keeps questions in the inbox until the session answers, streamed in parts', async () => {
    const hub = await hubs.open();
    await sessionModule(hub, 'arangodb', { capabilities: ['graph'] });
    await hub.startWorker();
    const asked = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'Which fields do you need?\nDetails follow.',
    });
    // No worker takes it: it stays pending in the inbox.
    await new Promise((r) => setTimeout(r, 300));
    expect((await hub.messages.require(asked.messageId)).status).toBe('pending');
    const [item, ...rest] = await hub.inbox('arangodb');
    expect(rest).toEqual([]);
    expect(item).toMatchObject({
      replyId: asked.messageId,
      threadId: asked.threadId,
      taskId: asked.taskId,
      from: 'marker',
      question: 'Which fields do you need?\nDetails follow.',
      status: 'pending',
      content: '',
      schema: null,
    });
    expect(Date.parse(item?.expiresAt ?? '') - Date.parse(item?.askedAt ?? '')).toBe(30 * 60_000);

    const part = await hub.answer(asked.messageId, { content: 'Titles, ', final: false });
    expect(part).toMatchObject({ status: 'processing', content: 'Titles, ' });
    expect((await hub.tasks.get(asked.taskId)).status).toBe('processing');
    expect((await hub.inbox('arangodb'))[0]).toMatchObject({ status: 'processing', content: 'Titles, ' });
    const done = await hub.answer(asked.messageId, { content: 'sections and tables.' });
    expect(done).toMatchObject({ status: 'complete', content: 'Titles, sections and tables.' });
    expect((await hub.tasks.get(asked.taskId)).status).toBe('complete');
    expect(await hub.inbox('arangodb')).toEqual([]);
    const deltas = (await hub.events.list({ messageId: asked.messageId, types: ['message.content_updated'] })).events;
    expect(deltas.map((e) => (e.data as { delta: string }).delta)).toEqual(['Titles, ', 'sections and tables.']);

    // Finished: more is refused, naming why.
    await expect(hub.answer(asked.messageId, { content: 'more' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is complete; it can no longer be answered'),
    });
    // Asked by capability, the ask lands in the same inbox.
    const routed = await hub.ask({ from: 'marker', capability: 'graph', prompt: 'again?' });
    expect((await hub.messages.require(routed.messageId)).author).toBe('arangodb');
  });

  it('checks a structured answer before it completes, and refuses other modules and backends', async () => {
    const hub = await hubs.open();
    await sessionModule(hub, 'arangodb');
    const schema = {
      type: 'object',
      required: ['fields'],
      properties: { fields: { type: 'array', items: { type: 'string' } } },
    };
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'fields?', schema });
    expect((await hub.inbox('arangodb'))[0]?.schema).toEqual(schema);
    await expect(hub.answer(asked.messageId, { content: '' })).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.answer(asked.messageId, { content: '{"fields": "title"}' })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('/fields'),
    });
    // Nothing of the refused answer was kept; the reply waits for a corrected one.
    expect(await hub.messages.require(asked.messageId)).toMatchObject({ status: 'pending', content: '' });
    const done = await hub.answer(asked.messageId, { content: 'Here: ```json\n{"fields": ["title", "page"],}\n```' });
    expect(done).toMatchObject({ status: 'complete', value: { fields: ['title', 'page'] } });
    expect(done.validation).toMatchObject({ valid: true });

    const other = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'who?' });
    await expect(hub.answer(other.messageId, { content: 'x' }, { as: 'marker' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await hub.modules.register({ name: 'worker-run', config: { backend: 'command', cwd: tmpdir(), command: 'true' } });
    await expect(hub.inbox('worker-run')).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('not interactive'),
    });
    const question = (await hub.messages.list({ threadId: other.threadId })).find((m) => m.role === 'user');
    await expect(hub.answer(question?.id ?? '', { content: 'x' })).rejects.toMatchObject({ code: 'validation' });
    await expect(
      hub.answer(other.messageId, { content: 'x', final: 'yes' as unknown as boolean }),
    ).rejects.toMatchObject({
      code: 'validation',
    });
  });

  it('ends unanswered questions as any reply: cancelled, or failed with timeout', async () => {
    const hub = await hubs.open();
    await sessionModule(hub, 'slow', { timeoutMs: 1000 });
    const cancelled = await hub.ask({ from: 'marker', to: 'slow', prompt: 'never mind' });
    await hub.messages.cancel(cancelled.messageId);
    await expect(hub.answer(cancelled.messageId, { content: 'late' })).rejects.toMatchObject({ code: 'conflict' });
    const late = await hub.ask({ from: 'marker', to: 'slow', prompt: 'in time?' });
    await hub.answer(late.messageId, { content: 'starting', final: false });
    await hub.startWorker({ leaseMs: 900 });
    await until(async () => (await hub.messages.require(late.messageId)).status === 'failed', 10_000, 'the timeout');
    expect(await hub.messages.require(late.messageId)).toMatchObject({
      error: 'not answered within 1000 ms (module slow’s timeoutMs)'.replace('’', "'"),
    });
    expect(await hub.tasks.get(late.taskId)).toMatchObject({ status: 'failed' });
    expect(await hub.inbox('slow')).toEqual([]);
  });

  it('refuses an ask that would wait on its own asker, or nest too deep', async () => {
    const hub = await hubs.open();
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) await sessionModule(hub, name);
    const first = await hub.ask({ from: 'a', to: 'b', prompt: 'b, please' });
    // b, answering a, asks a: a waits for b.
    await expect(hub.ask({ from: 'b', to: 'a', prompt: 'a?', via: first.messageId })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('would wait on its own asker (a → b → a)'),
    });
    // b asking itself from inside its own answer waits on itself.
    await expect(hub.ask({ from: 'b', to: 'b', prompt: 'me?', via: first.messageId })).rejects.toMatchObject({
      code: 'conflict',
    });
    // `via` must be the asker's own reply, and exist.
    await expect(hub.ask({ from: 'c', to: 'd', prompt: 'x', via: first.messageId })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(
      hub.ask({ from: 'b', to: 'c', prompt: 'x', via: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    // A chain as deep as the limit goes; one more is refused.
    let via = first.messageId;
    const chain = ['b', 'c', 'd', 'e', 'f'];
    for (let i = 0; i + 1 < MAX_ASK_DEPTH; i++) {
      const next = await hub.ask({ from: chain[i] as string, to: chain[i + 1] as string, prompt: 'deeper', via });
      via = next.messageId;
    }
    await expect(hub.ask({ from: 'e', to: 'f', prompt: 'deepest', via })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`at most ${MAX_ASK_DEPTH} deep`),
    });
    expect(await hub.tasks.list({ module: 'f' })).toEqual([]);
  });

  it('routes an ask by capability past its asker and the modules waiting up its chain', async () => {
    const hub = await hubs.open();
    for (const name of ['alpha', 'beta', 'gamma']) await sessionModule(hub, name, { capabilities: ['echo'] });
    // alpha comes first by name and is as idle as any: still not routed back to itself.
    const first = await hub.ask({ from: 'alpha', capability: 'echo', prompt: 'anyone?' });
    expect((await hub.messages.require(first.messageId)).author).toBe('beta');
    // beta, answering alpha, asks for echo: alpha waits up the chain, beta is the asker; gamma takes it.
    const nested = await hub.ask({ from: 'beta', capability: 'echo', prompt: 'and you?', via: first.messageId });
    expect((await hub.messages.require(nested.messageId)).author).toBe('gamma');
    // gamma, answering beta, has no one left to route to: each is named with why.
    await expect(
      hub.ask({ from: 'gamma', capability: 'echo', prompt: 'more?', via: nested.messageId }),
    ).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/alpha is waiting for an answer up this ask chain.*gamma is the asker/),
    });
  });
});
