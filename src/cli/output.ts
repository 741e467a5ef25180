/**
 * Where the command line writes. Every byte it sends to stdout or stderr goes through here (its help and usage
 * errors too), so no command can forget to make text from the hub safe for a terminal: text for people is
 * written through `forTerminal`, JSON through `terminalJson`, which keeps it exact. Piped output gets the same
 * treatment as a terminal's: `less -R` or a later `cat` would act on what a pipe carried.
 */
import { forTerminal } from './format.js';
import { terminalJson } from './terminal-text.js';

/** Text for people on stdout. */
export function printOut(text: string): void {
  process.stdout.write(forTerminal(text));
}

/** Text for people on stderr. */
export function printErr(text: string): void {
  process.stderr.write(forTerminal(text));
}

/** `value` as one JSON document on stdout, indented for people who read it too. */
export function printJson(value: unknown): void {
  process.stdout.write(`${terminalJson(value, 2)}\n`);
}

/** `value` as JSON on one line of stdout (a JSON line, or a compact document). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${terminalJson(value)}\n`);
}
