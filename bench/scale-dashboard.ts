/**
 * The scale section's dashboard figures: its first load in chromium (a new browser context each time, so nothing
 * is cached), timed from navigation until what the page is opened for is shown — the overview's totals and active
 * work, or the task list's first page — and the service's CPU for each load, until the page's requests are done.
 */
import type { Browser, Page } from 'playwright-core';
import { cpuSeconds, now, sleep } from './support.js';

/** Shown: the totals hold numbers and the active work is no longer loading. */
const OVERVIEW_SHOWN = `(() => {
  const total = document.querySelector('[data-total="total"] .tile-value');
  if (!total || total.textContent === '…') return false;
  const active = [...document.querySelectorAll('section.card')].find((s) => s.querySelector('h2')?.textContent?.startsWith('Active work'));
  return !!active && !active.textContent.includes('Loading…');
})()`;

/** Shown: the task list has rows. */
const TASKS_SHOWN = `document.querySelectorAll('.task-table tr[data-task-id]').length > 0`;

/** Polls `expression` in the page (the page's Content-Security-Policy refuses Playwright's own waiting). */
async function pageHolds(page: Page, expression: string, timeoutMs = 60_000): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (now() > deadline) throw new Error(`timed out waiting in the page for ${expression}`);
    await sleep(5);
  }
}

/** One first load of each view, from the service at `url` (process `pid`): how long until shown, and its CPU. */
export async function firstLoad(
  browser: Browser,
  url: string,
  pid: number,
): Promise<{ overview: number; tasks: number; cpuMs: number }> {
  const shownAfter = { overview: 0, tasks: 0 };
  let cpuMs = 0;
  for (const [view, hash, shown] of [
    ['overview', '#/', OVERVIEW_SHOWN],
    ['tasks', '#/tasks', TASKS_SHOWN],
  ] as const) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const before = cpuSeconds([pid]).get(pid) ?? 0;
      const start = now();
      await page.goto(`${url}/${hash}`);
      await pageHolds(page, shown);
      shownAfter[view] = now() - start;
      // The rest of the page's first requests (the thread list, the modules) are the service's work too.
      await page.waitForLoadState('networkidle');
      cpuMs += ((cpuSeconds([pid]).get(pid) ?? 0) - before) * 1000;
    } finally {
      await context.close();
    }
  }
  return { ...shownAfter, cpuMs: cpuMs / 2 };
}
