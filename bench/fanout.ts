/**
 * Rows 9a – 9c: live events fanned out over HTTP. The service runs in a child process (its own event loop, as
 * in production) with 1,000 clients connected to it — over SSE for one figure, over WebSocket for the other —
 * living in two more child processes of 500 each. The service's hub writes paced transitions (20/s for 5 s,
 * after a second of warm-up), each client notes when it receives each one, and the latency runs from the commit
 * (the hub dispatching the event in the service) to the receipt: 100,000 client × event pairs per figure. Both
 * clocks are `performance.timeOrigin + performance.now()` on one machine. Every transition is on its own
 * message, so missed and duplicated deliveries are counted by message id, per client.
 */
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { SseParser } from '../src/client/sse.js';
import type { HubEvent } from '../src/index.js';
import { payload } from '../test/support/payload.js';
import { noModulesConfig, startBenchService } from './service.js';
import {
  type Backend,
  type Cell,
  createMessages,
  heard,
  int,
  isMain,
  lanes,
  now,
  paced,
  sleep,
  spread,
  startChild,
  stats,
  tell,
} from './support.js';

const CLIENTS = 1_000;
const PROCESSES = 2;
const RATE = 20;
const COUNT = 100;
const WARMUP = 20;
/** Time after the last commit for deliveries still on their way; later ones count as missed. */
const STRAGGLERS_MS = 1_500;
const TARGET_P99 = 50;
const PROTOCOLS = { sse: 'SSE', ws: 'WebSocket' } as const;
type Protocol = keyof typeof PROTOCOLS;

export async function fanout(backend: Backend): Promise<Cell[]> {
  const cells: Cell[] = [];
  const lost: string[] = [];
  let allDelivered = true;
  for (const [protocol, name] of Object.entries(PROTOCOLS) as [Protocol, string][]) {
    const { samples, missed, duplicates } = await run(backend, protocol);
    const s = stats(samples);
    cells.push({
      row: `9${protocol === 'sse' ? 'a' : 'b'} ${name} fan-out to ${int(CLIENTS)} clients, commit→client: p50 / p99 / max`,
      target: `p99 ≤ ${TARGET_P99} ms`,
      value: spread(s),
      ok: s.p99 <= TARGET_P99,
    });
    lost.push(`${name} ${int(missed)} / ${int(duplicates)}`);
    allDelivered &&= missed === 0 && duplicates === 0;
  }
  cells.push({
    row: '9c …of which missed / duplicated',
    target: '0 / 0',
    value: `${lost.join(', ')} of ${int(CLIENTS * COUNT)}`,
    ok: allDelivered,
  });
  return cells;
}

/** One protocol: a fresh service, its clients, the paced writes; every receipt's latency from its commit. */
async function run(backend: Backend, protocol: Protocol) {
  const file = fileURLToPath(import.meta.url);
  const server = startChild(file, ['serve', await backend.fresh(), noModulesConfig()], 120_000);
  const { url } = await server.message('url');
  const perProcess = CLIENTS / PROCESSES;
  const clients = Array.from({ length: PROCESSES }, () =>
    startChild(file, ['clients', protocol, String(url), String(perProcess)], 120_000),
  );
  for (const client of clients) await client.message('connected');
  server.send('go');
  const { committedAt } = (await server.message('committedAt')) as { committedAt: Record<string, number> };
  for (const client of clients) client.send('report');
  const reports = await Promise.all(clients.map((client) => client.message('receipts')));
  await Promise.all([server.exited, ...clients.map((client) => client.exited)]);
  const samples: number[] = [];
  let [received, duplicates] = [0, 0];
  for (const report of reports) {
    duplicates += Number(report.duplicates);
    for (const [id, times] of Object.entries(report.receipts as Record<string, number[]>)) {
      const committed = committedAt[id];
      if (committed === undefined) continue;
      received += times.length;
      for (const at of times) samples.push(at - committed);
    }
  }
  return { samples, missed: CLIENTS * COUNT - (received - duplicates), duplicates };
}

/**
 * The service child: creates its messages, then on "go" writes the paced transitions. The commit time is when
 * the hub dispatches the event: a subscriber that was there before any client hears it first, right after the
 * COMMIT (the transition call itself resolves only after the dispatch to every client has been queued).
 */
async function serve(database: string, config: string): Promise<void> {
  const service = await startBenchService(database, config);
  const hub = service.hub;
  const ids = await createMessages(hub, WARMUP + COUNT);
  const committedAt: Record<string, number> = {};
  const sub = await hub.events.subscribe({ types: ['message.status_changed'] }, (event) => {
    if (payload(event).reason === 'timed' && event.messageId) committedAt[event.messageId] = now();
  });
  tell({ url: service.url });
  await heard();
  const writes: Promise<unknown>[] = [];
  await paced(WARMUP + COUNT, RATE, (i) => {
    writes.push(hub.messages.transition(ids[i] as string, 'processing', { reason: i < WARMUP ? 'warm-up' : 'timed' }));
  });
  await Promise.all(writes);
  await sleep(STRAGGLERS_MS);
  sub.close();
  tell({ committedAt });
  await service.close();
}

/**
 * A clients child: `count` connections, opened 50 at a time; each receipt of a timed transition is noted with
 * its time. On a line from the parent it reports them, grouped by message, and how many were duplicates.
 */
async function clients(protocol: Protocol, url: string, count: number): Promise<void> {
  const receipts = new Map<string, number[]>();
  let duplicates = 0;
  const connections: { close(): void }[] = [];
  const received = (seen: Set<string>, event: HubEvent) => {
    const at = now();
    if (event.type !== 'message.status_changed' || event.data.reason !== 'timed' || !event.messageId) return;
    if (seen.has(event.messageId)) duplicates++;
    seen.add(event.messageId);
    const times = receipts.get(event.messageId);
    if (times) times.push(at);
    else receipts.set(event.messageId, [at]);
  };
  await lanes(Array.from({ length: count }), 50, async () => {
    const seen = new Set<string>();
    connections.push(
      protocol === 'sse'
        ? await openSse(`${url}/api/v1/events/stream`, (event) => received(seen, event))
        : await openWs(`${url.replace('http', 'ws')}/api/v1/ws`, (event) => received(seen, event)),
    );
  });
  tell({ connected: true });
  await heard();
  tell({ receipts: Object.fromEntries(receipts), duplicates });
  for (const connection of connections) connection.close();
}

/** An SSE connection that hands each event to `onEvent`; resolves once `ready` has arrived. */
function openSse(url: string, onEvent: (event: HubEvent) => void): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET ${url}: ${res.statusCode}`));
      res.setEncoding('utf8');
      const parser = new SseParser();
      res.on('data', (chunk: string) => {
        for (const message of parser.push(chunk)) {
          if (message.event === 'ready') resolve({ close: () => req.destroy() });
          else onEvent(JSON.parse(message.data) as HubEvent);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket connection that hands each event to `onEvent`; resolves once `ready` has arrived. */
function openWs(url: string, onEvent: (event: HubEvent) => void): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', reject);
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; event?: HubEvent };
      if (message.type === 'ready') resolve({ close: () => ws.terminate() });
      else if (message.event) onEvent(message.event);
    });
  });
}

if (isMain(import.meta.url)) {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'serve' && args[0] && args[1]) await serve(args[0], args[1]);
  else if (role === 'clients' && args[0] && args[1] && args[2]) {
    await clients(args[0] as Protocol, args[1], Number(args[2]));
  } else throw new Error('usage: fanout.ts serve DATABASE CONFIG | clients sse|ws URL COUNT');
}
