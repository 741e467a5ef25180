// The worker on every backend: asks answered by real small programs through the command backend, in order,
// within each module's concurrency, with failures reported and a dead worker's claim recovered.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchedWork } from '../../src/cli/watch-state.js';
import type { Message } from '../../src/index.js';
import { MAX_RUN_LOG_CHARS } from '../../src/runtime/run-log.js';
import { BACKENDS, describeEachBackend, hubFactory } from '../support/backends.js';
import { alive, commandModule } from '../support/modules.js';
import { payload } from '../support/payload.js';
import { readLog, until } from '../support/wait.js';

const ECHO = `
let q = '';
process.stdin.on('data', (d) => (q += d));
process.stdin.on('end', async () => {
  process.stdout.write('@@claude-comms {"progress": 50}\\n');
  for (const part of ['You asked: ', q.trim(), '.']) {
    process.stdout.write(part);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write('\\n@@claude-comms {"cost_usd": 0.01, "tokens_in": 5, "tokens_out": 3}\\n');
});`;

describeEachBackend('worker', (hubs) => {
  it('answers an ask: processing, streamed content, task cost and progress, then complete', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.message.content).toBe('You asked: Which structure?.\n');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'processing', 'complete']);
    const task = await hub.tasks.get(asked.taskId);
    expect(task).toMatchObject({ status: 'complete', costUsd: 0.01, tokensIn: 5, tokensOut: 3, progress: 100 });
    const contentEvents = (await readLog(hub)).filter((e) => e.type === 'message.content_updated');
    expect(contentEvents.length).toBeGreaterThan(0);
  });

  it('reports a failing agent with its reason', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'broken', "process.stderr.write('no database here\\n'); process.exit(3);");
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'broken', prompt: 'Anything?' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('failed');
    expect(done.message.error).toContain('exited with status 3: no database here');
    expect((await hub.tasks.get(asked.taskId)).status).toBe('failed');
  });

  it('answers in order, never more at once than the module’s concurrency', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'slow', "setTimeout(() => process.stdout.write('done'), 150);", 1);
    await hub.startWorker();
    const asks = [];
    for (let i = 0; i < 3; i++) asks.push(await hub.ask({ from: 'marker', to: 'slow', prompt: `q${i}` }));
    const finished = await Promise.all(asks.map((a) => hub.waitForCompletion(a.messageId, { timeoutMs: 20_000 })));
    for (let i = 1; i < finished.length; i++) {
      const prev = finished[i - 1]?.message;
      const cur = finished[i]?.message;
      // Each started only after the one before it completed.
      expect(Date.parse(cur?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(prev?.completedAt ?? ''));
    }
  });

  it('cancels a running reply: the agent is stopped, reply and task end cancelled', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(
      hub,
      'slow',
      "import { writeFileSync } from 'node:fs'; writeFileSync('pid', String(process.pid)); process.stdout.write('working'); setInterval(() => {}, 1000);",
    );
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'slow', prompt: 'Take your time' });
    await until(
      async () => ((await hub.messages.get(asked.messageId)) as { content?: string }).content === 'working',
      10_000,
    );
    await hub.messages.cancel(asked.messageId);
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 10_000 });
    expect(done.status).toBe('cancelled');
    await until(
      async () => (await hub.tasks.get(asked.taskId)).status === 'cancelled',
      10_000,
      'the task to be cancelled',
    );
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    await until(() => !alive(pid), 10_000, 'the agent process to end');
    await expect(hub.messages.cancel(asked.messageId)).rejects.toMatchObject({ code: 'invalid_transition' });
  });

  it('serves a module registered after it started, and a module’s changed settings', async () => {
    const hub = await hubs.open();
    await hub.startWorker();
    await commandModule(hub, 'late', "process.stdout.write('first');");
    const first = await hub.ask({ from: 'marker', to: 'late', prompt: 'q' });
    expect((await hub.waitForCompletion(first.messageId, { timeoutMs: 20_000 })).message.content).toBe('first');
    await commandModule(hub, 'late', "process.stdout.write('second');");
    const second = await hub.ask({ from: 'marker', to: 'late', prompt: 'q' });
    expect((await hub.waitForCompletion(second.messageId, { timeoutMs: 20_000 })).message.content).toBe('second');
  });

  it('recovers a reply left processing by a dead worker, then answers it', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO);
    const again = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Lost one?' });
    await hub.messages.transition(again.messageId, 'processing', { reason: 'claimed by a worker that then died' });
    // Its lease is in the past (what a dead worker leaves behind).
    await expect(hub.waitForCompletion(again.messageId, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'timeout',
    });
    await setLease(hub.database, again.messageId);
    await hub.startWorker({ leaseMs: 3000 });
    const done = await hub.waitForCompletion(again.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'processing', 'pending', 'processing', 'complete']);
    expect(done.history[2]?.reason).toBe('worker lost (lease expired); retrying');
  });
  it('recovers a reply whose lost run had written part of an answer: the retry answers from nothing', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', ECHO);
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Lost one?' });
    // Three watchers that see the lost run's deltas: a CLI watch, a monitor callback and a log subscriber.
    const watch = new WatchedWork((await hub.messages.require(asked.messageId)) as Message, undefined);
    let monitored = '';
    await hub.monitor.add(asked.messageId, {
      content_update: (u) => {
        monitored = u.reset ? '' : monitored + (u.delta ?? '');
      },
    });
    let appended = '';
    let finished = false;
    const subscription = await hub.events.subscribe({ messageId: asked.messageId }, (e) => {
      watch.apply(e);
      if (e.type === 'message.content_updated') appended = e.data.reset ? '' : appended + String(e.data.delta);
      if (e.type === 'message.status_changed' && e.data.to === 'complete') finished = true;
    });
    await hub.messages.transition(asked.messageId, 'processing', { reason: 'claimed by a worker that then died' });
    await hub.messages.appendContent(asked.messageId, 'Half an answer from ');
    await hub.messages.appendContent(asked.messageId, 'the lost run');
    await until(() => watch.message?.content === 'Half an answer from the lost run', 10_000, 'the watch to see it');
    await setLease(hub.database, asked.messageId);

    await hub.startWorker({ leaseMs: 3000 });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    await until(() => finished, 10_000, 'the subscriber to see the reply complete');
    subscription.close();
    const answer = 'You asked: Lost one?.\n';
    expect(done.message.content).toBe(answer);
    expect(watch.message?.content).toBe(answer);
    expect(monitored).toBe(answer);
    expect(appended).toBe(answer);
    // What the lost run wrote is kept: in the task's log, and in the event log it came through.
    const logged = await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.logged'] });
    expect(logged.map((e) => payload(e).text)).toContainEqual(
      expect.stringContaining('Half an answer from the lost run'),
    );
  });
});

