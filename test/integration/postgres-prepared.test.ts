// Prepared statements on PostgreSQL. The store prepares each statement once per connection; a prepared
// `SELECT *` or `RETURNING *` fails ("cached plan must not change result type") once its table gains a column,
// which is what a newer hub's migration does to a database an older hub is still serving. The store then prepares
// its statements anew and runs the query or transaction again, so the running hub carries on.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type Hub, openHub } from '../../src/index.js';
import { BACKENDS } from '../support/backends.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

let hub: Hub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe.skipIf(!postgres?.available)('PostgreSQL: prepared statements', () => {
  it('carry on when another hub adds columns to the tables under them', async () => {
    const database = await (postgres as NonNullable<typeof postgres>).freshDatabase();
    hub = await openHub({ database, config: false, retentionDays: 0 });
    const h = hub;
    const thread = await h.threads.create({ title: 'before' });
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => h.messages.create({ threadId: thread.id, author: 'arangodb' })),
    );
    // Several pooled connections prepare the same statements, in reads and in write transactions.
    await Promise.all(replies.map((r) => h.messages.get(r.id)));
    await Promise.all(replies.slice(0, 4).map((r) => h.messages.transition(r.id, 'processing')));

    const admin = new pg.Client({ connectionString: database });
    await admin.connect();
    try {
      await admin.query('ALTER TABLE messages ADD COLUMN note text');
      await admin.query('ALTER TABLE threads ADD COLUMN note text');
    } finally {
      await admin.end();
    }

    const read = await Promise.all(replies.map((r) => h.messages.get(r.id)));
    expect(read.map((m) => m.status)).toEqual([...Array(4).fill('processing'), ...Array(4).fill('pending')]);
    const moved = await Promise.all(
      replies.map((r, i) => h.messages.transition(r.id, i < 4 ? 'complete' : 'cancelled')),
    );
    expect(moved.map((m) => m.status)).toEqual([...Array(4).fill('complete'), ...Array(4).fill('cancelled')]);
    expect((await h.threads.get(thread.id)).title).toBe('before');
    const events = (await h.events.list({ types: ['message.status_changed'], limit: 100 })).events;
    expect(events).toHaveLength(12);
  });
});
