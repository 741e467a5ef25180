/**
 * Row 8: from a change committed to what the dashboard shows, in chromium. A service (HTTP, WebSocket, the
 * built dashboard) runs in this process; the page shows a thread of 10 replies while they stream, 100 appends a
 * second in all (10/s each, past the hub's 50 ms coalescing window, so each append is its own event). Every
 * append carries its number; a MutationObserver in the page notes the time each number first appears in the
 * DOM, on the page's clock, which round trips tie to ours (offset error ≤ half the best round trip, reported).
 * Two figures: from the commit (the append's call resolved) and from the write call, to the DOM.
 */
import pino from 'pino';
import type { Page } from 'playwright-core';
import { ensureDashboardBuilt, launchChromium } from '../test/support/browser.js';
import { noModulesConfig, startBenchService } from './service.js';
import { type Backend, type Cell, ms, now, paced, sleep, spread, stats } from './support.js';

const REPLIES = 10;
const PER_SECOND = 100;
const WARMUP = 100;
const COUNT = 1_000;
const TARGET_P99 = 100;

/** Runs in the page: notes when each `‹n›` first shows in a reply's text (epoch ms, page clock). */
const OBSERVE = `(() => {
  const seen = (window.__seen = {});
  const scanned = new WeakMap();
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    const touched = new Set();
    for (const r of records) {
      const node = r.target.nodeType === Node.TEXT_NODE ? r.target.parentElement : r.target;
      const content = node && node.closest ? node.closest('.content') : null;
      if (content) touched.add(content);
    }
    for (const content of touched) {
      const text = content.textContent;
      for (const m of text.slice(scanned.get(content) ?? 0).matchAll(/‹(\\d+)›/g)) if (!(m[1] in seen)) seen[m[1]] = at;
      scanned.set(content, text.length);
    }
  }).observe(document.querySelector('.messages'), { subtree: true, childList: true, characterData: true });
})()`;

/**
 * Polls `expression` in the page from here. (Playwright's own waiting compiles code inside the page, which the
 * dashboard's Content-Security-Policy rightly refuses.)
 */
async function pageHolds(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (now() > deadline) throw new Error(`timed out waiting in the page for ${expression}`);
    await sleep(10);
  }
}

export async function domLatency(backend: Backend): Promise<Cell[]> {
  ensureDashboardBuilt();
  const service = await startBenchService(await backend.fresh(), noModulesConfig(), pino({ level: 'silent' }));
  const browser = await launchChromium();
  try {
    const hub = service.hub;
    const thread = await hub.threads.create({ title: 'bench', createdBy: 'bench' });
    const replies: string[] = [];
    for (let i = 0; i < REPLIES; i++) {
      const reply = await hub.messages.create({ threadId: thread.id, author: 'bench' });
      await hub.messages.transition(reply.id, 'processing');
      replies.push(reply.id);
    }
    const page = await browser.newPage();
    await page.goto(`${service.url}/#/threads/${thread.id}`);
    await pageHolds(
      page,
      `document.querySelector('.connection[data-state="live"]') && document.querySelectorAll('.message[data-status="processing"]').length === ${REPLIES}`,
    );
    await page.evaluate(OBSERVE);

    // The page's clock minus ours, from the round trip that took least.
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let i = 0; i < 50; i++) {
      const sent = now();
      const pageAt = (await page.evaluate('performance.timeOrigin + performance.now()')) as number;
      const back = now();
      if (back - sent < best.rtt) best = { rtt: back - sent, offset: pageAt - (sent + back) / 2 };
    }

    const total = WARMUP + COUNT;
    const called: number[] = [];
    const committed: number[] = [];
    let failed = 0;
    await paced(total, PER_SECOND, (i) => {
      called[i] = now();
      hub.messages.appendContent(replies[i % REPLIES] as string, `‹${i}› `).then(
        () => {
          committed[i] = now();
        },
        () => failed++,
      );
    });
    await pageHolds(page, `Object.keys(window.__seen).length >= ${total}`).catch(() => undefined);
    const seen = (await page.evaluate('window.__seen')) as Record<string, number>;
    const fromCommit: number[] = [];
    const fromCall: number[] = [];
    let missed = 0;
    for (let i = WARMUP; i < total; i++) {
      const at = seen[i];
      if (at === undefined || committed[i] === undefined) {
        missed++;
        continue;
      }
      const shown = at - best.offset;
      fromCommit.push(shown - (committed[i] as number));
      fromCall.push(shown - (called[i] as number));
    }
    const problems = missed || failed ? ` (${missed} of ${COUNT} never shown, ${failed} failed!)` : '';
    const clock = ` (clock ±${ms(best.rtt / 2)} ms)`;
    const commit = stats(fromCommit);
    const call = stats(fromCall);
    return [
      {
        row: `8a Dashboard: commit→DOM at ${PER_SECOND} events/s: p50 / p99 / max`,
        target: `p99 ≤ ${TARGET_P99} ms`,
        value: `${spread(commit)}${clock}${problems}`,
        ok: commit.p99 <= TARGET_P99 && !missed && !failed,
      },
      {
        row: '8b Dashboard: write-call→DOM: p50 / p99 / max',
        target: 'reference (includes the write)',
        value: spread(call),
      },
    ];
  } finally {
    await browser.close();
    await service.close();
  }
}
