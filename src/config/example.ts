/**
 * The bundled example: `examples/config.yaml` with its two stand-in agents. The service uses it for a data home
 * that was never configured; `claude-comms init` copies it, agents included, into the data home, where the
 * config's relative `cwd`s find them.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../domain/errors.js';

/** The directory of the bundled example. */
export const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

/** The bundled example configuration. */
export const EXAMPLE_CONFIG = join(EXAMPLE_DIR, 'config.yaml');

/**
 * What the modules synced from the bundled example record as their config file: the example's path changes with
 * every install, and a data home whose modules came only from it counts as never configured.
 */
export const BUNDLED_EXAMPLE = 'the bundled example (examples/config.yaml)';

/** The files `init` writes, relative to the example directory and to the data home alike. */
const EXAMPLE_FILES = ['config.yaml', 'marker/agent.mjs', 'arangodb/agent.mjs'];

/**
 * Writes the example configuration and its agents into `home`; answers the paths written. Refuses (`conflict`,
 * naming them) when any of them exists, unless `force`.
 */
export function writeExample(home: string, { force = false } = {}): string[] {
  const targets = EXAMPLE_FILES.map((file) => join(home, file));
  const existing = targets.filter((target) => existsSync(target));
  if (existing.length && !force) {
    throw new HubError(
      'conflict',
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: edit ${join(home, 'config.yaml')} to change the modules, or run claude-comms init --force to replace ${existing.length === 1 ? 'it' : 'them'} with the example`,
    );
  }
  for (const [i, file] of EXAMPLE_FILES.entries()) {
    const target = targets[i] as string;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(EXAMPLE_DIR, file), target);
  }
  return targets;
}
