/**
 * Rows 11a – 11g: stream clients that never read. A log of 15,000 events is written first (3,750 asks with
 * prompts of 300 B to 4 KB; not timed), in a child process of its own. Then, for each run, a fresh service on
 * that database runs in a child process, so that its RSS is its own, and a second child opens stream clients on
 * raw sockets that ask for the whole log (`after` = the start) and stop reading once the response has begun:
 * 300 over WebSocket, 300 over SSE, then 150 of each. While they are connected (from the first connection until
 * the service has nothing more it can send, see HOLD_MS), this process asks `GET /api/v1/health` every 20 ms, on
 * schedule whatever the answers take, and samples the service's VmRSS from /proc; the peak is its VmHWM. The idle
 * service is polled the same way for 5 s before the clients connect: what the machine's load alone does to it.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openHub } from '../src/index.js';
import { noModulesConfig, startBenchService } from './service.js';
import {
  type Backend,
  type Cell,
  cpuSeconds,
  heard,
  int,
  isMain,
  lanes,
  now,
  sleep,
  spread,
  startChild,
  stats,
  tell,
} from './support.js';

/** Each ask writes four events: its thread, the question, the pending reply and the task. */
const ASKS = 3_750;
/**
 * The clients stay connected at least this long after the last one connected, and until the service has been
 * idle (below IDLE_CPU of a core) for QUIET_MS: it has written into the sockets' kernel buffers (up to 4 MB each
 * on Linux) all they take, and every client is stalled. That takes some 15 s on a quiet machine.
 */
const HOLD_MS = 20_000;
const QUIET_MS = 5_000;
const IDLE_CPU = 0.1;
const MAX_HOLD_MS = 120_000;
const POLL_MS = 20;
/** How long the idle service is polled first, for comparison. */
const CONTROL_MS = 5_000;
/** Time given to the service after the clients left, before its RSS is read again. */
const SETTLE_MS = 3_000;
const TARGET_RSS_MB = 300;
const TARGET_P99 = 50;
const START = 'c1.0';
const RUNS = [
  { label: 'a', name: '300 WebSocket', short: 'WebSocket', ws: 300, sse: 0 },
  { label: 'c', name: '300 SSE', short: 'SSE', ws: 0, sse: 300 },
  { label: 'e', name: '150 WebSocket + 150 SSE', short: 'mixed', ws: 150, sse: 150 },
] as const;

interface Streams {
  clients: number;
  heldBytes: number;
}

