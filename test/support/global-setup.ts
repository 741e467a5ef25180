// Vitest globalSetup: one throwaway PostgreSQL cluster for the whole run. Test files
// read its URL with inject('postgresUrl') and create their own databases on it
// (see createDatabase); '' means "no PostgreSQL here, skip those suites".
import type { TestProject } from 'vitest/node';
import { findPostgresBin, startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<(() => Promise<void>) | undefined> {
  // An externally managed server (e.g. a CI service container) wins.
  const external = process.env.CLAUDE_COMMS_TEST_POSTGRES_URL;
  if (external) {
    provide('postgresUrl', external);
    return undefined;
  }

  if (!findPostgresBin()) {
    if (process.env.CI) {
      // In CI a silently skipped PostgreSQL suite would hide regressions: fail instead.
      throw new Error(
        'PostgreSQL is required in CI: install it (initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin) ' +
          'or set CLAUDE_COMMS_TEST_POSTGRES_URL. A skipped PostgreSQL suite counts as a failure.',
      );
    }
    console.warn(
      '[test] PostgreSQL not found (initdb/pg_ctl): PostgreSQL suites will be skipped. Run scripts/test.sh to install it.',
    );
    provide('postgresUrl', '');
    return undefined;
  }

  const cluster = await startPostgres();
  provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
