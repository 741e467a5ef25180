/**
 * Where the command line writes. Every byte it sends to stdout or stderr goes through here (its help and usage
 * errors too), so no command can forget to make text from the hub safe for a terminal: text for people is
 * written through `forTerminal`, JSON through `terminalJson`, which keeps it exact. Piped output gets the same
 * treatment as a terminal's: `less -R` or a later `cat` would act on what a pipe carried.
 *
 * A reader that goes away (`claude-comms events | head -3`) ends the command as it ends a Unix tool: quietly,
 * with exit status 0, whatever the command was doing — following, watching or paging through the log.
 */
import { forTerminal } from './format.js';
import { terminalJson } from './terminal-text.js';

/** Text for people on stdout. */
export function printOut(text: string): void {
  write(process.stdout, forTerminal(text));
}

/** Text for people on stderr. */
export function printErr(text: string): void {
  write(process.stderr, forTerminal(text));
}

/** `value` as one JSON document on stdout, indented for people who read it too. */
export function printJson(value: unknown): void {
  write(process.stdout, `${terminalJson(value, 2)}\n`);
}

/** `value` as JSON on one line of stdout (a JSON line, or a compact document). */
export function printJsonLine(value: unknown): void {
  write(process.stdout, `${terminalJson(value)}\n`);
}

/** What a closed stdout does: end the process with exit status 0, unless a command said otherwise. */
let stdoutClosed: () => void = () => process.exit(0);

/**
 * Makes a closed stdout end the process at once with exit status 0, and a closed stderr drop what is said there
 * (the command goes on: its output may still be read). Without it, the first write after the reader left throws
 * "Unhandled 'error' event" with a stack, exit 1; and a follow that is never told would run on, unread.
 * Any other failure to write stdout (a full disk) ends it with exit status 1.
 */
export function endQuietlyWhenOutputCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdoutClosed();
    else process.exit(1);
  });
  process.stderr.on('error', () => undefined);
}

/**
 * Replaces what a closed stdout does, for a command that must end in order rather than at once (the service stops
 * its agents and closes its database first).
 */
export function whenStdoutCloses(handler: () => void): void {
  stdoutClosed = handler;
}

function write(stream: NodeJS.WriteStream, text: string): void {
  // After the reader left, the stream is destroyed: writing again would only raise another error.
  if (!stream.destroyed) stream.write(text);
}
