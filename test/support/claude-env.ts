// Runs the real `claude` binary (from the Agent SDK's platform package) offline against the local Messages API
// stand-in: an isolated config dir, no retries, no non-essential traffic, and no CLAUDECODE inherited.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment for a `claude` child talking to `apiUrl` (the SDK's `env` replaces, so start from ours). */
export function claudeEnv(apiUrl: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: 'test-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'cc-claude-config-')),
  };
  delete env.CLAUDECODE;
  return env;
}

/** A model name the binary knows, so it does not warn about an unrecognized one. */
export const TEST_MODEL = 'claude-sonnet-5';