/** An agent that writes 1 MiB of stderr without a newline, then answers. */
const NOISY = `
const chunk = 'x'.repeat(65536);
let left = 16;
const write = () => {
  while (left > 0) {
    left--;
    if (!process.stderr.write(chunk)) return process.stderr.once('drain', write);
  }
  process.stdout.write('done');
};
write();`;

describeEachBackend('worker logs', (hubs) => {
  it('keeps the first 256 Ki characters of a run’s log output, then one line saying how much was dropped', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'noisy', NOISY);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'noisy', prompt: 'Say something' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.message.content).toBe('done');
    const texts = (await readLog(hub, undefined, { taskId: asked.taskId, types: ['task.logged'] })).map((e) =>
      String(payload(e).text),
    );
    const notice = texts.pop();
    expect(texts.join('')).toBe('x'.repeat(MAX_RUN_LOG_CHARS));
    expect(Math.max(...texts.map((t) => t.length))).toBeLessThanOrEqual(20_000);
    expect(notice).toBe(
      `… log output truncated: ${16 * 65536 - MAX_RUN_LOG_CHARS} more characters of this run were dropped (a run keeps ${MAX_RUN_LOG_CHARS})`,
    );
  });
});

const CRITERIA = `
process.stdout.write('@@claude-comms {"criterion": "structure described"}\\n');
process.stdout.write('@@claude-comms {"criterion": "  Structure Described "}\\n');
process.stdout.write('@@claude-comms {"criterion": "tests pass"}\\n');
process.stdout.write('@@claude-comms {"iteration": 2}\\n');
process.stdout.write('@@claude-comms {"cost_usd": 0.01}\\n');
process.stdout.write('done');`;

