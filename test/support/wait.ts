// Small helpers shared by the integration tests: polling waits and reading the whole log.
import type { EventFilter, Hub, HubEvent } from '../../src/index.js';

/**
 * Resolves once `check` holds, polling every 5 ms; throws after `timeoutMs` naming `what` it waited for.
 * A wait, not a timing assertion: timeouts are generous.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what: string | (() => string) = 'a condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every event in the log (after `after`, when given) that passes `filter`, paging through it. */
export async function readLog(hub: Hub, after?: string, filter: EventFilter = {}): Promise<HubEvent[]> {
  const all: HubEvent[] = [];
  for (;;) {
    const page = await hub.events.list({ ...filter, after, limit: 1000 });
    all.push(...page.events);
    after = page.cursor;
    if (!page.hasMore) return all;
  }
}
