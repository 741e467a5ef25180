// A real service (temp SQLite, a config.yaml of command modules) with a chromium page on its dashboard, for the
// browser tests: the page's uncaught errors and dialogs are collected so each test can assert there were none.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, vi } from 'vitest';
import { type Service, startService } from '../../src/service/service.js';
import { memoryLogger } from './backends.js';
import { findChromium, launchChromium } from './browser.js';

/** Waits until `read()` gives `expected` (a page shows a change after its event arrives, not at once). */
export async function shows(read: () => Promise<unknown>, expected: unknown, timeout = 10_000): Promise<void> {
  await vi.waitFor(async () => expect(await read()).toEqual(expected), { timeout, interval: 25 });
}

/** Answers the question it was asked. */
const ECHO = `let q = ''; process.stdin.on('data', (d) => (q += d)); process.stdin.on('end', () => process.stdout.write('re: ' + q.trim()));`;

/** Records its pid in `pid`, then writes a step every 100 ms until it is stopped. */
const SLOW = `import { renameSync, writeFileSync } from 'node:fs';
writeFileSync('pid.tmp', String(process.pid));
renameSync('pid.tmp', 'pid');
let step = 0;
setInterval(() => process.stdout.write('step ' + ++step + '\\n'), 100);`;

const MODULES = {
  arangodb: { description: 'Database layer: stores extracted documents as a graph.', script: ECHO, concurrency: 2 },
  marker: { description: 'PDF extractor: sections, tables and figures.', script: ECHO, concurrency: 1 },
  slow: { description: 'Works until it is stopped.', script: SLOW, concurrency: 1 },
};

/** A config.yaml of the modules above, each in its own directory; answers the config path and the directory. */
export function writeConfig(): { config: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cc-dashboard-'));
  const lines = ['modules:'];
  for (const [name, m] of Object.entries(MODULES)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'agent.mjs'), m.script);
    lines.push(
      `  ${name}:`,
      `    description: ${JSON.stringify(m.description)}`,
      `    cwd: ${name}`,
      '    backend: command',
      `    command: ${JSON.stringify(process.execPath)}`,
      '    args: [agent.mjs]',
      `    concurrency: ${m.concurrency}`,
    );
  }
  writeFileSync(join(dir, 'config.yaml'), `${lines.join('\n')}\n`);
  return { config: join(dir, 'config.yaml'), dir };
}

export interface DashboardOptions {
  /** Bind address (default 127.0.0.1; anything else requires tokens). */
  host?: string;
  /** An existing database (default: a new SQLite file). */
  database?: string;
  viewport?: { width: number; height: number };
}

export interface Dashboard {
  service: Service;
  /** The service's base URL, always through 127.0.0.1. */
  url: string;
  database: string;
  /** Where the modules' directories are (`<dir>/slow/pid`…). */
  dir: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors and dialogs in the page so far. */
  problems: string[];
  /** Calls the API (as a script would, not through the page). */
  call(
    path: string,
    init?: { method?: string; body?: unknown; token?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Stops the service (the page stays open). */
  stop(): Promise<void>;
  /** Starts the service again on the same database and port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a service and opens a page (not yet navigated) in a fresh browser context. */
export async function openDashboard(browser: Browser, options: DashboardOptions = {}): Promise<Dashboard> {
  const { config, dir } = writeConfig();
  const database = options.database ?? `sqlite:${join(dir, 'comms.db')}`;
  const host = options.host ?? '127.0.0.1';
  const launch = (port: number) =>
    startService({ host, port, database, config, stateFile: false, logger: memoryLogger().logger });
  let service = await launch(0);
  const port = Number(new URL(service.url).port);
  const url = `http://127.0.0.1:${port}`;
  let running = true;
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  const dashboard: Dashboard = {
    get service() {
      return service;
    },
    url,
    database,
    dir,
    context,
    page,
    problems,
    async call(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      const res = await fetch(`${url}/api/v1${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async stop() {
      running = false;
      await service.close();
    },
    async start() {
      service = await launch(port);
      running = true;
    },
    async close() {
      await context.close();
      if (running) await service.close();
    },
  };
  return dashboard;
}

/**
 * A suite with one chromium for its tests and `open()` for a service with a page; after each test its pages
 * and services are closed, and a page that threw or opened a dialog fails the test. Without chromium the suite
 * is skipped, except in CI, where it fails: a skipped browser suite there would hide regressions.
 */
export function describeDashboard(
  name: string,
  body: (open: (options?: DashboardOptions) => Promise<Dashboard>) => void,
) {
  describe.skipIf(!findChromium() && !process.env.CI)(name, () => {
    let browser: Browser | undefined;
    let launchFailure: unknown;
    const opened: Dashboard[] = [];
    beforeAll(async () => {
      try {
        browser = await launchChromium();
      } catch (err) {
        launchFailure = err; // each test then fails with it, rather than the suite counting as skipped
      }
    });
    afterEach(async () => {
      const problems = opened.flatMap((d) => d.problems);
      await Promise.all(opened.splice(0).map((d) => d.close()));
      expect(problems).toEqual([]);
    });
    afterAll(async () => {
      await browser?.close();
    });
    body(async (options) => {
      if (!browser) throw launchFailure;
      const dashboard = await openDashboard(browser, options);
      opened.push(dashboard);
      return dashboard;
    });
  });
}
