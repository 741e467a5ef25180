// Cross-process delivery: a subscriber hears every event another process commits, once, in log order, promptly.
// The subscribing hub polls only once a minute, so within these tests delivery can only come from the backend's
// wake-up (fs.watch on the SQLite WAL; LISTEN/NOTIFY on PostgreSQL).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubEvent } from '../../src/index.js';
import { BACKENDS, hubFactory } from '../support/backends.js';
import { readLog, until } from '../support/wait.js';

const WRITER = fileURLToPath(new URL('../support/writer-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Far beyond any test here: a delivery within the test can only have come from a wake-up. */
const NO_BACKSTOP = 60_000;

interface Summary {
  threadId: string;
  messages: number;
  events: number;
}

interface Writer {
  child: ChildProcess;
  /** JSON lines the child printed so far. */
  lines: Record<string, unknown>[];
  /** Resolves once the child exits successfully; rejects (with its stderr) otherwise. */
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();

function startWriter(mode: 'burst' | 'step', database: string, options: Record<string, unknown> = {}): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, mode, database, JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      lines.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
      nl = out.indexOf('\n');
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`writer exited with ${code ?? signal}: ${err.trim() || '(no stderr)'}`));
    });
  });
  // Killed in cleanup after a failed test, nobody awaits it: that must not surface as an unhandled rejection.
  exited.catch(() => undefined);
  return { child, lines, exited };
}

/** What a burst writer reports when it is done. */
async function summary(writer: Writer): Promise<Summary> {
  await writer.exited;
  const found = writer.lines.find((l) => 'events' in l);
  if (!found) throw new Error('the writer printed no summary');
  return found as unknown as Summary;
}

/** The whole log after `after`, read back page by page. */
/** Every committed event, delivered once, in order, and the log itself without holes. */
function expectDeliveredExactly(seen: HubEvent[], log: HubEvent[]): void {
  const logSeqs = log.map((e) => e.seq);
  const seenSeqs = seen.map((e) => e.seq);
  // Nothing was rolled back, so the sequence has no holes.
  expect(logSeqs).toEqual(Array.from({ length: log.length }, (_, i) => (logSeqs[0] ?? 0) + i));
  // Same list: nothing missing, nothing twice, nothing out of order.
  expect(seenSeqs).toEqual(logSeqs);
  // And what was delivered is what was stored.
  expect(seen).toEqual(log);
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`cross-process delivery on ${backend.name}`, () => {
    const hubs = hubFactory(backend);
    afterEach(async () => {
      for (const child of children) child.kill('SIGKILL');
      children.clear();
      await hubs.closeAll();
    });

    it('hears every event a writer process commits, once, in order, soon after', async () => {
      const database = await backend.freshDatabase();
      const hub = await hubs.open({ database, pollIntervalMs: NO_BACKSTOP });
      const start = await hub.events.head();
      const seen: HubEvent[] = [];
      await hub.events.subscribe({ after: start }, (e) => seen.push(e));

      const writer = startWriter('burst', database, { messages: 150, appends: 2, concurrency: 4 });
      const done = await summary(writer);

      const log = await readLog(hub, start);
      expect(log.length).toBe(done.events);
      expect(log.every((e) => e.threadId === done.threadId)).toBe(true);
      // Generous: it normally takes milliseconds; the backstop poll would take a minute.
      await until(
        () => seen.length >= log.length,
        15_000,
        () => `${log.length} events (have ${seen.length})`,
      );
      expectDeliveredExactly(seen, log);
    });

    it('hears two writer processes writing at once, every event once, in log order', async () => {
      const database = await backend.freshDatabase();
      const hub = await hubs.open({ database, pollIntervalMs: NO_BACKSTOP });
      const start = await hub.events.head();
      const seen: HubEvent[] = [];
      await hub.events.subscribe({ after: start }, (e) => seen.push(e));

      const options = { messages: 100, appends: 2, concurrency: 4, waitForGo: true };
      const writers = [startWriter('burst', database, options), startWriter('burst', database, options)];
      // Both open and ready before either writes, so they really do write at the same time.
      await until(() => writers.every((w) => w.lines.some((l) => l.ready)), 20_000, 'both writers to be ready');
      for (const w of writers) w.child.stdin?.end('go\n');
      const summaries = await Promise.all(writers.map(summary));

      const log = await readLog(hub, start);
      // The two thread.created events came before the go; everything else was written concurrently.
      expect(log.length).toBe(summaries.reduce((n, s) => n + s.events, 0));
      for (const s of summaries) expect(log.filter((e) => e.threadId === s.threadId).length).toBe(s.events);
      // They really overlapped: one writer's events on both sides of the other's (commits come in groups, so
      // the interleaving can be coarse; back-to-back runs would switch once).
      const work = log.filter((e) => e.type !== 'thread.created');
      const switches = work.filter((e, i) => i > 0 && e.threadId !== work[i - 1]?.threadId).length;
      expect(switches, 'the two writers’ events interleave in the log').toBeGreaterThanOrEqual(2);

      await until(
        () => seen.length >= log.length,
        15_000,
        () => `${log.length} events (have ${seen.length})`,
      );
      expectDeliveredExactly(seen, log);
    });

    it('is woken by each single commit, with no later commit to carry it along', async () => {
      // The writer commits one message, then stays silent until we have heard it: every commit is the last one
      // for a while, so a wake-up that comes too early and sees nothing would leave it for the minute-long poll.
      const database = await backend.freshDatabase();
      const hub = await hubs.open({ database, pollIntervalMs: NO_BACKSTOP });
      const start = await hub.events.head();
      const seen: HubEvent[] = [];
      await hub.events.subscribe({ after: start }, (e) => seen.push(e));
      const writer = startWriter('step', database);
      await until(() => seen.length === 1, 20_000, 'the writer’s thread');
      const steps = 300;
      for (let i = 1; i <= steps; i++) {
        writer.child.stdin?.write('next\n');
        await until(() => seen.length > i, 10_000, `commit ${i} of ${steps} to be delivered`);
      }
      writer.child.stdin?.end();
      await writer.exited;
      expectDeliveredExactly(seen, await readLog(hub, start));
    });
  });
}
