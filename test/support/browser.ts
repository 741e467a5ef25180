// What the browser tests and the DOM benchmark need: Debian's chromium driven by playwright-core (nothing is
// downloaded), and the dashboard built into dist/dashboard from the current sources.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The chromium to drive: `CHROMIUM_PATH`, else `chromium` or `chromium-browser` on PATH or in /usr/bin. */
export function findChromium(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/snap/bin'].filter(Boolean);
  const candidates = [
    process.env.CHROMIUM_PATH,
    ...dirs.flatMap((dir) => [join(dir, 'chromium'), join(dir, 'chromium-browser')]),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Headless chromium; `--no-sandbox` because tests may run as root (in containers), where its sandbox cannot. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error('chromium not found: install it (apt-get install chromium) or set CHROMIUM_PATH');
  }
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (name.includes('.timestamp-')) continue; // Vite's transient copy of its config
    latest = Math.max(latest, statSync(join(dir, name)).mtimeMs);
  }
  return latest;
}

/** Builds the dashboard (vite build, a few seconds) unless dist/dashboard is newer than every source file. */
export function ensureDashboardBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/dashboard/index.html')).mtimeMs;
  } catch {}
  if (built && built >= newest(join(ROOT, 'dashboard'))) return;
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(ROOT, 'dashboard/vite.config.ts')],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
