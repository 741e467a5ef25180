import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createDatabase } from './postgres.js';

const postgresUrl = inject('postgresUrl');

describe.skipIf(!postgresUrl)('throwaway PostgreSQL cluster', () => {
  it('creates a fresh database and runs queries with durability off', async () => {
    const url = await createDatabase(postgresUrl);
    expect(new URL(url).pathname).toMatch(/^\/t_[0-9a-f]+$/);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const one = await client.query<{ one: number }>('select 1 as one');
      expect(one.rows).toEqual([{ one: 1 }]);
      const db = await client.query<{ db: string }>('select current_database() as db');
      expect(`/${db.rows[0]?.db}`).toBe(new URL(url).pathname);
      const fsync = await client.query<{ fsync: string }>('show fsync');
      // Only our own cluster is known to run with fsync=off; an external server may not.
      if (!process.env.CLAUDE_COMMS_TEST_POSTGRES_URL) expect(fsync.rows[0]?.fsync).toBe('off');
      else expect(['on', 'off']).toContain(fsync.rows[0]?.fsync);
    } finally {
      await client.end();
    }
  });
});
