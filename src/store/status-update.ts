/** The one UPDATE every status change makes (messages and tasks alike): status, error and the times it sets. */
import { isTerminal, type Status } from '../domain/status.js';

/** More assignments for the same UPDATE, with the parameters their `?` take, in order. */
export interface ExtraSets {
  sets: string[];
  params?: unknown[];
}

/**
 * SET clause and parameters for moving a row to `to`: `started_at` is set once, on the first `processing`;
 * `completed_at` on a final status; `error` only when one is given. `extra` adds the caller's assignments.
 */
export function statusUpdate(
  to: Status,
  error: string | null,
  now: string,
  extra: ExtraSets = { sets: [] },
): [string, unknown[]] {
  const sets = ['status = ?', 'error = COALESCE(?, error)', 'updated_at = ?'];
  const params: unknown[] = [to, error, now];
  if (to === 'processing') {
    sets.push('started_at = COALESCE(started_at, ?)');
    params.push(now);
  }
  if (isTerminal(to)) {
    sets.push('completed_at = ?');
    params.push(now);
  }
  return [[...sets, ...extra.sets].join(', '), [...params, ...(extra.params ?? [])]];
}
