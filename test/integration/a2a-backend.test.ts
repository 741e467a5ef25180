// A module whose agent is a remote A2A agent (backend: a2a), on every backend, against a real A2A server made of the
// official SDK's server pieces (test/support/a2a-remote.ts): a question answered with streamed text, a follow-up
// continuing the remote context, cancel and silence passed on as cancelTask, a bearer token sent, a remote that does
// not stream or speaks only v0.3, and an unreachable or misbehaving remote failing the reply with a reason and
// turning the module unhealthy. A hostile remote gets nothing it asks for: the token is not sent to an endpoint its
// card names elsewhere, redirects are not followed, a huge card or error is not read past 1 MiB, and status
// updates alone do not keep a run alive.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { HUGE_BYTES, type RemoteAgent, type RemoteAgentOptions, startRemoteAgent } from '../support/a2a-remote.js';
import { describeEachBackend } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { readLog, until } from '../support/wait.js';

const remotes: RemoteAgent[] = [];
afterEach(async () => {
  await Promise.all(remotes.splice(0).map((r) => r.close()));
});

/** A remote agent, closed after the test. */
async function remote(options: RemoteAgentOptions = {}): Promise<RemoteAgent> {
  const agent = await startRemoteAgent(options);
  remotes.push(agent);
  return agent;
}

/** Registers `name` as the remote agent at `url`. */
async function a2aModule(hub: Hub, name: string, url: string, extra: Record<string, unknown> = {}): Promise<void> {
  await hub.modules.register({
    name,
    description: 'a remote agent',
    config: { backend: 'a2a', cwd: process.cwd(), url, ...extra },
  });
}

/** Asks `to` and waits for the reply to end. */
async function askAndWait(hub: Hub, to: string, prompt: string, threadId?: string) {
  const asked = await hub.ask({ from: 'marker', to, prompt, ...(threadId ? { threadId } : {}) });
  const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
  return { asked, done };
}

