// Every list, filter and statistic the API offers is answered from an index, on both databases: each query a
// store method runs is explained, and no plan may read a growing table whole (SQLite "SCAN tasks", PostgreSQL
// "Seq Scan") or sort all its matches (a temporary B-tree; a Sort not bounded by a LIMIT below it). A later change
// that loses an index, or a filter added without one, fails here instead of in a hub with a million tasks.
//
// PostgreSQL plans from a handful of rows prefer reading the table, so its plans are taken with sequential scans,
// bitmap scans and sorts priced out: whatever it still chooses has no alternative.
import { Task } from '@a2a-js/sdk';
import { ServerCallContext } from '@a2a-js/sdk/server';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { HubCaller } from '../../src/a2a/caller.js';
import type { EventFilter } from '../../src/domain/types.js';
import type { Hub } from '../../src/index.js';
import { A2ATaskStore } from '../../src/store/a2a-tasks.js';
import type { Database, Query } from '../../src/store/database.js';
import { EventStore } from '../../src/store/events.js';
import { MessageStore } from '../../src/store/messages.js';
import { ModuleStore } from '../../src/store/modules.js';
import { openDatabase } from '../../src/store/open.js';
import { StepItemStore } from '../../src/store/step-items.js';
import { TaskStore } from '../../src/store/tasks.js';
import { ThreadStore } from '../../src/store/threads.js';
import { describeEachBackend } from '../support/backends.js';

/** Tables that grow with use; the others hold a row per module, status or token. */
const GROWING = ['tasks', 'messages', 'threads', 'events', 'a2a_tasks'];

interface Recorded {
  sql: string;
  params: readonly unknown[];
}

/** `db` with its reads recorded (and still run). */
function recording(db: Database): { db: Database; taken: Recorded[] } {
  const taken: Recorded[] = [];
  const record = <T>(query: Query, params: readonly unknown[] = [], run: () => T): T => {
    taken.push(typeof query === 'string' ? { sql: query, params } : { sql: query.sql, params: query.parameters });
    return run();
  };
  const read = {
    all: (q: Query, p?: readonly unknown[]) => record(q, p, () => db.read.all(q, p)),
    get: (q: Query, p?: readonly unknown[]) => record(q, p, () => db.read.get(q, p)),
    run: (q: Query, p?: readonly unknown[]) => record(q, p, () => db.read.run(q, p)),
  } as Database['read'];
  return { db: Object.assign(Object.create(db) as Database, { read }), taken };
}

/** What a plan may contain although it names a growing table, per case: each allowance says why. */
type Allowance = { pattern: RegExp; why: string };

/** A walk of an index (or the table) in the order asked for, which stops at the page size. */
const walk = (table: string, index?: string): Allowance => ({
  pattern: new RegExp(`^SCAN ${table}${index ? ` USING (COVERING )?INDEX ${index}` : ''}$`),
  why: `${table} read newest first${index ? ` through ${index}` : ''}, stopping at the page size`,
});
const MERGE: Allowance = {
  pattern: /^USE TEMP B-TREE FOR ORDER BY$/,
  why: 'the merge of one page per status: it sorts at most a page per status',
};
const TALLY: Allowance = {
  pattern: /^USE TEMP B-TREE FOR GROUP BY$/,
  why: 'a tally of the replies of one page of threads, or of the tasks created since a time',
};
const IN_THREAD: Allowance = {
  pattern: /^USE TEMP B-TREE FOR (LAST TERM|RIGHT PART) OF ORDER BY$/,
  why: 'messages of one thread created in the same millisecond put in id order',
};
const QUEUE: Allowance = {
  pattern: /^SCAN messages USING INDEX messages_active$/,
  why: 'the unfinished replies (the queue, not the history) read whole',
};

/** A2A's ListTasks answers `totalSize`: the matches counted through the index that narrows them. */
const COUNT: Allowance = {
  pattern: /^SCAN a2a_tasks USING COVERING INDEX (a2a_tasks_\w+|sqlite_autoindex_a2a_tasks_1)$/,
  why: 'ListTasks counts its matches (totalSize) through an index, reading no row',
};

