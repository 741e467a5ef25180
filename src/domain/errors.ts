/**
 * The one error type of claude-comms. Every failure a caller can act on carries a stable `code` (switch on it)
 * and a message naming what was wrong (show it to people).
 */

/** Stable error codes. Callers switch on these; messages are for people. */
export const HUB_ERROR_CODES = [
  'validation',
  'not_found',
  'invalid_transition',
  'invalid_cursor',
  'cursor_expired',
  'too_large',
  'conflict',
  'timeout',
  'unauthorized',
  'forbidden',
  'unavailable',
  'storage_full',
  'storage_unavailable',
  'schema_too_new',
  'closed',
  'internal',
] as const;

export type HubErrorCode = (typeof HUB_ERROR_CODES)[number];

/** An error with a stable `code`, a human message naming what was wrong, and optional structured details. */
export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}

/** True when `err` is a HubError, optionally with the given code. */
export function isHubError(err: unknown, code?: HubErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

/**
 * True when `err` says the database cannot store anything now: its disk is full (`storage_full`), or it is
 * read-only, failing or out of reach (`storage_unavailable`). Such a fault clears without a change to the request.
 */
export function isStorageFault(err: unknown): err is HubError {
  return isHubError(err, 'storage_full') || isHubError(err, 'storage_unavailable');
}
