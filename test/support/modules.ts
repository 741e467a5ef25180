// Registering test modules whose agents are small real programs (command backend).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hub } from '../../src/index.js';

/** A module whose agent is `node agent.mjs` (from `script`) in a fresh directory; answers the directory. */
export async function commandModule(
  hub: Hub,
  name: string,
  script: string,
  concurrency = 1,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `cc-${name}-`));
  writeFileSync(join(dir, 'agent.mjs'), script);
  await hub.modules.register({
    name,
    description: `${name} test agent`,
    config: { backend: 'command', cwd: dir, command: process.execPath, args: ['agent.mjs'], concurrency, ...extra },
  });
  return dir;
}

/** Whether a process is still running (a zombie waiting to be reaped is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
