/**
 * Row 4: the cost of watching many messages that do not change. A child process (so its CPU and memory are its
 * own) opens a hub with default options, adds 10,000 pending messages to `hub.monitor`, then sits idle; its CPU
 * over the idle window and its RSS at the end are reported.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import {
  type Backend,
  type Cell,
  cpu,
  createMessages,
  idleChild,
  idleWindow,
  int,
  isMain,
  lanes,
  rss,
  sleep,
} from './support.js';

export const WATCHED = 10_000;
const TARGET_CPU = 1;
const TARGET_RSS = 100;

export async function idleMonitor(backend: Backend): Promise<Cell[]> {
  const database = await backend.fresh();
  const hub = await openHub({ database, retentionDays: 0 });
  const ids = await createMessages(hub, WATCHED);
  await hub.close();
  const usage = await idleChild(fileURLToPath(import.meta.url), backend, database, ids);
  const watching = Number(usage.watched) === WATCHED ? '' : ` (watching only ${usage.watched}!)`;
  return [
    {
      row: `4a Idle hub.monitor, ${int(WATCHED)} msgs: CPU, % of a core`,
      target: `≤ ${TARGET_CPU} %`,
      value: cpu(usage) + watching,
      ok: usage.cpuPct <= TARGET_CPU && !watching,
    },
    {
      row: `4b Idle hub.monitor, ${int(WATCHED)} msgs: RSS`,
      target: `≤ ${TARGET_RSS} MB`,
      value: rss(usage),
      ok: usage.rssMb <= TARGET_RSS,
    },
  ];
}

/** The child: watch every message, settle, then sit through the idle window. */
async function idle(database: string, idsFile: string): Promise<void> {
  const ids = JSON.parse(readFileSync(idsFile, 'utf8')) as string[];
  const hub = await openHub({ database });
  await lanes(ids, 64, (id) => hub.monitor.add(id, { status_change: () => undefined }));
  await sleep(1_000);
  await idleWindow(() => ({ watched: hub.monitor.active().length }));
  await hub.close();
}

if (isMain(import.meta.url)) {
  const [role, database, idsFile] = process.argv.slice(2);
  if (role !== 'idle' || !database || !idsFile) throw new Error('usage: idle-monitor.ts idle DATABASE IDS_FILE');
  await idle(database, idsFile);
}
