/**
 * Request ids of asks (idempotency keys). An ask that carries a request id takes it in the transaction that stores
 * the ask, so a key never exists without its ask nor the ask without its key; a retry with the same id in the same
 * scope within 24 hours finds the key and answers the original ask. Keys older than that are swept by the next
 * keyed ask.
 */
import { createHash } from 'node:crypto';
import { HubError } from '../domain/errors.js';
import type { WriteTx } from './database.js';
import type { AskRequestsTable } from './schema.js';

/** How long a request id is kept: a client retrying after a lost answer does so within seconds, a day is ample. */
export const REQUEST_ID_TTL_MS = 24 * 60 * 60 * 1000;

/** A request id in its scope, with the hash of the question it was first used for. */
export interface AskRequest {
  scope: string;
  key: string;
  hash: string;
}

/** Sorts each object's keys, so that the same question always gives the same JSON text. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The hash that tells a retry (the same question) from another question under the same id. */
export function requestHash(request: Record<string, unknown>): string {
  let json: string;
  try {
    json = JSON.stringify(request, sortedKeys);
  } catch (err) {
    throw new HubError('validation', `schema cannot be stored as JSON: ${(err as Error).message}`);
  }
  return createHash('sha256').update(json).digest('hex');
}

/**
 * Takes `request`'s id in `tx`. Answers undefined when the id is new (the caller asks, then `record`s the result
 * in the same transaction), or the stored result of the ask that took it. A concurrent ask holding the same id
 * makes this wait until that one commits (its result is then answered) or rolls back (the id is then ours).
 * `conflict` when the id was taken for another question.
 */
export async function claimRequest<T>(tx: WriteTx, request: AskRequest, now: Date): Promise<T | undefined> {
  await tx.run('DELETE FROM ask_requests WHERE created_at < ?', [
    new Date(now.getTime() - REQUEST_ID_TTL_MS).toISOString(),
  ]);
  const taken = await tx.run(
    'INSERT INTO ask_requests (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING',
    [request.scope, request.key, request.hash, now.toISOString()],
  );
  if (taken === 1) return undefined;
  const row = await tx.get<Pick<AskRequestsTable, 'request_hash' | 'result'>>(
    'SELECT request_hash, result FROM ask_requests WHERE scope = ? AND key = ?',
    [request.scope, request.key],
  );
  if (row?.request_hash !== request.hash) {
    throw new HubError(
      'conflict',
      `request id '${request.key}' was used for another question within the last 24 hours; a new question needs a new request id`,
      { details: { requestId: request.key } },
    );
  }
  // The result is written in the transaction that inserted the row, before it commits: never null here.
  return JSON.parse(row.result as string) as T;
}

/** Stores what the ask that took `request`'s id answered. */
export async function recordRequest(tx: WriteTx, request: AskRequest, result: unknown): Promise<void> {
  await tx.run('UPDATE ask_requests SET result = ? WHERE scope = ? AND key = ?', [
    JSON.stringify(result),
    request.scope,
    request.key,
  ]);
}
