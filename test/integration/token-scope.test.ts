import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { HubEvent } from '../../src/index.js';
import type { Service } from '../../src/service/service.js';
import { BACKENDS } from '../support/backends.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

const services: Service[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/**
 * A service whose modules only ask (so replies stay pending): `alpha` asked `beta` (thread `mine`), `beta`
 * asked `gamma` (thread `theirs`), each of alpha and beta has a manual task, and an unscoped watch on beta's
 * thread runs a command holding a secret.
 */
async function world(database: string) {
  const service = await startBareService(database);
  services.push(service);
  const { hub } = service;
  for (const name of ['alpha', 'beta', 'gamma']) await hub.modules.register({ name, description: `the ${name}` });
  const mine = await hub.ask({ from: 'alpha', to: 'beta', prompt: 'alpha asks beta' });
  const theirs = await hub.ask({ from: 'beta', to: 'gamma', prompt: 'beta asks gamma' });
  const alphaTask = await hub.tasks.create({ name: 'alpha work', module: 'alpha' });
  const betaTask = await hub.tasks.create({ name: 'beta work', module: 'beta' });
  const commandWatch = await hub.watches.create({ threadId: theirs.threadId, command: 'echo SECRET-42' });
  return {
    service,
    hub,
    alpha: (await hub.tokens.create({ module: 'alpha' })).token,
    beta: (await hub.tokens.create({ module: 'beta' })).token,
    mine,
    theirs,
    alphaTask,
    betaTask,
    commandWatch,
  };
}

async function call(
  service: Service,
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${service.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {},
  };
}

const ids = (list: unknown) => (list as { id: string }[]).map((x) => x.id).sort();
const notFound = (kind: string, id: string) => ({
  status: 404,
  body: { code: 'not_found', detail: `no ${kind} with id ${id}` },
});

describe.each(BACKENDS)('module-scoped tokens on $name', (backend) => {
  it.skipIf(!backend.available)(
    'list only what alpha may see, answer not_found for the rest, and show every module',
    async () => {
      const w = await world(await backend.freshDatabase());
      const as = (path: string) => call(w.service, w.alpha, path);
      expect(((await as('/modules')).body.modules as { name: string }[]).map((m) => m.name).sort()).toEqual([
        'alpha',
        'beta',
        'gamma',
      ]);
      expect((await as('/modules/gamma')).body).toMatchObject({ name: 'gamma', description: 'the gamma' });

      expect(ids((await as('/threads')).body.threads)).toEqual([w.mine.threadId]);
      // Filters narrow what alpha sees, never widen it: gamma's pending reply is in beta's thread.
      expect(ids((await as('/threads?status=pending')).body.threads)).toEqual([w.mine.threadId]);
      expect(ids((await as('/threads?module=beta&status=pending')).body.threads)).toEqual([w.mine.threadId]);
      expect((await as('/threads?module=gamma')).body.threads).toEqual([]);
      expect(ids((await call(w.service, undefined, '/threads?module=gamma')).body.threads)).toEqual([
        w.theirs.threadId,
      ]);
      expect(((await as('/events?last=1000')).body.events as HubEvent[]).map((e) => e.threadId)).not.toContain(
        w.theirs.threadId,
      );
      expect((await as(`/threads/${w.mine.threadId}`)).status).toBe(200);
      expect(await as(`/threads/${w.theirs.threadId}`)).toMatchObject(notFound('thread', w.theirs.threadId));
      expect(ids((await as('/messages?status=pending')).body.messages)).toEqual([w.mine.messageId]);
      expect(ids((await as('/messages?status=complete')).body.messages)).toEqual([w.mine.questionId]);
      expect((await as(`/messages?threadId=${w.theirs.threadId}`)).body.messages).toEqual([]);
      for (const path of [`/messages/${w.theirs.messageId}`, `/messages/${w.theirs.messageId}/history`]) {
        expect(await as(path)).toMatchObject(notFound('message', w.theirs.messageId));
      }
      expect((await as(`/messages/${w.mine.messageId}`)).body).toMatchObject({ taskId: w.mine.taskId });

      const visibleTasks = [w.mine.taskId, w.alphaTask.id].sort();
      expect(ids((await as('/tasks')).body.tasks)).toEqual(visibleTasks);
      expect(ids((await as('/tasks/export')).body.tasks)).toEqual(visibleTasks);
      expect((await as('/tasks/stats')).body).toMatchObject({ total: 2, byStatus: { pending: 2 } });
      expect(((await as('/progress')).body.tasks as { taskId: string }[]).map((t) => t.taskId).sort()).toEqual(
        visibleTasks,
      );
      for (const task of [w.theirs.taskId, w.betaTask.id]) {
        expect(await as(`/tasks/${task}`)).toMatchObject(notFound('task', task));
        expect(await as(`/tasks/${task}/control`)).toMatchObject(notFound('task', task));
      }
      // Search finds only what alpha may see: its thread, its question and beta's task for it, not beta's asking
      // gamma nor beta's own task.
      const found = (await as('/search?q=asks')).body.hits as { id: string }[];
      expect(ids(found)).toEqual([w.mine.threadId, w.mine.questionId, w.mine.taskId].sort());
      expect(ids((await as('/search?q=work')).body.hits)).toEqual([w.alphaTask.id]);
      expect((await as('/search?q=beta%20asks%20gamma')).body.hits).toEqual([]);
      expect((await as('/search?q=asks&module=beta')).body.hits).toEqual([
        expect.objectContaining({ id: w.mine.taskId }),
      ]);
      expect(ids((await call(w.service, undefined, '/search?q=asks')).body.hits)).toHaveLength(6);
      expect(ids((await as('/tasks?q=work')).body.tasks)).toEqual([w.alphaTask.id]);
      // Unscoped (loopback without a token) still sees everything.
      expect(ids((await call(w.service, undefined, '/threads')).body.threads)).toHaveLength(2);
      expect(ids((await call(w.service, undefined, '/tasks')).body.tasks)).toHaveLength(4);
    },
  );

  it.skipIf(!backend.available)(
    'refuse alpha posting into, cancelling or changing what concerns beta, and let it do its own',
    async () => {
      const w = await world(await backend.freshDatabase());
      const as = (path: string, body?: unknown, method?: string) =>
        call(w.service, w.alpha, path, { body, ...(method ? { method } : {}) });
      const before = (await w.hub.messages.list({ threadId: w.theirs.threadId })).length;
      expect(await as('/ask', { to: 'gamma', prompt: 'sneak in', threadId: w.theirs.threadId })).toMatchObject(
        notFound('thread', w.theirs.threadId),
      );
      expect(await w.hub.messages.list({ threadId: w.theirs.threadId })).toHaveLength(before);
      expect(await as(`/messages/${w.theirs.messageId}/cancel`, {})).toMatchObject(
        notFound('message', w.theirs.messageId),
      );
      expect((await w.hub.messages.require(w.theirs.messageId)).status).toBe('pending');
      const other = w.betaTask.id;
      expect(await as(`/tasks/${other}`, { progress: 50 }, 'PATCH')).toMatchObject(notFound('task', other));
      expect(await as(`/tasks/${other}/log`, { text: 'x' })).toMatchObject(notFound('task', other));
      expect(await as(`/tasks/${other}/complete`, {})).toMatchObject(notFound('task', other));
      expect(await as(`/tasks/${other}/criteria/verify`, { criterion: 0 })).toMatchObject(notFound('task', other));
      expect(await as('/tasks', { name: 'child', parentId: other })).toMatchObject(notFound('task', other));
      expect(await as('/tasks', { name: 'after', dependsOn: [other] })).toMatchObject(notFound('task', other));
      expect(await w.hub.tasks.get(other)).toMatchObject({ progress: 0, status: 'pending' });
      // beta's task for alpha's question: alpha sees it but may not change it.
      expect(await as(`/tasks/${w.mine.taskId}`, { progress: 50 }, 'PATCH')).toMatchObject({
        status: 403,
        body: { code: 'forbidden' },
      });

      expect((await as('/ask', { to: 'beta', prompt: 'follow-up', threadId: w.mine.threadId })).status).toBe(202);
      expect((await as(`/tasks/${w.alphaTask.id}`, { progress: 50 }, 'PATCH')).body).toMatchObject({ progress: 50 });
      expect((await as('/tasks', { name: 'child', parentId: w.alphaTask.id })).status).toBe(201);
      expect((await as(`/messages/${w.mine.messageId}/cancel`, {})).body).toMatchObject({ status: 'cancelled' });

      // Retrying: only what alpha may see, and only as the asker.
      await w.hub.messages.cancel(w.theirs.messageId);
      expect(await as(`/messages/${w.theirs.messageId}/retry`, undefined, 'POST')).toMatchObject(
        notFound('message', w.theirs.messageId),
      );
      expect(await as(`/tasks/${w.theirs.taskId}/retry`, undefined, 'POST')).toMatchObject(
        notFound('task', w.theirs.taskId),
      );
      const asBeta = await call(w.service, w.beta, `/messages/${w.mine.messageId}/retry`, { method: 'POST' });
      expect(asBeta).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      expect(await w.hub.messages.list({ threadId: w.theirs.threadId })).toHaveLength(before);
      const retried = await call(w.service, w.alpha, `/messages/${w.mine.messageId}/retry`, { method: 'POST' });
      expect(retried).toMatchObject({
        status: 202,
        body: { threadId: w.mine.threadId, questionId: w.mine.questionId },
      });
      expect(await w.hub.messages.require(retried.body.messageId as string)).toMatchObject({
        retryOf: w.mine.messageId,
        status: 'pending',
      });
      expect(await call(w.service, w.alpha, `/tasks/${w.mine.taskId}/retry`, { method: 'POST' })).toMatchObject({
        status: 409,
        body: { code: 'conflict' },
      });
    },
  );

  it.skipIf(!backend.available)(
    'show alpha only its own watches, never a command, and refuse watches on what it may not see',
    async () => {
      const w = await world(await backend.freshDatabase());
      const as = (path: string, body?: unknown, method?: string) =>
        call(w.service, w.alpha, path, { body, ...(method ? { method } : {}) });
      const betaWatch = await call(w.service, w.beta, '/watches', {
        body: { threadId: w.theirs.threadId, webhook: 'http://93.184.215.14/hooks' },
      });
      expect(betaWatch.body).toMatchObject({ createdBy: 'beta' });
      const betaWatchId = betaWatch.body.id as string;

      const listed = await as('/watches?all=true');
      expect(listed.body.watches).toEqual([]);
      expect(JSON.stringify(listed.body)).not.toContain('SECRET-42');
      expect(await as(`/watches/${betaWatchId}`, undefined, 'DELETE')).toMatchObject(notFound('watch', betaWatchId));
      expect(await as(`/watches/${w.commandWatch.id}`, undefined, 'DELETE')).toMatchObject(
        notFound('watch', w.commandWatch.id),
      );
      expect(await as(`/watches?messageId=${w.theirs.messageId}`, undefined, 'DELETE')).toMatchObject(
        notFound('message', w.theirs.messageId),
      );
      expect(await as('/watches', { threadId: w.theirs.threadId, webhook: 'http://93.184.215.14/' })).toMatchObject(
        notFound('thread', w.theirs.threadId),
      );
      expect(await as('/watches', { messageId: w.theirs.messageId, webhook: 'http://93.184.215.14/' })).toMatchObject(
        notFound('message', w.theirs.messageId),
      );
      expect(await as('/watches', { module: 'beta', webhook: 'http://93.184.215.14/' })).toMatchObject({
        status: 403,
        body: { code: 'forbidden', detail: expect.stringContaining('only its own replies') },
      });
      expect(await as('/watches', { threadId: w.mine.threadId, command: 'id' })).toMatchObject({ status: 403 });
      expect(await as('/watches', { threadId: w.mine.threadId, webhook: 'http://127.0.0.1:9/' })).toMatchObject({
        status: 403,
        body: { detail: expect.stringContaining('loopback') },
      });
      expect((await w.hub.watches.list()).map((x) => x.id).sort()).toEqual([betaWatchId, w.commandWatch.id].sort());

      const own = await as('/watches', { threadId: w.mine.threadId, webhook: 'http://93.184.215.14/' });
      expect(own).toMatchObject({ status: 201, body: { createdBy: 'alpha', command: null } });
      expect(ids((await as('/watches')).body.watches)).toEqual([own.body.id]);
      expect((await as(`/watches/${own.body.id}`, undefined, 'DELETE')).body).toMatchObject({ id: own.body.id });
      // Unscoped, every watch and its command.
      const all = await call(w.service, undefined, '/watches');
      expect(JSON.stringify(all.body)).toContain('SECRET-42');
      expect(ids(all.body.watches)).toHaveLength(2);
    },
  );

  it.skipIf(!backend.available)('let alpha list and change only its own instances', async () => {
    const w = await world(await backend.freshDatabase());
    const betaInstance = await w.hub.instances.create('beta');
    const alphaInstance = await w.hub.instances.create('alpha');
    const as = (path: string, body?: unknown) => call(w.service, w.alpha, path, { body });
    expect(ids((await as('/instances')).body.instances)).toEqual([alphaInstance.id]);
    expect((await as('/instances?module=beta')).body.instances).toEqual([]);
    expect(await as(`/instances/${betaInstance.id}/terminate`, {})).toMatchObject(
      notFound('instance', betaInstance.id),
    );
    expect((await w.hub.instances.get(betaInstance.id)).state).not.toBe('terminated');
    expect((await as('/instances', { module: 'beta' })).status).toBe(403);
    expect((await as(`/instances/${alphaInstance.id}/pause`, {})).status).toBe(200);
  });

  it.skipIf(!backend.available)(
    'carry only what alpha may see in GET /events and the live WebSocket, also as a thread comes into its view',
    async () => {
      const w = await world(await backend.freshDatabase());
      const hidden = (e: HubEvent) =>
        e.type.startsWith('watch.') ||
        e.threadId === w.theirs.threadId ||
        e.messageId === w.theirs.messageId ||
        e.taskId === w.theirs.taskId ||
        e.taskId === w.betaTask.id;
      const page = await call(w.service, w.alpha, '/events?limit=1000');
      const events = page.body.events as HubEvent[];
      expect(events.filter(hidden)).toEqual([]);
      expect(events.some((e) => e.type === 'module.registered' && e.module === 'gamma')).toBe(true);
      expect(events.some((e) => e.taskId === w.mine.taskId && e.type === 'task.created')).toBe(true);
      expect((await call(w.service, w.alpha, `/events?threadId=${w.theirs.threadId}`)).body.events).toEqual([]);

      const received: HubEvent[] = [];
      const socket = new WebSocket(`${w.service.url.replace('http', 'ws')}/api/v1/ws?token=${w.alpha}`);
      sockets.push(socket);
      const ready = new Promise<void>((resolve) =>
        socket.on('message', (data) => {
          const m = JSON.parse(String(data)) as { type: string; event?: HubEvent };
          if (m.type === 'ready') resolve();
          if (m.event) received.push(m.event);
        }),
      );
      await ready;
      // Once alpha's own change has come through, the stream is live.
      await w.hub.tasks.log(w.alphaTask.id, { text: 'alpha is here' });
      await until(() => received.length > 0);
      // Unseen: beta works on its own and asks gamma in a new thread.
      const elsewhere = await w.hub.ask({ from: 'beta', to: 'gamma', prompt: 'still private' });
      await w.hub.tasks.log(w.betaTask.id, { text: 'private progress' });
      await w.hub.tasks.log(w.theirs.taskId, { text: 'gamma progress' });
      // Seen: beta asks alpha into beta's thread, which from then on concerns alpha.
      const joined = await w.hub.ask({ from: 'beta', to: 'alpha', prompt: 'alpha, help', threadId: w.theirs.threadId });
      await w.hub.messages.transition(w.theirs.messageId, 'processing');
      await w.hub.tasks.log(w.mine.taskId, { text: 'beta on alpha’s question' });
      await until(() => received.some((e) => e.type === 'task.logged' && e.taskId === w.mine.taskId));

      const seen = (e: HubEvent) => `${e.type} ${e.messageId ?? e.threadId ?? e.taskId}`;
      expect(received.map(seen)).toEqual([
        `task.logged ${w.alphaTask.id}`,
        `message.created ${joined.questionId}`,
        `message.created ${joined.messageId}`,
        `task.created ${joined.messageId}`,
        `message.status_changed ${w.theirs.messageId}`,
        `task.logged ${w.mine.messageId}`,
      ]);
      expect(received.some((e) => e.threadId === elsewhere.threadId)).toBe(false);
    },
  );

  it.skipIf(!backend.available)(
    'let alpha start workflows as itself, see and control only its runs, and run only declared commands',
    async () => {
      const w = await world(await backend.freshDatabase());
      const flow = { name: 'scoped', steps: [{ id: 'c', convert: { function: 'collect', args: { x: 1 } } }] };
      const started = await call(w.service, w.alpha, '/runs', { body: { definition: flow } });
      expect(started.status).toBe(201);
      expect(started.body.createdBy).toBe('alpha');
      const theirs = await call(w.service, w.beta, '/runs', { body: { definition: { ...flow, name: 'beta-flow' } } });
      // Alpha sees its run, not beta's, in the list and one by one, and cannot control beta's.
      const list = await call(w.service, w.alpha, '/runs');
      expect((list.body.runs as { id: string }[]).map((r) => r.id)).toEqual([started.body.id]);
      expect((await call(w.service, w.alpha, `/runs/${theirs.body.id}`)).status).toBe(404);
      expect((await call(w.service, w.alpha, `/runs/${theirs.body.id}/cancel`, { method: 'POST' })).status).toBe(404);
      // A program of its own is refused; an undeclared name too, naming what is declared.
      const own = await call(w.service, w.alpha, '/runs', {
        body: { definition: { name: 'own', steps: [{ id: 'x', command: { run: ['/bin/echo', 'hi'] } }] } },
      });
      expect(own.status).toBe(403);
      expect(own.body.detail).toMatch(/declared in config\.yaml/);
      const saved = await call(w.service, w.alpha, '/workflows', {
        body: { definition: { name: 'own', steps: [{ id: 'x', command: { run: ['/bin/echo', 'hi'] } }] } },
      });
      expect(saved.status).toBe(403);
      const undeclared = await call(w.service, w.alpha, '/runs', {
        body: { definition: { name: 'n', steps: [{ id: 'x', command: { name: 'wipe' } }] } },
      });
      expect(undeclared).toMatchObject({
        status: 400,
        body: { detail: expect.stringContaining('no command named wipe') },
      });
    },
  );

  it.skipIf(!backend.available)(
    'let a module decide only the approvals it is named for, or of the runs it started when none is named',
    async () => {
      const w = await world(await backend.freshDatabase());
      const gate = (approvers?: string[]) => ({
        name: 'gate',
        steps: [
          { id: 'ok', approve: { message: 'Go?', ...(approvers ? { approvers } : {}) } },
          { id: 'then', after: ['ok'], convert: { function: 'collect', args: { secret: '{{ inputs.secret }}' } } },
        ],
      });
      const waitFor = async (token: string, id: string) => {
        await until(async () => {
          const run = await call(w.service, token, `/runs/${id}`);
          return (run.body.steps as { status: string }[])[0]?.status === 'waiting';
        });
      };
      // Beta's run, alpha named: alpha decides although it cannot otherwise see beta's runs.
      const named = await call(w.service, w.beta, '/runs', {
        body: { definition: gate(['alpha']), inputs: { secret: 'BETA-ONLY' } },
      });
      await waitFor(w.beta, named.body.id as string);
      expect((await call(w.service, w.alpha, `/runs/${named.body.id}`)).status).toBe(404);
      const byBeta = await call(w.service, w.beta, `/runs/${named.body.id}/steps/ok/approve`, { body: {} });
      expect(byBeta).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      expect(byBeta.body.detail).toMatch(/decided by alpha/);
      const byAlpha = await call(w.service, w.alpha, `/runs/${named.body.id}/steps/ok/approve`, {
        body: { note: 'fine' },
      });
      expect(byAlpha.status).toBe(200);
      // What alpha learns is the decision: not beta's inputs, nor its other steps.
      expect(byAlpha.body.inputs).toEqual({});
      expect((byAlpha.body.steps as unknown[]).length).toBe(1);
      expect((byAlpha.body.steps as { detail: unknown }[])[0]?.detail).toMatchObject({
        approval: { decision: 'approved', by: 'alpha', note: 'fine' },
      });
      // Beta's run, no one named: alpha learns nothing of it; beta decides.
      const plain = await call(w.service, w.beta, '/runs', { body: { definition: gate(), inputs: { secret: 's' } } });
      await waitFor(w.beta, plain.body.id as string);
      expect((await call(w.service, w.alpha, `/runs/${plain.body.id}/steps/ok/reject`, { body: {} })).status).toBe(404);
      // Bad input: a note too long, a field unknown, no JSON at all; a step not waiting.
      const tooLong = await call(w.service, w.beta, `/runs/${plain.body.id}/steps/ok/reject`, {
        body: { note: 'x'.repeat(4001) },
      });
      expect(tooLong.status).toBe(400);
      expect(
        (await call(w.service, w.beta, `/runs/${plain.body.id}/steps/ok/reject`, { body: { by: 'ops' } })).status,
      ).toBe(400);
      const notJson = await fetch(`${w.service.url}/api/v1/runs/${plain.body.id}/steps/ok/reject`, {
        method: 'POST',
        headers: { authorization: `Bearer ${w.beta}`, 'content-type': 'application/json' },
        body: '{"note": ',
      });
      expect(notJson.status).toBe(400);
      expect((await call(w.service, w.beta, `/runs/${plain.body.id}/steps/ok/reject`, { body: {} })).status).toBe(200);
      const again = await call(w.service, w.beta, `/runs/${plain.body.id}/steps/ok/approve`, { body: {} });
      expect(again).toMatchObject({ status: 409, body: { code: 'invalid_transition' } });
    },
  );

  it.skipIf(!backend.available)(
    "reads and answers only its own module's inbox, and asks from inside only its own answers",
    async () => {
      const w = await world(await backend.freshDatabase());
      await w.hub.modules.register({ name: 'desk', config: { backend: 'session', cwd: '/tmp' } });
      const desk = (await w.hub.tokens.create({ module: 'desk' })).token;
      const asked = await w.hub.ask({ from: 'alpha', to: 'desk', prompt: 'desk, please' });
      // Only desk (or an unscoped caller) reads desk's inbox.
      expect((await call(w.service, desk, '/modules/desk/inbox')).body).toMatchObject({
        module: 'desk',
        inbox: [{ replyId: asked.messageId, from: 'alpha', question: 'desk, please' }],
      });
      expect(await call(w.service, w.alpha, '/modules/desk/inbox')).toMatchObject({
        status: 403,
        body: { code: 'forbidden' },
      });
      // alpha cannot answer for desk: as if the reply did not exist.
      const answer = `/messages/${asked.messageId}/answer`;
      expect(await call(w.service, w.alpha, answer, { body: { content: 'forged' } })).toMatchObject(
        notFound('reply', asked.messageId),
      );
      expect(await call(w.service, desk, answer, { body: { content: 'done', extra: 1 } })).toMatchObject({
        status: 400,
        body: { code: 'validation' },
      });
      expect(await call(w.service, desk, answer, { body: { content: 42 } })).toMatchObject({ status: 400 });
      // desk, answering alpha, asks beta from inside its answer: fine; asking alpha back is a loop.
      const via = { from: 'desk', prompt: 'from inside', via: asked.messageId };
      expect((await call(w.service, desk, '/ask', { body: { ...via, to: 'beta' } })).status).toBe(202);
      expect(await call(w.service, desk, '/ask', { body: { ...via, to: 'alpha' } })).toMatchObject({
        status: 409,
        body: { code: 'conflict', detail: expect.stringContaining('alpha → desk → alpha') },
      });
      // beta cannot pass off desk's answer as its own: one it may not see is unknown, as any id it may not see.
      expect(await call(w.service, w.beta, '/ask', { body: { ...via, from: 'beta', to: 'gamma' } })).toMatchObject(
        notFound('message', asked.messageId),
      );
      // One it may see but did not write is refused, naming why.
      expect(await call(w.service, w.alpha, '/ask', { body: { ...via, from: 'alpha', to: 'gamma' } })).toMatchObject({
        status: 400,
        body: { code: 'validation', detail: expect.stringContaining("is module desk's answer") },
      });
      expect((await call(w.service, desk, answer, { body: { content: 'done' } })).body).toMatchObject({
        status: 'complete',
        content: 'done',
      });
    },
  );
});
