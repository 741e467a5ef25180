// Structured asks answered by a real command agent on every backend: the answer parsed as agents write it,
// validated, repaired in rounds of the same reply with the errors, and failed with them after the last round.
import { expect, it } from 'vitest';
import type { Hub } from '../../src/index.js';
import { describeEachBackend } from '../support/backends.js';
import { commandModule } from '../support/modules.js';
import { readLog } from '../support/wait.js';

const SCHEMA = {
  type: 'object',
  properties: {
    collections: { type: 'array', items: { type: 'string' }, minItems: 1 },
    keyPattern: { type: 'string' },
  },
  required: ['collections', 'keyPattern'],
  additionalProperties: false,
};

/** Answers in prose with a broken value (a misspelt and a missing field) until it is told what was wrong. */
const LEARNER = `
let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', () => {
  if (q.includes('does not satisfy')) {
    process.stdout.write('Fixed:\\n\`\`\`json\\n{ "collections": ["documents", "sections"], "keyPattern": "^[a-z]+$" }\\n\`\`\`');
  } else {
    process.stdout.write('Here is what I need: {"colections": ["documents"],} -- hope that helps');
  }
});`;

/** Always answers with a value missing a field, once with a trailing comma. */
const STUBBORN = `
process.stdin.resume();
process.stdin.on('end', () => process.stdout.write('{"collections": ["documents"],}'));`;

/** Answers valid JSON with the slips jsonrepair mends (single quotes, a trailing comma, a comment). */
const SLOPPY = `
process.stdin.resume();
process.stdin.on('end', () => process.stdout.write("Sure!\\n\`\`\`json\\n{'collections': ['blocks'], 'keyPattern': '.*', // done\\n}\\n\`\`\`"));`;

async function structured(hub: Hub, script: string, maxRepairs?: number) {
  await commandModule(hub, 'arangodb', script);
  await hub.schemas.publish({ name: 'needs', version: '1.0.0', schema: SCHEMA });
  const asked = await hub.ask({
    from: 'marker',
    to: 'arangodb',
    prompt: 'What do you need?',
    schema: 'needs@1.0.0',
    ...(maxRepairs === undefined ? {} : { maxRepairs }),
  });
  await hub.startWorker();
  const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 30_000 });
  return { asked, done };
}

describeEachBackend('structured asks', (hubs) => {
  it('repairs an invalid answer in a round of the same reply, with the errors, and completes with the value', async () => {
    const hub = await hubs.open();
    const { asked, done } = await structured(hub, LEARNER);
    expect(done.status).toBe('complete');
    const reply = await hub.messages.require(asked.messageId);
    expect(reply.value).toEqual({ collections: ['documents', 'sections'], keyPattern: '^[a-z]+$' });
    expect(reply.content).toContain('Fixed:');
    const v = reply.validation;
    expect(v).toMatchObject({ schema: 'needs@1.0.0', maxRepairs: 2, valid: true });
    expect(v?.rounds.map((r) => [r.round, r.valid])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(v?.rounds[0]?.answer).toContain('hope that helps');
    const issues = v?.rounds[0]?.issues ?? [];
    expect(issues.map((i) => [i.rule, i.path])).toEqual(
      expect.arrayContaining([
        ['required', '/collections'],
        ['required', '/keyPattern'],
        ['additionalProperties', '/colections'],
      ]),
    );
    expect(issues.find((i) => i.path === '/colections')?.suggestion).toContain('collections');
    // The rounds are in the log, in order, and in the task's log; the reply is one reply throughout.
    const events = await readLog(hub, undefined, { messageId: asked.messageId });
    const validated = events.filter((e) => e.type === 'message.validated');
    expect(validated.map((e) => e.data)).toMatchObject([
      { round: 0, valid: false, repairing: true, issueCount: issues.length },
      { round: 1, valid: true, repairing: false },
    ]);
    const resets = events.filter((e) => e.type === 'message.content_updated' && e.data.reset);
    expect(resets).toHaveLength(1);
    const messages = await hub.messages.list({ threadId: asked.threadId });
    expect(messages).toHaveLength(2);
    const log = await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.logged'] });
    const texts = log.map((e) => (e.data as { text: string }).text);
    expect(texts.some((t) => t.includes('does not satisfy needs@1.0.0') && t.includes('/colections'))).toBe(true);
    expect(texts.some((t) => t.includes('repair round 1 satisfies needs@1.0.0'))).toBe(true);
  });

  it('fails with reason validation and the errors after the last repair round', async () => {
    const hub = await hubs.open();
    const { asked, done } = await structured(hub, STUBBORN, 1);
    expect(done.status).toBe('failed');
    const reply = await hub.messages.require(asked.messageId);
    expect(reply.error).toMatch(/does not satisfy needs@1\.0\.0 after 1 repair round/);
    expect(reply.error).toContain('/keyPattern');
    expect(reply.value).toBeNull();
    expect(reply.validation?.valid).toBe(false);
    expect(reply.validation?.rounds.map((r) => r.valid)).toEqual([false, false]);
    const task = await hub.tasks.get(asked.taskId);
    expect(task.status).toBe('failed');
    const failed = (await readLog(hub, undefined, { messageId: asked.messageId })).find(
      (e) => e.type === 'message.status_changed' && e.data.to === 'failed',
    );
    expect(failed?.data).toMatchObject({ reason: 'validation' });
  });

  it('mends the slips agents make without asking again, and checks an inline schema too', async () => {
    const hub = await hubs.open();
    const { asked, done } = await structured(hub, SLOPPY);
    expect(done.status).toBe('complete');
    const reply = await hub.messages.require(asked.messageId);
    expect(reply.value).toEqual({ collections: ['blocks'], keyPattern: '.*' });
    expect(reply.validation?.rounds).toHaveLength(1);

    const inline = await hub.ask({
      from: 'marker',
      to: 'arangodb',
      prompt: 'again',
      schema: { type: 'array' },
      maxRepairs: 0,
    });
    const second = await hub.waitForCompletion(inline.messageId, { timeoutMs: 30_000 });
    expect(second.status).toBe('failed');
    expect((await hub.messages.require(inline.messageId)).validation).toMatchObject({
      schema: 'inline',
      maxRepairs: 0,
      valid: false,
    });
  });
});
