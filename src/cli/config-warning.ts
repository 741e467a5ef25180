/**
 * What a command that only reads says about a config.yaml it cannot use: one warning on stderr, naming file and
 * line, and the command goes on — a typo in the config must not lock anyone out of their threads. `serve` and
 * `poll start` refuse such a file instead.
 */
import type { HubError } from '../domain/errors.js';
import { printErr } from './output.js';

/** Prints the warning for `err` (a config error, which names file and line). */
export function warnOfConfig(err: HubError): void {
  const problems = err.message.replace(/^invalid configuration:\n\s*/, '').replaceAll(/\n\s*/g, '; ');
  printErr(`claude-comms: warning: ${problems} (modules not updated from it; serve refuses it until it is fixed)\n`);
}
