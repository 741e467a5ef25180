/**
 * What a command that only reads says about a config.yaml it cannot use: one warning on stderr, naming file and
 * line, and the command goes on — a typo in the config must not lock anyone out of their threads. `serve` and
 * `poll start` refuse such a file instead. A file it can use but should change (an old name of a setting) gets a
 * line per change, here as in `serve`'s notices.
 */
import type { HubError } from '../domain/errors.js';
import { printErr } from './output.js';

/** Prints the warning for `err` (a config error, which names file and line). */
export function warnOfConfig(err: HubError): void {
  const problems = err.message.replace(/^invalid configuration:\n\s*/, '').replaceAll(/\n\s*/g, '; ');
  printErr(`claude-comms: warning: ${problems} (modules not updated from it; serve refuses it until it is fixed)\n`);
}

/** Prints a warning about a config.yaml that is read (`config.yaml:9: modules.marker.maxTurns: deprecated…`). */
export function warnOfConfigChange(warning: string): void {
  printErr(`claude-comms: warning: ${warning}\n`);
}
