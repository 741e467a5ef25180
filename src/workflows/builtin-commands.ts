/**
 * The commands every hub declares, beside those of config.yaml's `commands:` (which may replace them by name): the
 * bundled programs of the pdf-to-arangodb example, run as claude-comms itself with a fixed argv, so that they work
 * in any data home and on any install. `pdf-extract` reads a PDF (or a marker JSON file) named in its input into
 * `document@1.0.0`, reporting pages done; `arango-import-files` writes ArangoDB import files, `import.sh` and the
 * report from a conversion.
 */
import { fileURLToPath } from 'node:url';
import type { DeclaredCommand } from './steps.js';

/** The claude-comms program of this install. */
const BIN = fileURLToPath(new URL('../../bin/claude-comms.js', import.meta.url));

export const BUILTIN_COMMANDS: Readonly<Record<string, DeclaredCommand>> = {
  'pdf-extract': { argv: [process.execPath, BIN, 'pdf', 'extract', '--step'], timeoutMs: 30 * 60_000 },
  'arango-import-files': { argv: [process.execPath, BIN, 'example', 'write-arango', '--step'], timeoutMs: 10 * 60_000 },
};
