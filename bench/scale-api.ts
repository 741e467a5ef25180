/**
 * The scale section's API figures: each list, filter, statistic and read the API offers, timed over HTTP against
 * the services of every size at once (see `timeProbes`), and `/health` while the slowest of them runs back to back.
 */
import { Agent, request } from 'node:http';
import { encodeCursor } from '../src/domain/cursor.js';
import { MODULES, UNASKED_MODULE } from './scale-data.js';
import { now, type Stats, sleep, stats } from './support.js';

/** One request the section times; `reference` when its cost may grow with the data (text search). */
export interface Probe {
  name: string;
  path: string;
  reference?: string;
}

const SAMPLES = 100;
/** Fewer samples of a slow request: past this long per probe (all sizes together), stop at `MIN_SAMPLES`. */
const BUDGET_MS = 6_000;
const MIN_SAMPLES = 5;
/** A request this slow gets no second warm-up request. */
const SLOW_MS = 1_000;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** GETs `url` and answers the parsed body; fails on anything but 200. */
export function get<T = unknown>(url: string, through: Agent = agent, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: through, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 300)}`));
        else resolve((res.headers['content-type']?.includes('json') ? JSON.parse(body) : body) as T);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the service closed as the request went out: sent again on a new one.
      if (req.reusedSocket && err.code === 'ECONNRESET') get<T>(url, through, timeoutMs).then(resolve, reject);
      else reject(err);
    });
    req.end();
  });
}

/** How long one GET takes, to the end of its body. */
export async function timeGet(url: string, through: Agent = agent): Promise<number> {
  const start = now();
  await get(url, through);
  return now() - start;
}

interface Row {
  id: string;
  messageId?: string;
  threadId?: string;
}

/** The requests to time, with ids picked from the data the service holds. */
export async function probes(api: string): Promise<Probe[]> {
  const { tasks } = await get<{ tasks: Row[] }>(`${api}/tasks?limit=100`);
  const task = tasks[50] as Row;
  const last = tasks.at(-1) as Row;
  const reply = await get<Row>(`${api}/messages/${task.messageId}`);
  const { events } = await get<{ events: { seq: number }[] }>(`${api}/events?last=1`);
  const middle = encodeCursor(Math.floor((events[0]?.seq ?? 2) / 2));
  const [busy, rare] = [MODULES[0]?.[0] as string, MODULES.at(-1)?.[0] as string];
  const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  const list: [string, string, string?][] = [
    ['/health', '/health'],
    ['/modules', '/modules'],
    ['/modules/{name}', `/modules/${busy}`],
    ['/instances', '/instances'],
    ['/watches', '/watches'],
    ['/tasks', '/tasks'],
    ['/tasks, second page (before)', `/tasks?before=${last.id}`],
    ['/tasks?status=complete', '/tasks?status=complete'],
    ['/tasks?status=failed', '/tasks?status=failed'],
    [
      '/tasks?status=pending,processing (none; the dashboard’s active work)',
      '/tasks?status=pending,processing&limit=25',
    ],
    [`/tasks?module=${busy} (30 % of tasks)`, `/tasks?module=${busy}`],
    [`/tasks?module=${UNASKED_MODULE} (none)`, `/tasks?module=${UNASKED_MODULE}`],
    ['/tasks?kind=ask (all)', '/tasks?kind=ask'],
    ['/tasks?kind=manual (none)', '/tasks?kind=manual'],
    [`/tasks?status=failed&module=${rare}`, `/tasks?status=failed&module=${rare}`],
    ['/tasks?q=… (text search, no task matches)', '/tasks?q=zebra', 'reference (text search: exempt)'],
    ['/tasks/stats', '/tasks/stats'],
    ['/tasks/stats?since=today (the dashboard’s)', `/tasks/stats?since=${today}`],
    [`/tasks/stats?module=${busy}`, `/tasks/stats?module=${busy}`],
    ['/tasks/{id}', `/tasks/${task.id}`],
    ['/tasks/{id}/control', `/tasks/${task.id}/control`],
    ['/progress', '/progress'],
    ['/threads', '/threads'],
    [`/threads?module=${busy}`, `/threads?module=${busy}`],
    [`/threads?module=${busy}&status=failed`, `/threads?module=${busy}&status=failed`],
    ['/threads?status=complete', '/threads?status=complete'],
    ['/threads?status=pending,processing (none)', '/threads?status=pending,processing'],
    ['/threads/{id}', `/threads/${reply.threadId}`],
    ['/messages', '/messages'],
    ['/messages?status=failed', '/messages?status=failed'],
    ['/messages?threadId=…', `/messages?threadId=${reply.threadId}`],
    ['/messages/{id}', `/messages/${reply.id}`],
    ['/messages/{id}/history', `/messages/${reply.id}/history`],
    ['/events?after=… (a page from the middle of the log)', `/events?after=${middle}`],
    ['/events?last=50', '/events?last=50'],
    [`/events?module=${rare}&last=50`, `/events?module=${rare}&last=50`],
    ['/events?types=task.logged&last=50', '/events?types=task.logged&last=50'],
    [
      '/events?messageId=…&types=message.status_changed&last=1 (the dashboard’s)',
      `/events?messageId=${reply.id}&types=message.status_changed&last=1`,
    ],
  ];
  return list.map(([name, path, reference]) => ({ name, path: `${api}${path}`, ...(reference ? { reference } : {}) }));
}

/**
 * Times the probes of each size, alternating between the sizes request by request, so that what else the machine
 * does weighs on all of them alike. Warm: every probe of every size is requested once first (code paths compiled,
 * pages cached), then twice more unless slow; then each is timed `SAMPLES` times, or fewer (never under
 * `MIN_SAMPLES`) once `BUDGET_MS` has passed. `sets` holds one list per size, the same probes in the same order.
 */
export async function timeProbes(sets: readonly (readonly Probe[])[]): Promise<Stats[][]> {
  const first = sets.map((probes) => probes.map(() => 0));
  for (const [k, probes] of sets.entries()) {
    for (const [i, probe] of probes.entries()) (first[k] as number[])[i] = await timeGet(probe.path);
  }
  const timed: Stats[][] = sets.map(() => []);
  for (let i = 0; i < (sets[0]?.length ?? 0); i++) {
    const probes = sets.map((list) => list[i] as Probe);
    for (const [k, probe] of probes.entries()) {
      if (((first[k] as number[])[i] as number) < SLOW_MS) for (let w = 0; w < 2; w++) await timeGet(probe.path);
    }
    const samples = probes.map(() => [] as number[]);
    const start = now();
    for (let n = 0; n < MIN_SAMPLES || (n < SAMPLES && now() - start < BUDGET_MS); n++) {
      for (const [k, probe] of probes.entries()) (samples[k] as number[]).push(await timeGet(probe.path));
    }
    for (const [k, list] of samples.entries()) (timed[k] as Stats[]).push(stats(list));
  }
  return timed;
}

/** `/health` every 20 ms, on schedule, while `heavy` runs back to back (at least twice, at least 5 s). */
export async function healthUnderLoad(
  api: string,
  heavy: Probe,
): Promise<{ stats: Stats; runs: number; failed: number }> {
  const heavyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  // As row 11 asks it: kept-alive connections, at most 64 (a request waiting for one counts its wait).
  const healthAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  let failed = 0;
  let runs = 0;
  let stop = false;
  const load = (async () => {
    const start = now();
    while (runs < 2 || now() - start < 5_000) {
      await get(heavy.path, heavyAgent);
      runs++;
    }
    stop = true;
  })();
  const samples: Promise<number>[] = [];
  for (let due = now(); !stop; due += 20) {
    samples.push(
      timeGet(`${api}/health`, healthAgent).catch(() => {
        failed++;
        return Number.NaN;
      }),
    );
    await sleep(due + 20 - now());
  }
  await load;
  const result = { stats: stats((await Promise.all(samples)).filter((t) => !Number.isNaN(t))), runs, failed };
  heavyAgent.destroy();
  healthAgent.destroy();
  return result;
}

/** Closes the kept-alive connection (before the service stops). */
export function closeConnections(): void {
  agent.destroy();
}
