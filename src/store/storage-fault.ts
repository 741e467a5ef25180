/**
 * The drivers' errors that say the database cannot store anything now, turned into `HubError`s once, here at the
 * store's boundary, so that every caller sees a stable code and a sentence a person can act on:
 *
 * - `storage_full`: SQLite's `SQLITE_FULL` (the disk, or the database's page limit), PostgreSQL's `53100`
 *   disk_full.
 * - `storage_unavailable`: SQLite read-only (`SQLITE_READONLY*`), failing (`SQLITE_IOERR*`, `SQLITE_NOMEM`),
 *   unopenable (`SQLITE_CANTOPEN`) or damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`: no request can fix it and the
 *   operator must restore the file, so it is a fault of storage rather than a bug); PostgreSQL read-only
 *   (`25006`: a standby, or `default_transaction_read_only`), out of resources (class `53`), shutting down or
 *   starting (`57P01`–`57P03`), or out of reach (class `08`, refused or dropped connections).
 * - `unavailable`: SQLite busy (`SQLITE_BUSY*`, `SQLITE_LOCKED`) — another writer holds the lock longer than
 *   the wait allowed. Storage works; the request may simply be tried again, so it is not reported as a fault.
 *
 * Anything else (a constraint, a bug) is left as it is.
 */
import { HubError } from '../domain/errors.js';
import type { Dialect } from './schema.js';

/** Where the data lives, as the sentence names it. */
export interface StorageWhere {
  dialect: Dialect;
  /** Safe to print (no password). */
  location: string;
}

const RESUMES = 'claude-comms resumes by itself once it can write again';

/** The driver's error as a HubError when it is a storage fault or a busy database; otherwise undefined. */
export function storageError(err: unknown, where: StorageWhere): HubError | undefined {
  if (err instanceof HubError || !(err instanceof Error)) return undefined;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  const why = where.dialect === 'sqlite' ? sqliteFault(code, where.location) : postgresFault(code, err, where);
  return why && new HubError(why.code, why.detail, { cause: err });
}

interface Fault {
  code: 'storage_full' | 'storage_unavailable' | 'unavailable';
  detail: string;
}

function sqliteFault(code: string, path: string): Fault | undefined {
  const db = `the SQLite database at ${path}`;
  if (code === 'SQLITE_FULL')
    return {
      code: 'storage_full',
      detail: `${db} is full (no space left on its disk, or its size limit reached): free space, then try again; ${RESUMES}`,
    };
  if (code.startsWith('SQLITE_READONLY'))
    return {
      code: 'storage_unavailable',
      detail: `${db} is read-only (${code}: file permissions, a read-only file system, or the file was moved): make it writable; ${RESUMES}`,
    };
  if (code.startsWith('SQLITE_IOERR'))
    return {
      code: 'storage_unavailable',
      detail: `the disk holding ${db} failed to read or write (${code}): check the disk and its free space; ${RESUMES}`,
    };
  if (code.startsWith('SQLITE_CANTOPEN'))
    return {
      code: 'storage_unavailable',
      detail: `${db} cannot be opened (${code}: it, its directory or its -wal/-shm files are missing or inaccessible); ${RESUMES}`,
    };
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
    return {
      code: 'storage_unavailable',
      detail: `${db} is damaged (${code}): stop claude-comms and restore the file from a backup (sqlite3 .recover may save what is left)`,
    };
  if (code.startsWith('SQLITE_NOMEM'))
    return { code: 'storage_unavailable', detail: `SQLite ran out of memory using ${db}; ${RESUMES}` };
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return { code: 'unavailable', detail: `${db} is busy (${code}): another process holds it; try again` };
  return undefined;
}

/** Connection failures as Node reports them: the server is down, restarting or out of reach. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What node-postgres says, without a code, when a connection dropped or none could be had in time. */
const LOST_CONNECTION = /connection terminated|not queryable|timeout exceeded when trying to connect/i;

/** A failure of the connection itself (the server ended it, restarted, or cannot be reached), not of a statement. */
function lostConnection(code: string, err: Error): boolean {
  if (code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('08') || CONNECTION_ERRNOS.has(code))
    return true;
  return code === '' && LOST_CONNECTION.test(err.message);
}

/**
 * Whether a PostgreSQL statement failed with its connection (ended by an administrator or a restart, dropped,
 * reset): a read can run again at once on another of the pool's connections.
 */
export function connectionLost(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const raw = (err as { code?: unknown }).code;
  return lostConnection(typeof raw === 'string' ? raw : '', err);
}

function postgresFault(code: string, err: Error, where: StorageWhere): Fault | undefined {
  const server = `PostgreSQL at ${where.location}`;
  if (code === '53100')
    return {
      code: 'storage_full',
      detail: `${server} has no disk space left (${err.message}): free space on the database server, then try again; ${RESUMES}`,
    };
  if (code === '25006')
    return {
      code: 'storage_unavailable',
      detail: `${server} refuses writes (read-only: a standby, or default_transaction_read_only is on): point claude-comms at a writable primary, or turn read-only off; ${RESUMES}`,
    };
  if (code.startsWith('53'))
    return {
      code: 'storage_unavailable',
      detail: `${server} is out of resources (${code}: ${err.message}); ${RESUMES}`,
    };
  if (lostConnection(code, err))
    return code
      ? {
          code: 'storage_unavailable',
          detail: `cannot reach ${server} (${code}: ${err.message}); ${RESUMES}`,
        }
      : { code: 'storage_unavailable', detail: `lost the connection to ${server} (${err.message}); ${RESUMES}` };
  return undefined;
}
