/**
 * Row 14b: the pdf-to-arangodb example's wall time, end to end, with the bundled offline modules (the example
 * agents): a generated 10-page PDF extracted by the built-in extractor (a process of its own, as in the service),
 * arangodb's requirements asked and answered, the document checked, reviewed by marker, converted and written as
 * import files with the report — from the run started to the run complete. The claude-comms program the built-in
 * commands run is the built one (`npm run build` first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE_CONFIG, EXAMPLE_DIR } from '../src/config/example.js';
import { openHub } from '../src/index.js';
import { longPdf } from '../test/support/pdfs.js';
import { type Backend, type Cell, now, scratch, spread, stats } from './support.js';

const RUNS = 3;
const PAGES = 10;

export async function exampleBench(backend: Backend): Promise<Cell[]> {
  const dir = scratch();
  const pdf = join(dir, `example-${backend.name}.pdf`);
  writeFileSync(pdf, await longPdf(PAGES));
  const hub = await openHub({ database: await backend.fresh(), retentionDays: 0, config: false });
  const times: number[] = [];
  let failed = '';
  try {
    await hub.syncConfig(EXAMPLE_CONFIG);
    await hub.startWorker();
    await hub.startWorkflows();
    const yaml = readFileSync(join(EXAMPLE_DIR, 'pdf-to-arangodb.yaml'), 'utf8');
    for (let i = 0; i < RUNS; i++) {
      const t = now();
      const run = await hub.workflows.start(yaml, { pdf, out: join(dir, `example-${backend.name}-${i}`) });
      for (;;) {
        const r = await hub.workflows.get(run.id);
        if (r.status === 'complete') break;
        if (r.status === 'failed' || r.status === 'cancelled') {
          failed = r.error ?? r.status;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      times.push(now() - t);
    }
  } finally {
    await hub.close();
  }
  const s = stats(times);
  return [
    {
      row: `14b The pdf-to-arangodb example, ${PAGES}-page PDF, offline modules: wall time p50 / p99 / max`,
      target: 'measured',
      value: failed ? `failed: ${failed.slice(0, 80)}` : spread(s),
      ok: !failed,
    },
  ];
}
