/**
 * Row 10: questions asked over HTTP per second. The service runs in a child process with one module that has no
 * agent (registered without a backend), so every `POST /api/v1/ask` only stores the question, its pending reply
 * and its task — one transaction, four events — and answers 202. A second child keeps 64 requests in flight
 * over keep-alive connections: one second of warm-up, then five timed seconds counting the 202s.
 */
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { noModulesConfig, startBenchService } from './service.js';
import { type Backend, type Cell, heard, int, isMain, now, postAsk, startChild, tell } from './support.js';

const IN_FLIGHT = 64;
const WARMUP_MS = 1_000;
const TIMED_MS = 5_000;
const TARGET = 2_000;
const MODULE = 'sink';

export async function askOverHttp(backend: Backend): Promise<Cell[]> {
  const file = fileURLToPath(import.meta.url);
  const server = startChild(file, ['serve', await backend.fresh(), noModulesConfig()], 60_000);
  const { url } = await server.message('url');
  const load = startChild(file, ['load', String(url)], 60_000);
  const report = await load.message('perSecond');
  await load.exited;
  server.send('stop');
  await server.exited;
  const [rate, failed] = [Number(report.perSecond), Number(report.failed)];
  return [
    {
      row: `10 HTTP POST /ask, ${IN_FLIGHT} in flight over keep-alive: asks/s`,
      target: `≥ ${int(TARGET)}/s (SQLite)`,
      value: `${int(rate)}/s${failed ? ` (${int(failed)} failed!)` : ''}`,
      ok: backend.name === 'sqlite' ? rate >= TARGET && !failed : undefined,
    },
  ];
}

/** The service child: serves until the parent says stop. */
async function serve(database: string, config: string): Promise<void> {
  const service = await startBenchService(database, config);
  await service.hub.modules.register({ name: MODULE, description: 'asked, never answers', config: {} });
  tell({ url: service.url });
  await heard();
  await service.close();
}

/** The load child: `IN_FLIGHT` lanes, each sending its next ask as soon as the last was answered. */
async function load(url: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const ask = async (i: number) =>
    (await postAsk(url, agent, { from: 'bench', to: MODULE, prompt: `question ${i}` })).status;
  const start = now();
  const timedFrom = start + WARMUP_MS;
  const end = timedFrom + TIMED_MS;
  let [asked, answered, failed] = [0, 0, 0];
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (now() < end) {
        const status = await ask(asked++);
        const at = now();
        if (at < timedFrom || at >= end) continue;
        if (status === 202) answered++;
        else failed++;
      }
    }),
  );
  agent.destroy();
  tell({ perSecond: answered / (TIMED_MS / 1000), failed });
}

if (isMain(import.meta.url)) {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'serve' && args[0] && args[1]) await serve(args[0], args[1]);
  else if (role === 'load' && args[0]) await load(args[0]);
  else throw new Error('usage: http-ask.ts serve DATABASE CONFIG | load URL');
}