describeEachBackend('a2a backend', (hubs) => {
  it('answers a question with the text the remote streams, its working status in the task log', async () => {
    const agent = await remote();
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url, { skill: 'answer' });
    await hub.startWorker();
    const { asked, done } = await askAndWait(hub, 'remote', 'Which structure?');
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('Question 1 in this context. You asked: Which structure?.');
    // Streamed: the content arrived in more than one piece, as the remote sent it.
    const deltas = (await readLog(hub))
      .filter((e) => e.type === 'message.content_updated' && e.messageId === asked.messageId)
      .map((e) => payload(e).delta as string);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(done.message.content);
    const logged = (await readLog(hub)).filter((e) => e.type === 'task.logged').map((e) => payload(e).text);
    expect(logged).toContain('Thinking about it');
    // The skill and the hub's instructions ride along as the message's metadata.
    expect(agent.seen[0]?.metadata).toMatchObject({
      skill: 'answer',
      claudeComms: { systemPrompt: expect.any(String) },
    });
  });

  it('continues the remote context with a follow-up in the same thread', async () => {
    const agent = await remote();
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url);
    await hub.startWorker();
    const first = await askAndWait(hub, 'remote', 'First?');
    const second = await askAndWait(hub, 'remote', 'And then?', first.asked.threadId);
    expect(second.done.message.content).toBe('Question 2 in this context. You asked: And then?.');
    const [one, two] = agent.seen;
    expect(one?.contextId).toBeTruthy();
    expect(two?.contextId).toBe(one?.contextId);
    // The remote context is the thread's agent session, shown on the task.
    expect((await hub.tasks.get(second.asked.taskId)).sessionId).toBe(one?.contextId);
    // A new thread starts a new remote context.
    const other = await askAndWait(hub, 'remote', 'Elsewhere?');
    expect(other.done.message.content).toMatch(/^Question 1 in this context/);
    expect(agent.seen[2]?.contextId).not.toBe(one?.contextId);
  });

  it('passes a cancel on to the remote task', async () => {
    const agent = await remote({ behaviour: 'hang' });
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'remote', prompt: 'Take your time' });
    // The remote's task is known to the run once its context is the task's session.
    await until(async () => (await hub.tasks.get(asked.taskId)).sessionId !== null, 10_000, 'the remote task');
    await hub.messages.cancel(asked.messageId);
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    expect(done.status).toBe('cancelled');
    await until(() => agent.cancelled.length === 1, 10_000, 'the remote to be told to cancel');
    expect(agent.cancelled).toEqual([agent.seen[0]?.taskId]);
  });

  it('fails a reply whose remote stays silent past idleTimeoutMs, and cancels its task there', async () => {
    const agent = await remote({ behaviour: 'hang' });
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url, { idleTimeoutMs: 1000 });
    await hub.startWorker();
    const { asked, done } = await askAndWait(hub, 'remote', 'Anyone?');
    expect(done.status).toBe('failed');
    expect(done.message.error).toBe('nothing from the agent for 1000 ms');
    expect((await hub.tasks.get(asked.taskId)).status).toBe('failed');
    await until(() => agent.cancelled.length === 1, 10_000, 'the remote to be told to cancel');
  });

  it('stops a remote that only ever says it is working at idleTimeoutMs, its statuses in the task log', async () => {
    const agent = await remote({ behaviour: 'status-forever' });
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url, { idleTimeoutMs: 1000 });
    await hub.startWorker();
    const { asked, done } = await askAndWait(hub, 'remote', 'Done yet?');
    expect(done.status).toBe('failed');
    expect(done.message.error).toBe('nothing from the agent for 1000 ms');
    const logged = (await readLog(hub))
      .filter((e) => e.type === 'task.logged' && e.taskId === asked.taskId)
      .map((e) => payload(e).text);
    expect(logged).toContain('Still working (2)');
    await until(() => agent.cancelled.length === 1, 10_000, 'the remote to be told to cancel');
  });

  it('sends the token only to the origin of url: a card naming its endpoint elsewhere is refused with a token', async () => {
    // The endpoint elsewhere takes any request, and records what it is sent.
    const elsewhere = await remote();
    const agent = await remote({ token: 's3cret', cardEndpoint: `${elsewhere.url}/a2a` });
    const hub = await hubs.open();
    await a2aModule(hub, 'withtoken', agent.url, { token: 's3cret' });
    await a2aModule(hub, 'notoken', agent.url);
    await hub.startWorker({ healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
    await until(
      async () => (await hub.modules.get('withtoken')).health === 'unhealthy',
      10_000,
      'the module with a token unhealthy',
    );
    expect((await hub.modules.get('withtoken')).healthError).toBe(
      `A2A agent ${agent.url}: the card at ${agent.url}/.well-known/agent-card.json names its endpoint on another ` +
        `origin ${elsewhere.url}; the module's token is sent only to ${agent.url}, the card's origin`,
    );
    // The card itself came from the module's origin, token and all; nothing reached the other origin with it.
    expect(agent.authorizations).toContain('Bearer s3cret');
    expect(elsewhere.authorizations).not.toContain('Bearer s3cret');
    // Without a token there is nothing to leak: the card may send the hub where it likes.
    const { done } = await askAndWait(hub, 'notoken', 'Where?');
    expect(done.status).toBe('complete');
    expect(elsewhere.seen.map((m) => m.text)).toEqual(['Where?']);
    expect(elsewhere.authorizations).toEqual([undefined]);
  });

  it.each(['card', 'rpc'] as const)(
    'does not follow a redirect of the %s, failing the reply and naming where it pointed',
    async (what) => {
      // What the redirect points at: a service of the hub's network, whose answer must not become the reply.
      const inside = await remote();
      const to = what === 'card' ? `${inside.url}/.well-known/agent-card.json` : `${inside.url}/a2a`;
      const agent = await remote({ redirect: { what, to } });
      const hub = await hubs.open();
      await a2aModule(hub, 'remote', agent.url, { token: 's3cret' });
      await hub.startWorker({ healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
      const error = `A2A agent ${agent.url}: answered with a redirect to ${to}; redirects are not followed`;
      if (what === 'card') {
        await until(async () => (await hub.modules.get('remote')).health === 'unhealthy', 10_000, 'unhealthy');
        expect((await hub.modules.get('remote')).healthError).toBe(error);
      } else {
        const { done } = await askAndWait(hub, 'remote', 'Inside?');
        expect(done.status).toBe('failed');
        expect(done.message.error).toBe(error);
      }
      expect(inside.authorizations).toEqual([]);
      expect(inside.seen).toEqual([]);
    },
  );

  it.each(['card', 'card-with-length'] as const)(
    'refuses a card larger than 1 MiB (%s) without reading it all, and marks the module unhealthy',
    async (huge) => {
      const agent = await remote({ huge });
      const hub = await hubs.open();
      await a2aModule(hub, 'remote', agent.url);
      await hub.startWorker({ healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
      await until(async () => (await hub.modules.get('remote')).health === 'unhealthy', 10_000, 'unhealthy');
      expect((await hub.modules.get('remote')).healthError).toBe(
        `A2A agent ${agent.url}: its card is larger than 1 MiB`,
      );
      // The hub stopped reading: the server could not write all of it (only what the sockets buffer, some MB).
      await sleep(200);
      expect(agent.hugeBytesWritten()).toBeLessThan(HUGE_BYTES);
    },
  );

  it('refuses an error answer larger than 1 MiB, failing the reply', async () => {
    const agent = await remote({ huge: 'error' });
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url);
    await hub.startWorker();
    const { done } = await askAndWait(hub, 'remote', 'Big?');
    expect(done.status).toBe('failed');
    expect(done.message.error).toBe(`A2A agent ${agent.url}: its answer is larger than 1 MiB`);
  });

  it('sends the bearer token, from the module settings or from the environment variable named', async () => {
    const agent = await remote({ token: 's3cret' });
    const hub = await hubs.open();
    await a2aModule(hub, 'literal', agent.url, { token: 's3cret' });
    await a2aModule(hub, 'fromenv', agent.url, { tokenEnv: 'CC_TEST_A2A_TOKEN' });
    await a2aModule(hub, 'without', agent.url);
    await a2aModule(hub, 'wrong', agent.url, { token: 'guess' });
    process.env.CC_TEST_A2A_TOKEN = 's3cret';
    try {
      await hub.startWorker({ unhealthyAfter: 5 });
      for (const name of ['literal', 'fromenv']) {
        expect((await askAndWait(hub, name, 'Authorised?')).done.status).toBe('complete');
      }
    } finally {
      delete process.env.CC_TEST_A2A_TOKEN;
    }
    expect(agent.authorizations).toContain('Bearer s3cret');
    expect(agent.seen).toHaveLength(2);
    for (const [name, why] of [
      ['without', 'it needs a token (token or tokenEnv)'],
      ['wrong', 'the token was not accepted'],
    ]) {
      const refused = (await askAndWait(hub, name as string, 'Authorised?')).done;
      expect(refused.status).toBe('failed');
      expect(refused.message.error).toBe(
        `A2A agent ${agent.url}: ${agent.url}/a2a refused the request (HTTP 401): ${why}`,
      );
    }
    // Unset, the variable named is a matter of configuration: the module is unhealthy at once, saying which.
    const missing = (await askAndWait(hub, 'fromenv', 'Again?')).done;
    expect(missing.message.error).toBe(
      `A2A agent ${agent.url}: the environment variable CC_TEST_A2A_TOKEN (tokenEnv) is not set`,
    );
    expect((await hub.modules.get('fromenv')).health).toBe('unhealthy');
  });

  it('fails replies to an unreachable remote, naming the URL, and marks the module unhealthy', async () => {
    const agent = await remote();
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url);
    await hub.startWorker({ unhealthyAfter: 2, healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
    expect((await askAndWait(hub, 'remote', 'Up?')).done.status).toBe('complete');
    await agent.close();
    for (const prompt of ['Still there?', 'Hello?']) {
      const { done } = await askAndWait(hub, 'remote', prompt);
      expect(done.status).toBe('failed');
      expect(done.message.error).toBe(`A2A agent ${agent.url}: cannot reach it (ECONNREFUSED)`);
    }
    const module = await hub.modules.get('remote');
    expect(module.health).toBe('unhealthy');
    expect(module.healthError).toMatch(/^runs keep failing \(agent_error\): 2 failed runs in a row/);
  });

  it('checks the card when the worker starts: a remote not there, or without the skill, is unhealthy at once', async () => {
    const gone = await remote();
    await gone.close();
    const agent = await remote();
    const hub = await hubs.open();
    await a2aModule(hub, 'gone', gone.url);
    await a2aModule(hub, 'unskilled', agent.url, { skill: 'translate' });
    await hub.startWorker({ healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
    await until(
      async () => (await hub.modules.list()).every((m) => m.health === 'unhealthy'),
      10_000,
      'both modules unhealthy',
    );
    expect((await hub.modules.get('gone')).healthError).toBe(`A2A agent ${gone.url}: cannot reach it (ECONNREFUSED)`);
    expect((await hub.modules.get('unskilled')).healthError).toBe(
      `A2A agent ${agent.url}: the agent at ${agent.url}/.well-known/agent-card.json has no skill "translate" (its skills: answer)`,
    );
    // Its work waits rather than failing.
    const asked = await hub.ask({ from: 'marker', to: 'unskilled', prompt: 'Hola?' });
    await sleep(300);
    expect(((await hub.messages.get(asked.messageId)) as { status: string }).status).toBe('pending');
    expect(agent.seen).toEqual([]);
  });

  it.each([
    ['card', 'the agent card at {url}/.well-known/agent-card.json is not JSON: is it an A2A agent?'],
    ['rpc', 'Failed to parse SSE event data'],
  ] as const)(
    'fails replies to a remote whose %s is garbage, and marks the module unhealthy',
    async (garbage, error) => {
      const agent = await remote();
      const hub = await hubs.open();
      await a2aModule(hub, 'remote', agent.url);
      await hub.startWorker({ unhealthyAfter: 2, healthBackoffMs: 60_000, healthBackoffMaxMs: 60_000 });
      // Healthy to begin with (a garbage card would fail the worker's first check): it goes bad once served.
      expect((await askAndWait(hub, 'remote', 'Fine?')).done.status).toBe('complete');
      agent.misbehave(garbage);
      for (const prompt of ['One?', 'Two?']) {
        const { done } = await askAndWait(hub, 'remote', prompt);
        expect(done.status).toBe('failed');
        expect(done.message.error).toContain(`A2A agent ${agent.url}: `);
        expect(done.message.error).toContain(error.replace('{url}', agent.url));
      }
      expect((await hub.modules.get('remote')).health).toBe('unhealthy');
    },
  );

  it('fails a reply when the remote fails its task, or asks the asker something back', async () => {
    for (const behaviour of ['fail', 'ask-back'] as const) {
      const agent = await remote({ behaviour });
      const hub = await hubs.open();
      await a2aModule(hub, 'remote', agent.url);
      await hub.startWorker();
      const { done } = await askAndWait(hub, 'remote', 'Well?');
      expect(done.status).toBe('failed');
      expect(done.message.error).toBe(
        behaviour === 'fail'
          ? `A2A agent ${agent.url}: the task failed: the index is corrupt`
          : `A2A agent ${agent.url}: the agent asks for more input, which the hub cannot give for the asker: Which version?`,
      );
    }
  });

  it.each([
    ['does not stream (a blocking SendMessage)', { streaming: false }],
    ['speaks A2A v0.3 only', { legacy: true }],
    ['speaks A2A v0.3 only and does not stream', { legacy: true, streaming: false }],
  ])('answers through a remote that %s', async (_, options) => {
    const agent = await remote(options);
    const hub = await hubs.open();
    await a2aModule(hub, 'remote', agent.url);
    await hub.startWorker();
    const first = await askAndWait(hub, 'remote', 'Well?');
    expect(first.done.status).toBe('complete');
    expect(first.done.message.content).toBe('Question 1 in this context. You asked: Well?.');
    const second = await askAndWait(hub, 'remote', 'Again?', first.asked.threadId);
    expect(second.done.message.content).toBe('Question 2 in this context. You asked: Again?.');
  });
});