/** A2A tasks in two contexts, one of them a module's. */
async function a2aFilled(store: A2ATaskStore): Promise<void> {
  for (let i = 0; i < 6; i++) {
    const task = Task.fromJSON({
      id: `t${i}`,
      contextId: `c${i % 2}`,
      status: {
        state: i % 3 ? 'TASK_STATE_COMPLETED' : 'TASK_STATE_WORKING',
        timestamp: new Date(1e12 + i).toISOString(),
      },
      metadata: { claudeComms: { threadId: `th${i % 2}` } },
    });
    await store.save(task, i % 2 ? AS_MARKER : UNSCOPED);
  }
}
const AS_MARKER = new ServerCallContext({ user: new HubCaller('marker') });
const UNSCOPED = new ServerCallContext({ user: new HubCaller(null) });
const LIST = { tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined } as const;

/** What a case's plans did wrong, and the indexes they use. */
interface Verdict {
  bad: string[];
  used: Set<string>;
}

async function sqlitePlans(file: string, queries: Recorded[], allow: Allowance[]): Promise<Verdict> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const bad: string[] = [];
    const used = new Set<string>();
    for (const q of queries) {
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.params as unknown[])) as { detail: string }[];
      for (const { detail } of rows) {
        const index = /INDEX (\w+)/.exec(detail)?.[1];
        if (index) used.add(index);
        const full = GROWING.some((t) => new RegExp(`^SCAN ${t}\\b`).test(detail));
        const sorts = /USE TEMP B-TREE/.test(detail);
        if ((full || sorts) && !allow.some((a) => a.pattern.test(detail))) bad.push(`${detail}  ←  ${q.sql}`);
      }
    }
    return { bad, used };
  } finally {
    db.close();
  }
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PgNode[];
}

/** Scans under `node` not bounded by a Limit. */
function unbounded(node: PgNode): PgNode[] {
  if (node['Node Type'] === 'Limit') return [];
  if (node['Relation Name'] && GROWING.includes(node['Relation Name'])) return [node];
  return (node.Plans ?? []).flatMap(unbounded);
}

