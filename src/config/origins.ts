/**
 * The origins, besides its own, whose web pages may use the service (checked by src/server/origin.ts): how
 * they are written (`--allow-origin`, `CLAUDE_COMMS_ALLOWED_ORIGINS`) and normalized. Kept apart from the server
 * so the CLI checks its flags without loading it.
 */
import { HubError } from '../domain/errors.js';

/** The environment variable holding extra allowed origins, comma-separated. */
export const ALLOWED_ORIGINS_ENV = 'CLAUDE_COMMS_ALLOWED_ORIGINS';

/**
 * An origin as browsers send it (`scheme://host[:port]`, default port left out), or a `validation` error naming
 * what is wrong with it.
 */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new HubError('validation', `origin ${JSON.stringify(text)} is not a URL such as http://localhost:5173`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('validation', `origin ${JSON.stringify(text)} must start with http:// or https://`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new HubError(
      'validation',
      `origin ${JSON.stringify(text)} must be only scheme, host and port (such as ${url.origin}), without a path`,
    );
  }
  return url.origin;
}

/** The allowed origins of a comma-separated list (the environment variable's form); empty entries are skipped. */
export function parseOriginList(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .filter((entry) => entry.trim())
    .map(normalizeOrigin);
}
