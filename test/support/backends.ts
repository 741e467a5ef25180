// The backends every conformance suite loops over (Kysely-style): each test gets a fresh database on each.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, inject } from 'vitest';
import { type Hub, type HubOptions, openHub } from '../../src/index.js';
import { createDatabase } from './postgres.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** False only outside CI when no PostgreSQL is installed (global-setup fails the run in CI instead). */
  available: boolean;
  /** A fresh, empty database URL. */
  freshDatabase(): Promise<string>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    available: true,
    freshDatabase: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'cc-test-')), 'comms.db')}`,
  },
  {
    name: 'postgres',
    available: inject('postgresUrl') !== '',
    freshDatabase: () => createDatabase(inject('postgresUrl')),
  },
];

/** A logger that keeps what was logged, for tests that check a failure was reported. */
export function memoryLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** Opens hubs on fresh databases and closes them all afterwards. */
export function hubFactory(backend: Backend) {
  const open: Hub[] = [];
  return {
    /** A hub on a new database (or on `database` to share one). */
    async open(options: HubOptions = {}): Promise<Hub> {
      // config: false — a developer's own ~/.claude-comms/config.yaml must not leak modules into tests.
      const hub = await openHub({
        database: options.database ?? (await backend.freshDatabase()),
        config: false,
        ...options,
      });
      open.push(hub);
      return hub;
    },
    async closeAll(): Promise<void> {
      await Promise.all(open.splice(0).map((h) => h.close()));
    },
  };
}

/** The hub factory a suite's tests get. */
export type HubFactory = ReturnType<typeof hubFactory>;

/**
 * Runs one suite unchanged against every backend (skipped only where a backend is unavailable outside CI), each
 * test's hubs closed after it.
 */
export function describeEachBackend(title: string, body: (hubs: HubFactory) => void): void {
  describe.each(BACKENDS)(`${title} on $name`, (backend) => {
    const hubs = hubFactory(backend);
    afterEach(() => hubs.closeAll());
    describe.skipIf(!backend.available)('', () => body(hubs));
  });
}
