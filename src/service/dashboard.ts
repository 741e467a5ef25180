/**
 * The dashboard as the service serves it: the files `npm run build` writes to dist/dashboard, read into memory
 * once at start (a few hundred KB) and served at `/` with their content types, an ETag, long-lived caching for
 * Vite's content-hashed `assets/` and revalidation for the rest. Only files found in that directory are
 * served, so no request path can reach anything else. The page is sent with a Content-Security-Policy that lets
 * it load its own files and talk to its own origin only: no inline script or style, no other site, no framing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { getMimeType } from 'hono/utils/mime';

/** Where `npm run build` puts the dashboard (the same place from src/ under tsx and from dist/). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/dashboard', import.meta.url));

/** The policy of the dashboard page. `connect-src 'self'` covers its WebSocket (same host and port). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** A year: Vite names every file under `assets/` by a hash of its content, so a changed file is a new URL. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** One file of the built dashboard, ready to send. */
export interface DashboardFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
  cacheControl: string;
}

/** The built dashboard's files by URL path (`/index.html`, `/assets/…`); undefined when it has not been built. */
export function readDashboard(dir = DASHBOARD_DIR): Map<string, DashboardFile> | undefined {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const files = new Map<string, DashboardFile>();
  for (const name of names) {
    const path = join(dir, name);
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = new Uint8Array(readFileSync(path));
    } catch {
      continue; // a directory
    }
    const url = `/${relative(dir, path).split(sep).join('/')}`;
    files.set(url, {
      body,
      type: getMimeType(url) ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      cacheControl: url.startsWith('/assets/') ? IMMUTABLE : 'no-cache',
    });
  }
  return files.has('/index.html') ? files : undefined;
}

/** Serves `files` from `app`: `/` is index.html, every other file at its own path. */
export function mountDashboard(app: Hono, files: Map<string, DashboardFile>): void {
  for (const [path, file] of files) {
    const handler = (c: Context) => {
      const headers: Record<string, string> = {
        'content-type': file.type,
        'cache-control': file.cacheControl,
        etag: file.etag,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      };
      if (file.type.startsWith('text/html')) {
        headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
        headers['x-frame-options'] = 'DENY';
      }
      const match = c.req.header('if-none-match');
      if (match?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) {
        return c.body(null, 304, headers);
      }
      return c.body(file.body, 200, headers);
    };
    app.get(path, handler);
    if (path === '/index.html') app.get('/', handler);
  }
}
