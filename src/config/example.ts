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
const EXAMPLE_FILES = [
  'config.yaml',
  'marker/agent.mjs',
  'arangodb/agent.mjs',
  'arangodb/requirements.json',
  'pdf-to-arangodb.yaml',
];

/** What `writeExample` did. */
export interface ExampleWritten {
  /** Paths written. */
  written: string[];
  /** Agent files already there and left as they were (they may be edits of the example's). */
  kept: string[];
}

/**
 * Writes the example configuration and its agents into `home`. Refuses (`conflict`, naming it) when config.yaml
 * exists, unless `force`. An agent file already there is kept, unless `force` (a config.yaml deleted by mistake is
 * written again without losing edits to the agents).
 */
export function writeExample(home: string, { force = false } = {}): ExampleWritten {
  const config = join(home, 'config.yaml');
  if (existsSync(config) && !force) {
    throw new HubError(
      'conflict',
      `${config} already exists: edit it to change the modules, or run claude-comms init --force to replace it (and the example agents) with the example`,
    );
  }
  const result: ExampleWritten = { written: [], kept: [] };
  for (const file of EXAMPLE_FILES) {
    const target = join(home, file);
    if (file !== 'config.yaml' && existsSync(target) && !force) {
      result.kept.push(target);
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(EXAMPLE_DIR, file), target);
    result.written.push(target);
  }
  return result;
}
