/**
 * The history the scale benchmarks load (src/store/bulk-load.ts): finished asks shaped like those the hub writes
 * when a module asks another and a worker answers (compare the log of an ask answered through the command backend,
 * test/integration/worker.test.ts): a new thread, or now and then a follow-up in a recent one; the question; the
 * reply with a few hundred characters; its task with cost, tokens and a session; and the events of the ask, the
 * claim, the streamed answer, the cost reported and the end — about 9.7 per ask. Mostly complete (92 %), some
 * failed (5 %) or cancelled while running (3 %); asked of 8 modules, unevenly; spread evenly over the 90 days
 * before `end`. Deterministic: the same plan gives the same rows.
 */
import type { BulkRow, BulkRows } from '../src/store/bulk-load.js';

/** The modules asked, most asked first, with their share of the asks (in %). */
export const MODULES: readonly (readonly [string, number])[] = [
  ['backend', 30],
  ['frontend', 20],
  ['database', 15],
  ['infra', 10],
  ['search', 9],
  ['billing', 7],
  ['docs', 6],
  ['mobile', 3],
];
/** Registered with the others but never asked (a module added lately): a filter that matches nothing. */
export const UNASKED_MODULE = 'archive';
export const DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Of asks made in a thread asked before (the rest open a thread). */
const FOLLOW_UP = 0.25;
/** What to generate: `asks` finished asks over the 90 days before `end` (epoch ms), `perChunk` to a transaction. */
export interface HistoryPlan {
  asks: number;
  end: number;
  /** Default 3,000 (about 40,000 rows and 15 MB). */
  perChunk?: number;
}

/** mulberry32: a small, fast generator, so that a fill is the same every time. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the a an of to in for on with by from as at is are was be this that it its which when where index query ' +
  'table page cursor lease worker module thread reply task event status stream schema migration request ' +
  'response client server cache build test deploy config token retry timeout latency memory disk write read ' +
  'commit rollback transaction lock row column field value type error warning check fix change update add ' +
  'remove rename move keep use call return answer question order count limit offset filter sort group join ' +
  'null empty first last next previous newest oldest every each some none most many few more less same other ' +
  'function method class interface file path line branch merge review'
).split(' ');

/** Sentences of plain words, about `chars` long. */
function prose(random: () => number, chars: number): string {
  const parts: string[] = [];
  let length = 0;
  let sentence = 0;
  while (length < chars) {
    let word = WORDS[Math.floor(random() * WORDS.length)] as string;
    if (sentence === 0) word = word[0]?.toUpperCase() + word.slice(1);
    sentence++;
    const end = sentence > 6 && random() < 0.15;
    if (end) sentence = 0;
    const piece = `${word}${end ? '.' : ''}`;
    parts.push(piece);
    length += piece.length + 1;
  }
  return `${parts.join(' ').replace(/[^.]$/, (c) => `${c}.`)}`;
}

/** Between `low` and `high`, evenly on a log scale (sizes, durations and costs are skewed like that). */
const logUniform = (random: () => number, low: number, high: number) => low * (high / low) ** random();

/** UUIDv7 ids (time first, then a counter within the millisecond), as the hub makes them, for given times. */
class Ids {
  private lastMs = -1;
  private counter = 0;
  constructor(private readonly random: () => number) {}

  at(ms: number): string {
    if (ms > this.lastMs) [this.lastMs, this.counter] = [ms, 0];
    else this.counter++;
    const time = this.lastMs.toString(16).padStart(12, '0');
    const hex = (digits: number) =>
      Math.floor(this.random() * 16 ** digits)
        .toString(16)
        .padStart(digits, '0');
    const variant = (8 + Math.floor(this.random() * 4)).toString(16);
    const counter = (this.counter & 0xfff).toString(16).padStart(3, '0');
    return `${time.slice(0, 8)}-${time.slice(8)}-7${counter}-${variant}${hex(3)}-${hex(6)}${hex(6)}`;
  }
}

type Event = BulkRow<'events'>;

const iso = (ms: number) => new Date(ms).toISOString();

/** The module rows and their `module.registered` events, a day before the first ask. */
export function moduleRows(plan: HistoryPlan): BulkRows {
  const at = iso(plan.end - (DAYS + 1) * DAY_MS);
  const names = [...MODULES.map(([name]) => name), UNASKED_MODULE];
  return {
    modules: names.map((name) => ({
      name,
      description: `the ${name} team's agent`,
      paused: 0,
      config: '{}',
      created_at: at,
      updated_at: at,
      health: 'healthy',
      health_error: null,
      health_checked_at: null,
      config_file: null,
      removed_at: null,
    })),
    events: names.map((name) => ({
      at,
      type: 'module.registered',
      thread_id: null,
      message_id: null,
      task_id: null,
      run_id: null,
      module: name,
      data: JSON.stringify({ description: `the ${name} team's agent` }),
    })),
  };
}