export async function stalledReaders(backend: Backend): Promise<Cell[]> {
  const file = fileURLToPath(import.meta.url);
  const database = await backend.fresh();
  const filler = startChild(file, ['fill', database], 300_000);
  const log = await filler.message('logBytes');
  await filler.exited;
  const logText = `${int(Number(log.events))} events (${(Number(log.logBytes) / 1e6).toFixed(1)} MB)`;
  const cells: Cell[] = [];
  const closed: string[] = [];
  for (const run of RUNS) {
    const r = await measure(file, database, run.ws, run.sse);
    const next = String.fromCharCode(run.label.charCodeAt(0) + 1);
    cells.push(
      {
        row: `11${run.label} ${run.name} clients replaying ${logText}, never reading: service RSS peak`,
        target: `≤ ${TARGET_RSS_MB} MB`,
        value: `${mb(r.peakKb)} (idle ${mb(r.beforeKb)}, ${mb(r.afterKb)} once they left)`,
        ok: r.peakKb / 1024 <= TARGET_RSS_MB,
      },
      {
        row: `11${next} …/health meanwhile, every ${POLL_MS} ms: p50 / p99 / max (the idle service before them)`,
        target: `p99 ≤ ${TARGET_P99} ms`,
        value: `${spread(r.health)} (idle ${spread(r.idle)})${r.failed ? `, ${int(r.failed)} failed: ${r.failure}` : ''}`,
        ok: r.health.p99 <= TARGET_P99 && !r.failed,
      },
    );
    const streams = r.streams
      ? `${r.streams.closed} closed, ${mb(r.streams.heldBytes / 1024)} held`
      : 'not reported by /health';
    closed.push(`${run.short} ${streams}, busy ${(r.stalledAfterMs / 1000).toFixed(0)} s`);
  }
  cells.push({
    row: '11g …clients closed by the service; bytes held at the end (/health streams); service busy after the last connected',
    target: 'reference',
    value: closed.join('; '),
  });
  return cells;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

/** One run: a fresh service, its stalled clients, and what the service did meanwhile. */
async function measure(file: string, database: string, ws: number, sse: number) {
  const server = startChild(file, ['serve', database, noModulesConfig()], MAX_HOLD_MS + 240_000);
  const { url, pid } = (await server.message('url')) as { url: string; pid: number };
  await sleep(1_000);
  const beforeKb = memoryKb(pid).rss;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  // The control: the same polling of the idle service, as loaded as the machine is at the time.
  const control = pollHealth(url, agent);
  await sleep(CONTROL_MS);
  const idle = await control.stop();
  let peakSampledKb = beforeKb;
  const sampler = setInterval(() => {
    peakSampledKb = Math.max(peakSampledKb, memoryKb(pid).rss);
  }, 100);
  const poller = pollHealth(url, agent);
  const clients = startChild(file, ['clients', url, String(ws), String(sse)], MAX_HOLD_MS + 240_000);
  const connected = await clients.message('connected');
  if (Number(connected.refused)) throw new Error(`${connected.refused} clients were refused: ${connected.first}`);
  const stalledAfterMs = await quiet(pid);
  const during = await poller.stop();
  clearInterval(sampler);
  const last = during.seen.at(-1);
  clients.send('close');
  await clients.exited;
  await sleep(SETTLE_MS);
  const { rss: afterKb, hwm: peakKb } = memoryKb(pid);
  agent.destroy();
  server.send('stop');
  await server.exited;
  return {
    beforeKb,
    afterKb,
    peakKb: Math.max(peakKb, peakSampledKb),
    health: stats(during.latencies),
    idle: stats(idle.latencies),
    failed: during.failed + idle.failed,
    failure: during.failure || idle.failure,
    stalledAfterMs,
    streams: last && { closed: ws + sse - last.clients, heldBytes: last.heldBytes },
  };
}

/**
 * Asks `/health` every POLL_MS until stopped. On schedule, not after the previous answer: a service that stalls
 * for seconds keeps being asked meanwhile, and each of those requests counts its wait.
 */
function pollHealth(url: string, agent: Agent) {
  const latencies: number[] = [];
  const seen: Streams[] = [];
  const polls: Promise<void>[] = [];
  let [failed, failure, polling] = [0, '', true];
  const loop = (async () => {
    for (let due = now(); polling; due += POLL_MS) {
      await sleep(due - now());
      const start = now();
      polls.push(
        health(url, agent).then(
          (streams) => {
            latencies.push(now() - start);
            if (streams) seen.push(streams);
          },
          (err: Error) => {
            failed++;
            failure ||= err.message;
          },
        ),
      );
    }
  })();
  return {
    /** Stops asking; answers once every request has been answered. */
    async stop() {
      polling = false;
      await loop;
      await Promise.all(polls);
      return { latencies, seen, failed, failure };
    },
  };
}

/**
 * Waits HOLD_MS, and on until the service has been idle for QUIET_MS (at most MAX_HOLD_MS); answers how long
 * after the last client connected its last busy second ended.
 */
async function quiet(pid: number): Promise<number> {
  const start = now();
  let [busyUntil, used] = [start, cpuSeconds([pid]).get(pid) ?? 0];
  while (now() - start < MAX_HOLD_MS && (now() - start < HOLD_MS || now() - busyUntil < QUIET_MS)) {
    await sleep(1_000);
    const next = cpuSeconds([pid]).get(pid) ?? used;
    if (next - used > IDLE_CPU) busyUntil = now();
    used = next;
  }
  return busyUntil - start;
}

/** One `/health`; answers its `streams` when the service reports them. */
function health(url: string, agent: Agent): Promise<Streams | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/health`, { agent, timeout: 120_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`/health: ${res.statusCode}`));
        resolve((JSON.parse(body) as { streams?: Streams }).streams);
      });
    });
    req.on('timeout', () => req.destroy(new Error('/health timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** VmRSS and VmHWM of a process, in KiB. */
function memoryKb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** The fill child: 3,750 asks with prompts of 300 B to 4 KB; reports the log's events and bytes. */
async function fill(database: string): Promise<void> {
  const hub = await openHub({ database });
  await hub.modules.register({ name: 'sink', description: 'asked, never answers', config: {} });
  // Sizes spread evenly over 300 – 4,000 bytes (a step that is prime to the range visits them in a mixed order).
  const prompt = (i: number) => `question ${i}: ${'x'.repeat(300 + ((i * 1_009) % 3_700))}`;
  await lanes(
    Array.from({ length: ASKS }, (_, i) => i),
    32,
    (i) => hub.ask({ from: 'bench', to: 'sink', prompt: prompt(i) }),
  );
  let [events, logBytes, after] = [0, 0, START];
  for (;;) {
    const page = await hub.events.list({ after, limit: 1_000 });
    events += page.events.length;
    for (const e of page.events) logBytes += Buffer.byteLength(JSON.stringify(e));
    after = page.cursor;
    if (!page.hasMore) break;
  }
  await hub.close();
  tell({ events, logBytes });
}

/** The service child: serves until the parent says stop. */
async function serve(database: string, config: string): Promise<void> {
  const service = await startBenchService(database, config);
  tell({ url: service.url, pid: process.pid });
  await heard();
  await service.close();
}

/**
 * The clients child: `ws` WebSocket and `sse` SSE clients on raw sockets, 50 connecting at a time, each asking
 * for the log from its start. A client reads the first chunk of the response (to check it was accepted), then
 * pauses its socket: Node.js reads on until 16 KiB wait in the stream, then stops reading from the kernel.
 */
async function clients(url: string, ws: number, sse: number): Promise<void> {
  const { hostname, port } = new URL(url);
  const sockets: Socket[] = [];
  const refused: string[] = [];
  const kinds = [...Array<'ws'>(ws).fill('ws'), ...Array<'sse'>(sse).fill('sse')];
  await lanes(kinds, 50, async (kind) => {
    const socket = connect(Number(port), hostname);
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.write(
      kind === 'ws'
        ? `GET /api/v1/ws?after=${START} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
            'Connection: Upgrade\r\nSec-WebSocket-Key: c3RhbGxlZCByZWFkZXIhIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
        : `GET /api/v1/events/stream?after=${START} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    const first = await new Promise<string>((resolve) => {
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        resolve(chunk.subarray(0, 200).toString('latin1'));
      });
      socket.once('close', () => resolve('closed before answering'));
    });
    if (!first.startsWith(kind === 'ws' ? 'HTTP/1.1 101' : 'HTTP/1.1 200')) refused.push(first);
  });
  tell({ connected: sockets.length, refused: refused.length, first: refused[0] });
  await heard();
  for (const socket of sockets) socket.destroy();
}

if (isMain(import.meta.url)) {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'fill' && args[0]) await fill(args[0]);
  else if (role === 'serve' && args[0] && args[1]) await serve(args[0], args[1]);
  else if (role === 'clients' && args[0] && args[1] && args[2])
    await clients(args[0], Number(args[1]), Number(args[2]));
  else throw new Error('usage: stalled-readers.ts fill DATABASE | serve DATABASE CONFIG | clients URL WS SSE');
}
