/** Identifiers: UUIDv7, so ids sort by creation time. */
import { v7 } from 'uuid';
import { HubError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A new time-ordered id. */
export function newId(): string {
  return v7();
}

/** Throws `validation` unless `value` is a well-formed id; `what` names it in the message ("message id"). */
export function assertId(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    const shown = typeof value === 'string' ? `'${value.slice(0, 80)}'` : String(value);
    throw new HubError('validation', `${shown} is not a valid ${what} (expected a UUID)`);
  }
}
