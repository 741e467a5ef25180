/**
 * A step inside a caller's write transaction that happens whole or not at all, while the transaction goes on:
 * its statements run under a savepoint and its events wait in a queue of their own, handed to the transaction
 * only if the step succeeds. A step that throws leaves the transaction as it found it — rows and events — so a
 * caller may catch the error and still commit what it did itself (SQLite and PostgreSQL both nest savepoints).
 */
import type { NewEvent } from '../domain/types.js';
import type { WriteTx } from './sql-client.js';

/** Runs `fn` in `tx` under a savepoint: all of its writes and events, or none of them if it throws. */
export async function atomicStep<T>(tx: WriteTx, fn: (step: WriteTx) => Promise<T>): Promise<T> {
  const events: NewEvent[] = [];
  const step: WriteTx = {
    all: (q, p) => tx.all(q, p),
    get: (q, p) => tx.get(q, p),
    run: (q, p) => tx.run(q, p),
    emit: (e) => {
      events.push(e);
    },
  };
  await tx.run('SAVEPOINT step');
  let result: T;
  try {
    result = await fn(step);
  } catch (err) {
    try {
      await tx.run('ROLLBACK TO SAVEPOINT step');
      await tx.run('RELEASE SAVEPOINT step');
    } catch {
      // The database already ended the whole transaction (a full disk, a lost connection): nothing of the step
      // is left to undo, and the caller's commit fails with that fault.
    }
    throw err;
  }
  await tx.run('RELEASE SAVEPOINT step');
  for (const e of events) tx.emit(e);
  return result;
}
