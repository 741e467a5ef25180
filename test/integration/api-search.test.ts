// GET /search on a real service, on every backend: hits newest first with their snippets, paged by `next`; bad
// input answered 400 naming the field (never a 500); a web page of another origin refused; `GET /tasks?q=` by the
// same rules. What a module token finds: token-scope.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import type { SearchHit } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { BACKENDS } from '../support/backends.js';
import { startBareService } from '../support/service.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function get(
  service: Service,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${service.url}/api/v1${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each(BACKENDS)('GET /search on $name', (backend) => {
  it.skipIf(!backend.available)('finds hits newest first with their snippets, a page at a time', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    const { hub } = service;
    await hub.modules.register({ name: 'arangodb' });
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which graph index for 10M edges?' });
    await hub.messages.transition(asked.messageId, 'processing');
    await hub.messages.appendContent(asked.messageId, 'A persistent index on _from; graphs of that size need it.');
    await hub.messages.transition(asked.messageId, 'complete');

    const first = await get(service, '/search?q=GRAPH%20ind&limit=2');
    expect(first.status).toBe(200);
    const hits = first.body.hits as SearchHit[];
    expect(hits.map((h) => [h.kind, h.field, h.id])).toEqual([
      ['task', 'name', asked.taskId],
      ['message', 'answer', asked.messageId],
    ]);
    expect(hits[1]).toMatchObject({
      threadId: asked.threadId,
      messageId: asked.messageId,
      taskId: asked.taskId,
      module: 'arangodb',
      status: 'complete',
      snippet: [
        { text: 'A persistent ', match: false },
        { text: 'index', match: true },
        { text: ' on _from; ', match: false },
        { text: 'graphs', match: true },
        { text: ' of that size need it.', match: false },
      ],
    });
    expect(first.body.next).toBe(asked.messageId);
    const second = await get(service, `/search?q=graph%20ind&limit=2&before=${first.body.next}`);
    expect((second.body.hits as SearchHit[]).map((h) => h.id)).toEqual([asked.questionId, asked.threadId]);
    expect(second.body.next).toBe(asked.threadId);
    expect(await get(service, `/search?q=graph&before=${asked.threadId}`)).toEqual({
      status: 200,
      body: { hits: [], next: null },
    });
    // Filters.
    const only = async (query: string) =>
      ((await get(service, `/search?q=graph&${query}`)).body.hits as SearchHit[]).map((h) => h.id);
    expect(await only('kind=thread')).toEqual([asked.threadId]);
    expect(await only('status=complete,pending')).toEqual([asked.taskId, asked.messageId, asked.questionId]);
    expect(await only('module=marker')).toEqual([asked.questionId, asked.threadId]);
    // The task list's q goes by the same words.
    const tasks = await get(service, '/tasks?q=graph%2010m');
    expect((tasks.body.tasks as { id: string }[]).map((t) => t.id)).toEqual([asked.taskId]);
  });

  it.skipIf(!backend.available)('answers bad input 400 naming the field, never a 500', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    await service.hub.threads.create({ title: 'something to find' });
    const cases: [string, RegExp][] = [
      ['/search', /^query\.q: .*expected string/],
      ['/search?q=', /^query\.q: Too small/],
      [`/search?q=${'a'.repeat(10_000)}`, /^query\.q: Too big: expected string to have <=500 characters/],
      ['/search?q=%22%3A*%26%7C!()', /^q holds no word to search for/],
      ['/search?q=%F0%9F%9A%80', /^q holds no word to search for/],
      ['/search?q=%ED%A0%80', /^query\.q: .*UTF-8/],
      ['/search?q=find&kind=file', /^query\.kind: /],
      ['/search?q=find&status=done', /^query\.status: /],
      ['/search?q=find&limit=0', /^query\.limit: /],
      ['/search?q=find&limit=101', /^query\.limit: /],
      ['/search?q=find&limit=ten', /^query\.limit: /],
      ['/search?q=find&module=no%20such', /^module must be a module name/],
      ['/search?q=find&before=not-an-id', /^'not-an-id' is not a valid before/],
      ['/search?q=find&before=01a1fd12-0000-7000-8000-000000000000', /^before names no thread, message or task/],
      ['/search?q=find&sort=old', /^query: unknown field sort/],
      ['/tasks?q=%22*%22', /^q holds no word to search for/],
    ];
    for (const [path, detail] of cases) {
      const answer = await get(service, path);
      expect({ path: path.slice(0, 80), status: answer.status, code: answer.body.code }).toEqual({
        path: path.slice(0, 80),
        status: 400,
        code: 'validation',
      });
      expect(String(answer.body.detail), path.slice(0, 80)).toMatch(detail);
    }
    // Operators of either database's query language are words like any other.
    for (const q of ['"something', 'something*', 'NEAR(something', "something'", 'some:* & find | !x']) {
      const answer = await get(service, `/search?q=${encodeURIComponent(q)}`);
      expect({ q, status: answer.status }).toEqual({ q, status: 200 });
    }
  });

  it.skipIf(!backend.available)('refuses a web page of another origin', async () => {
    const service = await startBareService(await backend.freshDatabase());
    services.push(service);
    await service.hub.threads.create({ title: 'private plans' });
    const port = Number(new URL(service.url).port);
    for (const origin of ['http://evil.example', `http://localhost:${port + 1}`, 'null']) {
      const answer = await get(service, '/search?q=private', { origin });
      expect({ origin, status: answer.status, code: answer.body.code }).toEqual({
        origin,
        status: 403,
        code: 'forbidden',
      });
      expect(JSON.stringify(answer.body)).not.toContain('plans');
    }
    const own = await get(service, '/search?q=private', { origin: service.url });
    expect((own.body.hits as SearchHit[]).map((h) => h.kind)).toEqual(['thread']);
  });
});
