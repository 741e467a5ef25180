// A writer in its own process, for the cross-process and crash tests. Run it with
//   node --import tsx test/support/writer-child.ts <burst|step|crash> <database> [options as JSON]
//
// burst: opens a hub, creates a thread and `messages` replies, and drives each through
//   pending → processing → `appends` content deltas → complete, `concurrency` at a time, as fast as it can;
//   then closes the hub and prints one JSON line: { threadId, messages, events } (events = how many it committed).
//   With `waitForGo` it first prints {"ready":true} and waits for a line on stdin, so several can start together.
// step: opens a hub, creates a thread, prints {"threadId"}, then commits one new message for each line read on
//   stdin (so every commit is followed by silence until the reader answers), and exits when stdin ends.
// crash: writes until it is killed. `lanes` concurrent loops each take a reply through create (with content) →
//   processing → appends (some issued together, so they coalesce into one transaction) → complete or failed (or
//   cancel it while pending); one more loop commits batches of `batch` messages created in ONE transaction. It
//   goes through the store directly (one Database, as the hub would) because only there can one transaction
//   hold several creates. Batch messages carry the content `batch:<n>:<i>/<batch>;`. It prints { threadId } once
//   the thread exists.
import { createInterface } from 'node:readline';
import { openHub } from '../../src/index.js';
import { MessageStore } from '../../src/store/messages.js';
import { openDatabase } from '../../src/store/open.js';
import { ThreadStore } from '../../src/store/threads.js';

interface Options {
  messages?: number;
  concurrency?: number;
  appends?: number;
  lanes?: number;
  batch?: number;
  label?: string;
  /** burst: once the hub is open and the thread exists, print {"ready":true} and wait for a line on stdin. */
  waitForGo?: boolean;
}

const AUTHOR = 'writer-child';

async function burst(database: string, o: Options): Promise<void> {
  const messages = o.messages ?? 100;
  const appends = o.appends ?? 2;
  // retentionDays 0: no pruning sweep; the backstop poll is irrelevant to a writer.
  const hub = await openHub({ database, retentionDays: 0, contentCoalesceMs: 0, pollIntervalMs: 60_000 });
  const thread = await hub.threads.create({ title: o.label ?? 'burst', createdBy: AUTHOR });
  if (o.waitForGo) {
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
  }
  let next = 0;
  const lane = async () => {
    while (next < messages) {
      const i = next++;
      const reply = await hub.messages.create({ threadId: thread.id, author: AUTHOR, content: `m${i}:` });
      await hub.messages.transition(reply.id, 'processing');
      for (let a = 0; a < appends; a++) await hub.messages.appendContent(reply.id, `d${a};`);
      await hub.messages.transition(reply.id, 'complete');
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, lane));
  await hub.close();
  // thread.created, then per message: created, processing, each append, complete.
  process.stdout.write(`${JSON.stringify({ threadId: thread.id, messages, events: 1 + messages * (3 + appends) })}\n`);
}

async function step(database: string): Promise<void> {
  const hub = await openHub({ database, retentionDays: 0, pollIntervalMs: 60_000 });
  const thread = await hub.threads.create({ title: 'step', createdBy: AUTHOR });
  process.stdout.write(`${JSON.stringify({ threadId: thread.id })}\n`);
  let i = 0;
  for await (const _ of createInterface({ input: process.stdin })) {
    await hub.messages.create({ threadId: thread.id, author: AUTHOR, content: `s${i++}` });
  }
  await hub.close();
}

async function crash(database: string, o: Options): Promise<never> {
  const db = await openDatabase(database);
  const threads = new ThreadStore(db);
  const store = new MessageStore(db, { maxContentLength: 4_000_000, coalesceMs: 0 });
  const thread = await threads.create({ title: o.label ?? 'crash', createdBy: AUTHOR });
  process.stdout.write(`${JSON.stringify({ threadId: thread.id })}\n`);
  let n = 0;
  const lane = async (): Promise<never> => {
    for (;;) {
      const i = n++;
      const reply = await store.create({ threadId: thread.id, author: AUTHOR, content: `m${i}:` });
      if (i % 7 === 0) {
        await store.transition(reply.id, 'cancelled', { reason: 'not needed' });
        continue;
      }
      await store.transition(reply.id, 'processing');
      await store.appendContent(reply.id, `a${i};`);
      // Issued in one tick: they coalesce into a single transaction with one event carrying both deltas.
      await Promise.all([store.appendContent(reply.id, `b${i};`), store.appendContent(reply.id, `c${i};`)]);
      if (i % 5 === 0) await store.transition(reply.id, 'failed', { error: `boom ${i}` });
      else await store.transition(reply.id, 'complete');
    }
  };
  const batchSize = o.batch ?? 5;
  let b = 0;
  const batches = async (): Promise<never> => {
    for (;;) {
      const k = b++;
      // On SQLite a transaction never waits for I/O, so without this the loop would starve the lanes' timers.
      await new Promise((r) => setImmediate(r));
      await db.write(async (tx) => {
        for (let i = 0; i < batchSize; i++) {
          await store.create({ threadId: thread.id, author: AUTHOR, content: `batch:${k}:${i}/${batchSize};` }, tx);
        }
      });
    }
  };
  return Promise.race([...Array.from({ length: o.lanes ?? 4 }, lane), batches()]);
}

const [mode, database, json] = process.argv.slice(2);
if (!database || (mode !== 'burst' && mode !== 'step' && mode !== 'crash')) {
  process.stderr.write('usage: writer-child.ts <burst|step|crash> <database> [options as JSON]\n');
  process.exit(2);
}
const options = JSON.parse(json ?? '{}') as Options;
try {
  if (mode === 'burst') await burst(database, options);
  else if (mode === 'step') await step(database);
  else await crash(database, options);
} catch (err) {
  process.stderr.write(`writer-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
