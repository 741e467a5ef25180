// Builds the dashboard (dashboard/src, React) into dist/dashboard, which the service serves at `/`. The page
// loads nothing from anywhere else: no CDN, no web fonts; the service's Content-Security-Policy enforces that.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the page works at `/` and behind a proxy that mounts the service under a path.
  base: './',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    // Everything the page needs is a file of its own (no data: URLs to allow beyond images).
    assetsInlineLimit: 0,
  },
});
