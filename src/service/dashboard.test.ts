// Serving the built dashboard: content types, caching, the page's security headers, and nothing beyond the
// built files.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, mountDashboard, readDashboard } from './dashboard.js';

function built(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cc-dashboard-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><script type="module" src="./assets/index-AbC123.js"></script>',
  );
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-AbC123.css'), 'body{}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
  return dir;
}

function app(dir: string): Hono {
  const files = readDashboard(dir);
  if (!files) throw new Error('not built');
  const root = new Hono();
  mountDashboard(root, files);
  return root;
}

describe('dashboard files', () => {
  it('serves the page at / with a strict Content-Security-Policy and revalidation', async () => {
    const res = await app(built()).request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('index-AbC123.js');
  });

  it('serves hashed assets with their types, cached for a year; other files revalidate', async () => {
    const root = app(built());
    const js = await root.request('/assets/index-AbC123.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await root.request('/assets/index-AbC123.css')).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    const icon = await root.request('/favicon.svg');
    expect(icon.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const root = app(built());
    const first = await root.request('/');
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await root.request('/', { headers: { 'if-none-match': `W/${etag}` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves nothing but the built files', async () => {
    const root = app(built());
    for (const path of [
      '/nope',
      '/assets/../../package.json',
      '/index.html/x',
      '/..%2f..%2fetc%2fpasswd',
      '/assets/',
      '/api/v1/health',
    ]) {
      expect((await root.request(path)).status, path).toBe(404);
    }
  });

  it('counts a directory without index.html as not built', () => {
    expect(readDashboard(join(tmpdir(), 'no-such-dashboard'))).toBeUndefined();
    expect(readDashboard(mkdtempSync(join(tmpdir(), 'cc-empty-')))).toBeUndefined();
  });
});
