// The service's retention: events older than its `retentionDays` are pruned when it starts, and a longer
// retention keeps them. On 90 days of history loaded in bulk (the scale benchmarks' loader and data).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { history, moduleRows } from '../../bench/scale-data.js';
import type { Service } from '../../src/service/service.js';
import { BulkLoader } from '../../src/store/bulk-load.js';
import { startBareService } from '../support/service.js';
import { until } from '../support/wait.js';

const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/** A SQLite database holding 100 finished asks made over the 90 days before now. */
async function ninetyDays(): Promise<string> {
  const database = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cc-retention-')), 'comms.db')}`;
  const plan = { asks: 100, end: Date.now() };
  const loader = await BulkLoader.open(database);
  await loader.insert(moduleRows(plan));
  for (const chunk of history(plan)) await loader.insert(chunk);
  await loader.finish();
  return database;
}

const oldest = async (service: Service) => (await service.hub.events.list({ limit: 1 })).events[0];

describe('service retention', () => {
  it('prunes events past the default 30 days at start, and keeps them with retentionDays 365', async () => {
    const [kept, pruned] = [await ninetyDays(), await ninetyDays()];
    const keeping = await startBareService(kept, { retentionDays: 365 });
    services.push(keeping);
    const pruning = await startBareService(pruned);
    services.push(pruning);
    const month = Date.now() - 30 * 24 * 60 * 60 * 1000;
    await until(async () => Date.parse((await oldest(pruning))?.at ?? '') >= month, 10_000, 'the default prune');
    // The keeping service's sweep (one read when nothing is old enough) ran before the other service started.
    expect(await oldest(keeping)).toMatchObject({ seq: 1, type: 'module.registered' });
  });
});
