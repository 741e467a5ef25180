// Runs the real `claude` binary (from the Agent SDK's platform package) offline against the local Messages API
// stand-in: an isolated config dir, no retries, no non-essential traffic, and no CLAUDECODE inherited.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment for a `claude` child talking to `apiUrl` (the SDK's `env` replaces, so start from ours). */
export function claudeEnv(apiUrl: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && key !== 'CLAUDECODE') env[key] = value;
  return {
    ...env,
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: 'test-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'cc-claude-config-')),
  };
}

/** A model name the binary knows, so it does not warn about an unrecognized one. */
export const TEST_MODEL = 'claude-sonnet-5';