async function postgresPlans(url: string, queries: Recorded[]): Promise<Verdict> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off');
    const bad: string[] = [];
    const used = new Set<string>();
    for (const q of queries) {
      let n = 0;
      const text = typeof q.sql === 'string' && !q.sql.includes('$1') ? q.sql.replace(/\?/g, () => `$${++n}`) : q.sql;
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${text}`, q.params as unknown[]);
      const walk = (node: PgNode): void => {
        if (node['Index Name']) used.add(node['Index Name']);
        if (node['Node Type'] === 'Seq Scan' && GROWING.includes(node['Relation Name'] ?? ''))
          bad.push(`Seq Scan on ${node['Relation Name']}  ←  ${q.sql}`);
        if (/Sort$/.test(node['Node Type']) && node['Node Type'] !== 'Incremental Sort') {
          const under = unbounded(node);
          if (under.length) bad.push(`Sort over ${under[0]?.['Relation Name']}  ←  ${q.sql}`);
        }
        for (const child of node.Plans ?? []) walk(child);
      };
      walk((rows[0]['QUERY PLAN'] as { Plan: PgNode }[])[0]?.Plan as PgNode);
    }
    return { bad, used };
  } finally {
    await client.end();
  }
}

const opened: Database[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

/** A hub with a little of everything: modules, asks in every status, manual tasks, events. */
async function filled(hub: Hub): Promise<{ taskId: string; threadId: string; messageId: string }> {
  for (const name of ['marker', 'arangodb']) await hub.modules.register({ name });
  let last = { taskId: '', threadId: '', messageId: '' };
  const ends = ['complete', 'failed', 'cancelled', 'pending', 'processing'] as const;
  for (let i = 0; i < 20; i++) {
    const asked = await hub.ask({ from: 'cli', to: i % 2 ? 'marker' : 'arangodb', prompt: `q${i}` });
    const end = ends[i % ends.length] as (typeof ends)[number];
    if (end !== 'pending') await hub.messages.transition(asked.messageId, 'processing');
    if (end === 'complete' || end === 'failed') await hub.messages.transition(asked.messageId, end);
    if (end === 'cancelled') await hub.messages.cancel(asked.messageId);
    last = asked;
  }
  await hub.tasks.create({ name: 'by hand' });
  return last;
}

describeEachBackend('query plans', (hubs) => {
  it('read every list, filter and statistic from an index', async () => {
    const hub = await hubs.open();
    const { taskId, threadId, messageId } = await filled(hub);
    const url = hub.database;
    const raw = await openDatabase(/^postgres/.test(url) ? url : `sqlite:${url}`);
    opened.push(raw);
    const { db, taken } = recording(raw);
    const tasks = new TaskStore(db);
    const threads = new ThreadStore(db);
    const messages = new MessageStore(db, { maxContentLength: 1000, coalesceMs: 0 });
    const events = new EventStore(db);
    const modules = new ModuleStore(db);
    const items = new StepItemStore();
    const a2a = new A2ATaskStore(db);
    await a2aFilled(new A2ATaskStore(raw));
    const a2aPage = await a2a.list({ ...LIST, pageSize: 2 }, UNSCOPED);
    const byId: EventFilter[] = [{}, { threadId }, { messageId }, { taskId }];

    /** Each case: a store call and what its plans may contain. */
    const cases: [string, () => Promise<unknown>, Allowance[], string[]?][] = [
      ['tasks: newest', () => tasks.list({}), [walk('tasks', 'sqlite_autoindex_tasks_1')]],
      ['tasks: a page on', () => tasks.list({ before: taskId }), []],
      ['tasks: a status', () => tasks.list({ status: 'complete' }), [], ['tasks_status']],
      ['tasks: a status, a page on', () => tasks.list({ status: 'failed', before: taskId }), [], ['tasks_status']],
      ['tasks: statuses', () => tasks.list({ status: ['failed', 'cancelled'] }), [MERGE], ['tasks_status']],
      ['tasks: a module', () => tasks.list({ module: 'marker' }), [MERGE], ['tasks_module']],
      ['tasks: a module and status', () => tasks.list({ module: 'marker', status: 'complete' }), [], ['tasks_module']],
      ['tasks: a kind', () => tasks.list({ kind: 'manual' }), [MERGE], ['tasks_kind']],
      ['tasks: a module, a page on', () => tasks.list({ module: 'nobody', before: taskId }), [MERGE], ['tasks_module']],
      ['task stats', () => tasks.stats(), [TALLY], ['tasks_created']],
      ['task stats: a module', () => tasks.stats({ module: 'marker' }), [TALLY], ['tasks_created']],
      ['threads: newest', () => threads.list({}), [walk('threads', 'sqlite_autoindex_threads_1'), TALLY]],
      ['threads: a module', () => threads.list({ module: 'marker' }), [TALLY]],
      [
        'threads: failed',
        () => threads.list({ status: ['failed', 'cancelled'] }),
        [walk('messages', 'messages_unsuccessful'), TALLY],
      ],
      ['threads: waiting', () => threads.list({ status: ['pending'] }), [QUEUE, TALLY]],
      [
        'threads: a module, failed',
        () => threads.list({ module: 'arangodb', status: ['failed'] }),
        [walk('messages', 'messages_unsuccessful'), TALLY],
      ],
      ['a thread', () => threads.get(threadId), []],
      ['a thread’s messages', () => messages.list({ threadId }), [IN_THREAD]],
      ['messages: newest', () => messages.list({}), [walk('messages', 'messages_created')]],
      [
        'messages: failed',
        () => messages.list({ status: 'failed' }),
        [walk('messages', 'messages_unsuccessful_created')],
      ],
      ['messages: pending', () => messages.list({ status: 'pending' }), [walk('messages', 'messages_active')]],
      ['messages: complete', () => messages.list({ status: 'complete' }), [walk('messages', 'messages_created')]],
      // Capability routing's load: the queued replies of the modules declaring it, from the queue's own index.
      ['module load', () => modules.load(['marker', 'arangodb']), [], ['messages_queue']],
      // A forEach step's items: those running, the next ready, the counts, one item, an item's reply.
      ['step items: running', () => items.withStatus(db.read, 'r', 's', 'processing'), [], ['step_items_status']],
      [
        'step items: ready',
        () => items.ready(db.read, 'r', 's', new Date().toISOString(), 4),
        [],
        ['step_items_status'],
      ],
      ['step items: counted', () => items.tally(db.read, 'r', 's'), [], ['step_items_status']],
      ['step items: one', () => items.get(db.read, 'r', 's', 3), []],
      ['step items: of a reply', () => items.ofMessage(db.read, messageId), [], ['step_items_message']],
      ['a2a tasks: newest', () => a2a.list(LIST, UNSCOPED), [walk('a2a_tasks', 'a2a_tasks_updated'), COUNT]],
      [
        'a2a tasks: a page on',
        () => a2a.list({ ...LIST, pageSize: 2, pageToken: a2aPage.nextPageToken }, UNSCOPED),
        [walk('a2a_tasks', 'a2a_tasks_updated'), COUNT],
      ],
      ['a2a tasks: a module’s', () => a2a.list(LIST, AS_MARKER), [], ['a2a_tasks_owner']],
      ['a2a tasks: a context', () => a2a.list({ ...LIST, contextId: 'c1' }, UNSCOPED), [], ['a2a_tasks_context']],
      ['a2a tasks: a state', () => a2a.list({ ...LIST, status: 3 }, UNSCOPED), [], ['a2a_tasks_state']],
      [
        'a2a tasks: changed since',
        () => a2a.list({ ...LIST, statusTimestampAfter: new Date(1e12 + 3).toISOString() }, UNSCOPED),
        [],
        ['a2a_tasks_updated'],
      ],
      ['an a2a task', () => a2a.load('t1', AS_MARKER), []],
      ['an a2a context’s thread', () => a2a.threadOfContext('c1', AS_MARKER), [], ['a2a_tasks_context']],
      ['a task', () => tasks.get(taskId), []],
      ['a message', () => messages.get(messageId), []],
      ...byId.map((f): [string, () => Promise<unknown>, Allowance[], string[]?] => [
        `events after a cursor ${JSON.stringify(f)}`,
        () => events.page(3, f, 100),
        [],
        f.threadId ? ['events_thread'] : f.messageId ? ['events_message'] : f.taskId ? ['events_task'] : [],
      ]),
      ...byId.map((f): [string, () => Promise<unknown>, Allowance[], string[]?] => [
        `newest events ${JSON.stringify(f)}`,
        () => events.latest(f, 50),
        [walk('events')],
      ]),
      ['retention with nothing to prune', () => events.prune(new Date(0).toISOString()), []],
      ['retention', () => events.prune(new Date(Date.now() + 60_000).toISOString()), []],
      ['the head', () => events.head(), []],
    ];
    const failures: string[] = [];
    for (const [name, call, allow, uses = []] of cases) {
      taken.length = 0;
      await call();
      expect(taken.length, name).toBeGreaterThan(0);
      const { bad, used } =
        raw.dialect === 'sqlite'
          ? await sqlitePlans(raw.location, taken.splice(0), allow)
          : await postgresPlans(url, taken.splice(0));
      for (const b of bad) failures.push(`${name}: ${b}`);
      // The index that narrows the case to its rows, not one walked with the filter checked row by row.
      for (const index of uses)
        if (!used.has(index)) failures.push(`${name}: does not use ${index} (uses ${[...used].join(', ') || 'none'})`);
    }
    expect(failures).toEqual([]);
  });
});
