/**
 * Cursors are opaque strings naming a position in the event log. Clients must not parse them; the encoding
 * (a version tag and the sequence number in base 36) leaves room to change what a position is.
 */
import { HubError } from './errors.js';

const PREFIX = 'c1.';
const BODY = /^[0-9a-z]{1,13}$/;

/** The cursor for the position just after event `seq` (0 = the start of the log). */
export function encodeCursor(seq: number): string {
  return PREFIX + seq.toString(36);
}

/** The sequence number a cursor stands for; `invalid_cursor` for anything this hub did not issue. */
export function decodeCursor(cursor: unknown): number {
  if (typeof cursor === 'string' && cursor.startsWith(PREFIX)) {
    const body = cursor.slice(PREFIX.length);
    if (BODY.test(body)) {
      const seq = Number.parseInt(body, 36);
      if (Number.isSafeInteger(seq)) return seq;
    }
  }
  const shown = typeof cursor === 'string' ? `'${cursor.slice(0, 80)}'` : String(cursor);
  throw new HubError('invalid_cursor', `${shown} is not a cursor issued by this hub`);
}
