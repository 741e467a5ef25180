/** How a program ended, in words for an error message. */

/** The last non-blank line of `text`, trimmed: what a failed program's stderr usually ends with, its reason. */
export function lastLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
}

/** Why a program that did not exit with status 0 failed: its exit status with `last` (see `lastLine`), or a signal. */
export function exitError(code: number | null, signal: NodeJS.Signals | null, last?: string): string {
  return code === null
    ? `killed by signal ${signal ?? 'unknown'}`
    : `exited with status ${code}${last ? `: ${last}` : ''}`;
}

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
