// PostgreSQL wake-ups survive a lost LISTEN connection: the listener reconnects and catches up on what it missed.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/index.js';
import { BACKENDS, hubFactory } from '../support/backends.js';
import { payload } from '../support/payload.js';
import { until } from '../support/wait.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

describe.skipIf(!postgres?.available)('LISTEN on postgres', () => {
  const hubs = hubFactory(postgres as (typeof BACKENDS)[number]);
  afterEach(() => hubs.closeAll());

  it('reconnects after its connection is killed and delivers what was written meanwhile', async () => {
    // The backstop poll is an hour away: only LISTEN (and its reconnect) can deliver.
    const watcher = await hubs.open({ pollIntervalMs: 3_600_000 });
    const writer = await hubs.open({ database: watcher.database });
    const seen: HubEvent[] = [];
    await watcher.events.subscribe({}, (e) => seen.push(e));
    const admin = new pg.Client({ connectionString: watcher.database });
    await admin.connect();
    try {
      const listeners = async () =>
        (
          await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
          )
        ).rows.map((r) => r.pid);
      await until(async () => (await listeners()).length === 2, 10_000, 'both hubs to LISTEN');
      await writer.threads.create({ title: 'before' });
      await until(() => seen.length === 1);

      // Kill every LISTEN session of the watcher's hub (and the writer's, which is harmless), then write at once.
      const killed = await listeners();
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [killed]);
      await writer.threads.create({ title: 'while reconnecting' });
      await writer.threads.create({ title: 'after' });
      await until(() => seen.length === 3, 15_000, 'the events written while the listener was down');
      expect(seen.map((e) => payload(e).title)).toEqual(['before', 'while reconnecting', 'after']);
      // Both hubs listen again, on new sessions (each reconnects on its own jittered schedule).
      await until(async () => (await listeners()).length === 2, 10_000, 'both hubs to LISTEN again');
      expect((await listeners()).some((pid) => killed.includes(pid))).toBe(false);
    } finally {
      await admin.end();
    }
  });
});