/**
 * The asks of `plan` in chunks of `perChunk`, oldest first, each chunk one transaction's rows. Events are
 * in the order of their times across chunks (those of an ask still running when the next chunk's first ask is
 * made go with that chunk), so sequence numbers grow with time as in a real log.
 */
export function* history(plan: HistoryPlan): Generator<BulkRows> {
  const random = generator(plan.asks);
  const ids = new Ids(random);
  const perChunk = plan.perChunk ?? 3_000;
  // The newest ask is made 10 minutes before `end`, so that even it has finished by then.
  const start = plan.end - DAYS * DAY_MS;
  const gap = (DAYS * DAY_MS - 10 * 60_000) / plan.asks;
  const total = MODULES.reduce((sum, [, share]) => sum + share, 0);
  const pick = () => {
    let r = random() * total;
    for (const [name, share] of MODULES) {
      r -= share;
      if (r < 0) return name;
    }
    return MODULES[0]?.[0] as string;
  };
  // A service that stays up a week, then restarts: its worker's id, and the instance it keeps for each module.
  const runners = new Ids(generator(plan.asks + 1));
  const workers = new Map<number, string>();
  const instances = new Map<string, string>();
  const claimer = (ms: number, module: string) => {
    const week = Math.floor((ms - start) / (7 * DAY_MS));
    const since = start + week * 7 * DAY_MS;
    if (!workers.has(week)) workers.set(week, runners.at(since));
    if (!instances.has(`${week}/${module}`)) instances.set(`${week}/${module}`, runners.at(since));
    return { worker: workers.get(week) as string, instance: instances.get(`${week}/${module}`) as string };
  };
  let carried: Event[] = [];
  for (let first = 0; first < plan.asks; first += perChunk) {
    const last = Math.min(plan.asks, first + perChunk);
    const threads: BulkRow<'threads'>[] = [];
    const messages: BulkRow<'messages'>[] = [];
    const tasks: BulkRow<'tasks'>[] = [];
    const events: Event[] = carried;
    for (let i = first; i < last; i++) {
      const t = Math.floor(start + (i + random()) * gap);
      const recent =
        threads.length > 20 && random() < FOLLOW_UP
          ? threads[threads.length - 1 - Math.floor(random() * 20)]
          : undefined;
      const to = pick();
      let from = recent?.created_by ?? pick();
      if (from === to) from = MODULES[(MODULES.findIndex(([m]) => m === to) + 1) % MODULES.length]?.[0] as string;
      const title = prose(random, logUniform(random, 25, 110)).replace(/\.$/, '?');
      const prompt = random() < 0.6 ? `${title}\n\n${prose(random, logUniform(random, 40, 500))}` : title;
      const at = t + 1; // the ask's events carry its commit's time
      let threadId: string;
      if (recent) {
        threadId = recent.id;
        recent.updated_at = iso(t);
      } else {
        threadId = ids.at(t);
        const thread = {
          id: threadId,
          title: title.slice(0, 120),
          created_by: from,
          created_at: iso(t),
          updated_at: iso(t),
        };
        threads.push(thread);
        events.push(
          event(at, 'thread.created', { thread_id: threadId, module: from }, { title: thread.title, createdBy: from }),
        );
      }
      const [questionId, replyId, taskId] = [ids.at(t), ids.at(t), ids.at(t)];
      const name = `${to} answers ${from}: ${title.slice(0, 80)}`;
      const started = t + Math.round(logUniform(random, 5, 5_000));
      const ended = started + Math.round(logUniform(random, 3_000, 300_000));
      const roll = random();
      const status = roll < 0.92 ? 'complete' : roll < 0.97 ? 'failed' : 'cancelled';
      const content =
        status === 'complete'
          ? prose(random, logUniform(random, 200, 900))
          : status === 'cancelled' && random() < 0.5
            ? prose(random, 120)
            : '';
      const error = status === 'failed' ? failure(random) : null;
      const cost =
        status === 'complete'
          ? logUniform(random, 0.004, 0.6)
          : status === 'cancelled'
            ? logUniform(random, 0.001, 0.05)
            : 0;
      const tokensIn = cost ? Math.round(cost * 90_000) : 0;
      const tokensOut = cost ? Math.round(cost * 9_000) : 0;
      const files = status === 'complete' && random() < 0.3 ? [`src/${to}/index.ts`] : [];
      const { worker, instance } = claimer(started, to);
      // A reply cancelled while it runs ends then; its task ends once the worker has stopped the agent.
      const replyEnded = status === 'cancelled' ? ended - 50 : ended;
      messages.push(message(questionId, threadId, from, 'user', prompt, 'complete', t, t, t), {
        ...message(replyId, threadId, to, 'assistant', content, status, t, started, replyEnded),
        error: status === 'failed' ? error : null,
        claimed_by: worker,
        lease_until: iso(started + 30_000),
        attempts: 1,
      });
      tasks.push({
        id: taskId,
        name,
        module: to,
        kind: 'ask',
        message_id: replyId,
        workflow_run_id: null,
        parent_id: null,
        depends_on: '[]',
        status,
        progress: status === 'complete' ? 100 : 0,
        iteration: 0,
        max_iterations: null,
        criteria: '[]',
        cost_usd: cost,
        max_cost_usd: null,
        tokens_in: tokensIn,
        tokens_out: tokensOut,
        files_created: '[]',
        files_modified: JSON.stringify(files),
        session_id: cost ? ids.at(started) : null,
        error: status === 'complete' ? null : status === 'failed' ? error : 'cancelled',
        created_at: iso(t),
        started_at: iso(started),
        completed_at: iso(ended),
        updated_at: iso(ended),
        retry_of: null,
      });
      const onThread = { thread_id: threadId, message_id: replyId, module: to };
      const onTask = { message_id: replyId, task_id: taskId, module: to };
      events.push(
        event(
          at,
          'message.created',
          { thread_id: threadId, message_id: questionId, module: from },
          {
            author: from,
            role: 'user',
            status: 'complete',
            content: prompt,
            length: prompt.length,
          },
        ),
        event(at, 'message.created', onThread, {
          author: to,
          role: 'assistant',
          status: 'pending',
          content: '',
          length: 0,
        }),
        event(at, 'task.created', onTask, { name, kind: 'ask', criteria: [], maxIterations: null, maxCostUsd: null }),
        event(started, 'message.status_changed', onThread, {
          from: 'pending',
          to: 'processing',
          reason: `claimed by worker ${worker}, instance ${instance}`,
        }),
        event(started, 'task.status_changed', onTask, { from: 'pending', to: 'processing' }),
      );
      if (content)
        events.push(event(ended - 40, 'message.content_updated', onThread, { length: content.length, delta: content }));
      if (cost) {
        events.push(
          event(ended - 20, 'task.progressed', onTask, {
            progress: 0,
            iteration: 0,
            costUsd: cost,
            changed: ['costUsd', 'tokensIn', 'tokensOut', ...(files.length ? ['filesModified'] : [])],
            tokensIn,
            tokensOut,
            ...(files.length ? { filesModified: files } : {}),
          }),
        );
      }
      if (status === 'complete') {
        events.push(
          event(ended, 'task.status_changed', onTask, { from: 'processing', to: 'complete' }),
          event(ended, 'message.status_changed', onThread, { from: 'processing', to: 'complete' }),
        );
      } else if (status === 'failed') {
        events.push(
          event(ended - 10, 'task.logged', onTask, { level: 'warn', text: (error as string).replace(/^[^:]*: /, '') }),
          event(ended, 'task.status_changed', onTask, { from: 'processing', to: 'failed', error }),
          event(ended, 'message.status_changed', onThread, {
            from: 'processing',
            to: 'failed',
            reason: 'agent_error',
            error,
          }),
        );
      } else {
        events.push(
          event(replyEnded, 'message.status_changed', onThread, {
            from: 'processing',
            to: 'cancelled',
            reason: 'cancelled by request',
          }),
          event(ended, 'task.status_changed', onTask, { from: 'processing', to: 'cancelled', error: 'cancelled' }),
        );
      }
    }
    // Stable: the events of one ask at one time keep their order.
    events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const next = last < plan.asks ? iso(Math.floor(start + last * gap)) : undefined;
    const cut = next === undefined ? events.length : events.findIndex((e) => e.at >= next);
    const now = cut < 0 ? events : events.slice(0, cut);
    carried = cut < 0 ? [] : events.slice(cut);
    yield { threads, messages, tasks, events: now };
  }
}

