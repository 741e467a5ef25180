// The PostgreSQL sequence-gap hazard. `seq` is taken from a sequence at INSERT, but rows become visible at COMMIT,
// so with concurrent writers seq 10 can commit after seq 11; a reader following `seq > cursor` that already moved
// past 11 never sees 10. The store closes this with a transaction advisory lock taken before events are appended
// (held to commit), so events commit in seq order. A trigger that sleeps 0–SLEEP_MS after each event insert
// widens the nextval→commit window so the race happens every run, without touching the store's code.
//
// With the guard, the hub's subscriber and even a naive `seq > cursor` poller see every event once, in order.
// Without it (the negative control), the naive poller misses events: the test can see the gap it guards against.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, type HubEvent, openHub } from '../../src/index.js';
import { BACKENDS } from '../support/backends.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

/** Longest sleep, in seconds, between an event's insert (its nextval) and the rest of its transaction. */
const SLEEP_S = 0.005;
const WRITERS = 4;
const LANES = 6;
/** Messages per lane; each is three transactions (create, processing, complete), one event each. */
const ROUNDS = 8;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const hubs = new Set<Hub>();
const clients = new Set<pg.Client>();

async function open(database: string, sequenceGuard: boolean): Promise<Hub> {
  const hub = await openHub({ database, retentionDays: 0, postgres: { sequenceGuard } });
  hubs.add(hub);
  return hub;
}

async function connect(database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  clients.add(client);
  return client;
}

/** A reader with no protection of its own: polls `seq > cursor` about every millisecond, moving to the newest seen. */
function naiveReader(client: pg.Client, from: number) {
  const seen: number[] = [];
  let cursor = from;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<{ seq: string }>('SELECT seq FROM events WHERE seq > $1 ORDER BY seq', [
        cursor,
      ]);
      for (const r of rows) {
        cursor = Number(r.seq);
        seen.push(cursor);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    seen,
    get cursor() {
      return cursor;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

interface Outcome {
  /** Every event committed by the workload, in log order. */
  log: number[];
  /** What the reader hub's subscriber was given. */
  subscriber: number[];
  /** What the naive poller saw. */
  naive: number[];
}

/** Concurrent transitions from WRITERS hubs while a reader hub and a naive poller follow the log. */
async function race(sequenceGuard: boolean): Promise<Outcome> {
  if (!postgres) throw new Error('no PostgreSQL backend');
  const database = await postgres.freshDatabase();
  const reader = await open(database, sequenceGuard); // migrates the new database
  const admin = await connect(database);
  await admin.query(`
    CREATE FUNCTION test_delay_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(random() * ${SLEEP_S}); RETURN NULL; END $$;
    CREATE TRIGGER test_delay_commit AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_delay_commit();
  `);
  const writers = await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const hub = await open(database, sequenceGuard);
      return { hub, thread: await hub.threads.create({ createdBy: 'race' }) };
    }),
  );

  const { rows } = await admin.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM events');
  const start = Number(rows[0]?.seq ?? 0);
  const subscriber: HubEvent[] = [];
  await reader.events.subscribe({ after: await reader.events.head() }, (e) => subscriber.push(e));
  const naive = naiveReader(await connect(database), start);

  await Promise.all(
    writers.flatMap(({ hub, thread }) =>
      Array.from({ length: LANES }, async () => {
        for (let i = 0; i < ROUNDS; i++) {
          const reply = await hub.messages.create({ threadId: thread.id, author: 'race' });
          await hub.messages.transition(reply.id, 'processing');
          await hub.messages.transition(reply.id, 'complete');
        }
      }),
    ),
  );

  const log = (
    await admin.query<{ seq: string }>('SELECT seq FROM events WHERE seq > $1 ORDER BY seq', [start])
  ).rows.map((r) => Number(r.seq));
  expect(log.length).toBe(WRITERS * LANES * ROUNDS * 3);
  const last = log[log.length - 1] ?? 0;
  // Both readers get to the newest event (NOTIFY wakes the hub; the poller polls), whatever they skipped on the way.
  await until(() => naive.cursor >= last, 15_000, 'the naive reader to reach the newest event');
  await until(() => (subscriber[subscriber.length - 1]?.seq ?? 0) >= last, 15_000, 'the subscriber to catch up');
  await naive.stop();
  return { log, subscriber: subscriber.map((e) => e.seq), naive: naive.seen };
}

function missing(seen: number[], log: number[]): number[] {
  const got = new Set(seen);
  return log.filter((s) => !got.has(s));
}

describe.skipIf(!postgres?.available)('PostgreSQL: events committing out of seq order', () => {
  afterEach(async () => {
    await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
    clients.clear();
    await Promise.all([...hubs].map((h) => h.close()));
    hubs.clear();
  });

  it('with the sequence guard, every reader sees every event once, in order', async () => {
    const { log, subscriber, naive } = await race(true);
    expect(subscriber).toEqual(log);
    // The guard makes the committed log always a prefix, so even a reader without any care of its own is safe.
    expect(naive).toEqual(log);
  });

  it('without the guard, readers following seq > cursor miss events (the test can see the gap)', async () => {
    const { log, naive, subscriber } = await race(false);
    const missed = missing(naive, log);
    expect(missed.length, `the naive reader missed ${missed.length} of ${log.length}`).toBeGreaterThan(0);
    // What it did see, it saw once and in order: the failure is skipping, nothing else.
    expect(naive).toEqual([...new Set(naive)].sort((a, b) => a - b));
    // The hub's own tail reader follows seq > cursor too: the guard is what keeps its subscribers whole.
    const skipped = missing(subscriber, log);
    expect(skipped.length, `the hub subscriber missed ${skipped.length} of ${log.length}`).toBeGreaterThan(0);
  });
});