describeEachBackend('worker criteria', (hubs) => {
  it('adds a criterion an agent reports met that its task does not list, once, and shows it met; keeps its iteration', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', CRITERIA);
    await hub.startWorker();
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'Which structure?' });
    const done = await hub.waitForCompletion(asked.messageId, { timeoutMs: 20_000 });
    expect(done.status).toBe('complete');
    const task = await hub.tasks.get(asked.taskId);
    expect(task.criteria.map((c) => [c.text, c.verified])).toEqual([
      ['structure described', true],
      ['tests pass', true],
    ]);
    const control = await hub.progress.get(asked.taskId);
    expect(control).toMatchObject({ criteriaPassed: 2, criteriaTotal: 2 });
    // The iteration a command reports is its own; a cost line leaves it alone.
    expect(task).toMatchObject({ iteration: 2, costUsd: 0.01 });
    // A watcher that saw the task before any criterion follows the added ones from the events alone.
    const events = await readLog(hub, undefined, { taskId: asked.taskId });
    const watched = new WatchedWork(undefined, { ...task, criteria: [] });
    const changes = events.map((e) => watched.apply(e)).filter((c) => c?.kind === 'criterion');
    expect(changes.map((c) => c && 'total' in c && [c.text, c.verified, c.total])).toEqual([
      ['structure described', 1, 1],
      ['tests pass', 2, 2],
    ]);
  });

  it('verifies a listed criterion named in other case rather than adding it again', async () => {
    const hub = await hubs.open();
    await commandModule(hub, 'arangodb', CRITERIA);
    const task = await hub.tasks.create({ name: 'listed', criteria: ['Structure described'] });
    const verified = await hub.tasks.verifyCriterion(task.id, ' structure DESCRIBED', { add: true });
    expect(verified.criteria).toEqual([expect.objectContaining({ text: 'Structure described', verified: true })]);
    await expect(hub.tasks.verifyCriterion(task.id, 'not listed')).rejects.toMatchObject({ code: 'not_found' });
  });
});

/** Sets a message's lease in the past, as a worker that died would leave it. */
async function setLease(database: string, messageId: string): Promise<void> {
  const past = new Date(Date.now() - 60_000).toISOString();
  if (database.startsWith('postgres')) {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    await client.query("UPDATE messages SET lease_until = $1, claimed_by = 'dead', attempts = 1 WHERE id = $2", [
      past,
      messageId,
    ]);
    await client.end();
  } else {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(database);
    db.prepare("UPDATE messages SET lease_until = ?, claimed_by = 'dead', attempts = 1 WHERE id = ?").run(
      past,
      messageId,
    );
    db.close();
  }
}

const postgres = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!postgres?.available)('worker stopping on PostgreSQL', () => {
  const hubs = hubFactory(postgres as NonNullable<typeof postgres>);
  afterEach(() => hubs.closeAll());

  it('waits for a claim in flight when it stops, and cancels the run that claim starts', async () => {
    const hub = await hubs.open();
    const dir = await commandModule(
      hub,
      'slow',
      "import { writeFileSync } from 'node:fs'; writeFileSync('pid', String(process.pid)); setInterval(() => {}, 1000);",
    );
    const asked = await hub.ask({ from: 'marker', to: 'slow', prompt: 'Take your time' });
    // Another session holds the module's row, so the worker's claim waits for it.
    const admin = new pg.Client({ connectionString: hub.database });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query("SELECT * FROM modules WHERE name = 'slow' FOR UPDATE");
      const worker = await hub.startWorker();
      // The claim now waits for the row (seen from pg_stat_activity; if it is not seen in time, stopping goes on).
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        const { rows } = await admin.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM modules%'",
        );
        if (Number(rows[0]?.n) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const stopping = worker.stop();
      await admin.query('COMMIT');
      await stopping;
    } finally {
      await admin.end();
    }
    // Whatever the claim did after the worker stopped would show by now.
    await new Promise((r) => setTimeout(r, 500));
    // Claimed and then stopped with the worker (cancelled), or never claimed (pending): never left running.
    const reply = await hub.messages.get(asked.messageId);
    expect(['cancelled', 'pending']).toContain(reply.status);
    expect((await hub.tasks.get(asked.taskId)).status).toBe(reply.status);
    const pidFile = join(dir, 'pid');
    if (existsSync(pidFile)) expect(alive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });
});