function message(
  id: string,
  threadId: string,
  author: string,
  role: 'user' | 'assistant',
  content: string,
  status: string,
  created: number,
  started: number,
  ended: number,
): BulkRow<'messages'> {
  return {
    id,
    thread_id: threadId,
    author,
    role,
    content,
    status,
    error: null,
    created_at: iso(created),
    started_at: iso(started),
    completed_at: iso(ended),
    updated_at: iso(ended),
    schema: null,
    claimed_by: null,
    lease_until: null,
    attempts: 0,
    retry_of: null,
  };
}

function event(
  at: number,
  type: string,
  ids: { thread_id?: string; message_id?: string; task_id?: string; module: string },
  data: Record<string, unknown>,
): Event {
  return {
    at: iso(at),
    type,
    thread_id: ids.thread_id ?? null,
    message_id: ids.message_id ?? null,
    task_id: ids.task_id ?? null,
    run_id: null,
    module: ids.module,
    data: JSON.stringify(data),
  };
}

const FAILURES = [
  'exited with status 1: Error: connect ECONNREFUSED 127.0.0.1:5432',
  'exited with status 2: npm ERR! Test failed. See above for more details.',
  'agent error: API overloaded (529), gave up after 3 attempts',
  'exited with status 137: killed (out of memory)',
  'timed out after 600 s',
];

function failure(random: () => number): string {
  return FAILURES[Math.floor(random() * FAILURES.length)] as string;
}
