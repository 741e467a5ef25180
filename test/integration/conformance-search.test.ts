// Search on every backend with the same fixtures: threads, questions, answers, task names and task logs found by
// word prefixes (any case, accents ignored, all words required), newest first and paged, filtered by kind, module
// and status, within what a module may see; hostile query text; rows from before migration 13; `tasks.list({ q })`.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { expect, it } from 'vitest';
import type { Hub, SearchHit, SearchOptions } from '../../src/index.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { describeEachBackend } from '../support/backends.js';

/** Asks `to` and answers with `answer`, finishing the reply with `status`. */
async function answered(hub: Hub, from: string, to: string, prompt: string, answer: string, status = 'complete') {
  const asked = await hub.ask({ from, to, prompt });
  await hub.messages.transition(asked.messageId, 'processing');
  await hub.messages.appendContent(asked.messageId, answer);
  await hub.messages.transition(asked.messageId, status as 'complete' | 'failed');
  return asked;
}

/** The hits' ids, in order. */
async function ids(hub: Hub, options: SearchOptions): Promise<string[]> {
  return (await hub.search(options)).map((h) => h.id);
}

/** A snippet as text with its matched words in brackets. */
const marked = (hit: SearchHit | undefined) =>
  hit?.snippet.map((p) => (p.match ? `[${p.text}]` : p.text)).join('') ?? '(no hit)';

/** Runs SQL on the database behind `url` with its own driver (no hub open). */
async function execute(url: string, statements: string[]): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length));
    for (const s of statements) db.exec(s);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of statements) await client.query(s);
  await client.end();
}

async function registered(hubs: { open(): Promise<Hub> }): Promise<Hub> {
  const hub = await hubs.open();
  for (const name of ['marker', 'arangodb', 'gamma']) await hub.modules.register({ name });
  return hub;
}

describeEachBackend('search', (hubs) => {
  it('finds each kind of text by word prefixes, any case, accents ignored, every word required', async () => {
    const hub = await registered(hubs);
    const a = await answered(
      hub,
      'marker',
      'arangodb',
      'How do I configure the Replication factor?',
      'Set replicationFactor in the collection properties; the Café cluster uses 3.',
    );
    const task = await hub.tasks.create({ name: 'Migrate invoices to ArangoDB', module: 'arangodb' });
    await hub.tasks.log(task.id, { text: 'copied 1200 documents', action: 'Bash', target: 'scripts/copy-invoices.sh' });

    // The ask's task is named after the question.
    const found = await hub.search({ q: 'replic' });
    expect(found.map((h) => [h.kind, h.field, h.id])).toEqual([
      ['task', 'name', a.taskId],
      ['message', 'answer', a.messageId],
      ['message', 'question', a.questionId],
      ['thread', 'title', a.threadId],
    ]);
    expect(found[0]).toMatchObject({
      threadId: a.threadId,
      messageId: a.messageId,
      taskId: a.taskId,
      module: 'arangodb',
      status: 'pending',
    });
    expect(found[1]).toMatchObject({
      threadId: a.threadId,
      messageId: a.messageId,
      taskId: a.taskId,
      module: 'arangodb',
      status: 'complete',
    });
    expect(found[2]).toMatchObject({ threadId: a.threadId, messageId: a.questionId, taskId: null, module: 'marker' });
    expect(found[3]).toMatchObject({
      threadId: a.threadId,
      messageId: null,
      taskId: null,
      module: 'marker',
      status: null,
    });
    expect(marked(found[1])).toBe('Set [replicationFactor] in the collection properties; the Café cluster uses 3.');
    expect(marked(found[3])).toBe('How do I configure the [Replication] factor?');

    // Case and accents either way; every word must be there, in any order, each as a word's beginning.
    expect(await ids(hub, { q: 'CAFÉ clust' })).toEqual([a.messageId]);
    expect(await ids(hub, { q: 'cafe' })).toEqual([a.messageId]);
    expect(await ids(hub, { q: 'cluster café' })).toEqual([a.messageId]);
    expect(await ids(hub, { q: 'cafe nowhere' })).toEqual([]);
    expect(await ids(hub, { q: 'eplication' })).toEqual([]);

    // A task by its name and by its log, once; the snippet is cut from the text that matched.
    const byName = await hub.search({ q: 'invoices arango' });
    expect(byName.map((h) => [h.kind, h.field, h.id])).toEqual([['task', 'name', task.id]]);
    expect(byName[0]).toMatchObject({ taskId: task.id, messageId: null, threadId: null, module: 'arangodb' });
    expect(marked(byName[0])).toBe('Migrate [invoices] to [ArangoDB]');
    const byLog = await hub.search({ q: 'copied 1200' });
    expect(byLog.map((h) => [h.kind, h.field, h.id])).toEqual([['task', 'log', task.id]]);
    expect(marked(byLog[0])).toBe('Bash scripts/copy-invoices.sh: [copied] [1200] documents');
    expect(await ids(hub, { q: 'copy invoices' })).toEqual([task.id]);
    // Paths, file names and addresses are words apart.
    expect(await ids(hub, { q: 'scripts/copy-invoices.sh' })).toEqual([task.id]);
  });

  it('indexes an answer once it is finished, not while it streams, and a failed one too', async () => {
    const hub = await registered(hubs);
    const asked = await hub.ask({ from: 'marker', to: 'arangodb', prompt: 'status?' });
    await hub.messages.transition(asked.messageId, 'processing');
    await hub.messages.appendContent(asked.messageId, 'halfway through the zeppelin');
    expect(await ids(hub, { q: 'zeppelin' })).toEqual([]);
    await hub.messages.appendContent(asked.messageId, ' and done');
    await hub.messages.transition(asked.messageId, 'failed', { error: 'stopped' });
    const [hit] = await hub.search({ q: 'zeppelin done' });
    expect(hit).toMatchObject({ id: asked.messageId, status: 'failed', field: 'answer' });
  });

  it('answers hostile query text with hits or a validation error naming q, never a crash', async () => {
    const hub = await registered(hubs);
    const a = await answered(hub, 'marker', 'arangodb', 'deploy the marker service and do not stop near noon', 'ok');
    const hostile = [
      '"deploy',
      'deploy"',
      "deploy'",
      "'deploy':*",
      'deploy*',
      '*deploy',
      'deploy:',
      'deploy:*',
      '(deploy',
      'deploy)',
      'deploy & marker',
      'deploy | marker',
      '!deploy',
      '-deploy',
      '^deploy',
      'NEAR(deploy marker)',
      'deploy AND marker',
      'deploy NOT',
      'deploy\\',
      'deploy %_',
      '  deploy  ',
      'deploy 🚀',
      'deploy\u0007',
    ];
    for (const q of hostile) {
      expect(await ids(hub, { q }), q).toContain(a.threadId);
    }
    // Operators of either database's query language are ordinary words here.
    expect(await ids(hub, { q: 'deploy OR nothing' })).toEqual([]);
    expect(await ids(hub, { q: "deploy'; DROP TABLE messages;--" })).toEqual([]);
    for (const q of ['', '   ', '*', '"', "'", ':*', '&|!()', '🚀', '""*', 'a'.repeat(10_000), 'x\ud800']) {
      await expect(hub.search({ q }), JSON.stringify(q.slice(0, 20))).rejects.toMatchObject({
        code: 'validation',
        message: expect.stringMatching(/^q\b/),
      });
    }
    await expect(hub.search({ q: 'deploy', kind: 'file' as 'task' })).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.search({ q: 'deploy', status: 'done' as 'complete' })).rejects.toMatchObject({
      code: 'validation',
    });
    await expect(hub.search({ q: 'deploy', limit: 0 })).rejects.toMatchObject({ code: 'validation' });
    await expect(hub.search({ q: 'deploy', before: 'nope' })).rejects.toMatchObject({ code: 'validation' });
    // Every table is still whole.
    expect(await hub.messages.list({ threadId: a.threadId })).toHaveLength(2);
  });

  it('matches letters of any script the same way', async () => {
    const hub = await registered(hubs);
    const texts = ['東京タワーの高さ', '한국어 문서', 'Ünïcödé ﬁle', 'Ελληνικά κείμενα', 'हिंदी पाठ', 'Straße'];
    const tasks = new Map<string, string>();
    for (const name of texts) tasks.set(name, (await hub.tasks.create({ name })).id);
    const expectations: [string, string][] = [
      ['東京', '東京タワーの高さ'],
      ['한국', '한국어 문서'],
      ['unicode file', 'Ünïcödé ﬁle'],
      ['ΕΛΛΗΝ', 'Ελληνικά κείμενα'],
      ['हिंदी', 'हिंदी पाठ'],
      ['STRASSE', 'Straße'],
      ['straß', 'Straße'],
    ];
    for (const [q, name] of expectations) expect(await ids(hub, { q }), q).toEqual([tasks.get(name)]);
    expect(await ids(hub, { q: 'タワー' })).toEqual([]);
  });

  it('filters by kind, module and status', async () => {
    const hub = await registered(hubs);
    const ok = await answered(hub, 'marker', 'arangodb', 'index the tables', 'indexed them all');
    const bad = await answered(hub, 'gamma', 'marker', 'index the pages', 'indexing failed', 'failed');
    const manual = await hub.tasks.create({ name: 'index review', module: 'gamma' });

    expect(await ids(hub, { q: 'index', kind: 'task' })).toEqual([manual.id, bad.taskId, ok.taskId]);
    expect(await ids(hub, { q: 'index', kind: 'thread' })).toEqual([bad.threadId, ok.threadId]);
    expect(await ids(hub, { q: 'index', module: 'gamma' })).toEqual([manual.id, bad.questionId, bad.threadId]);
    expect(await ids(hub, { q: 'index', status: 'failed' })).toEqual([bad.messageId]);
    expect(await ids(hub, { q: 'index', status: ['failed', 'pending'] })).toEqual([
      manual.id,
      bad.taskId,
      bad.messageId,
      ok.taskId,
    ]);
    expect(await ids(hub, { q: 'index', module: 'marker', kind: 'message' })).toEqual([bad.messageId, ok.questionId]);
  });

  it('gives hits newest first, a page at a time', async () => {
    const hub = await registered(hubs);
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      if (i % 2) made.push((await hub.tasks.create({ name: `nightly build ${i}` })).id);
      else made.push((await hub.threads.create({ title: `Nightly report ${i}` })).id);
      // Distinct creation times, so that the order is by time alone.
      await new Promise((r) => setTimeout(r, 3));
    }
    const newest = [...made].reverse();
    expect(await ids(hub, { q: 'nightly' })).toEqual(newest);
    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await ids(hub, { q: 'nightly', limit: 3, ...(before ? { before } : {}) });
      pages.push(page);
      if (page.length < 3) break;
      before = page.at(-1);
    }
    expect(pages).toEqual([newest.slice(0, 3), newest.slice(3, 6), newest.slice(6)]);
  });

  it('finds texts indexed long ago and just now alike (SQLite moves words into FTS5 in batches of 256)', async () => {
    const hub = await registered(hubs);
    const names = Array.from({ length: 600 }, (_, i) => `batch item ${i}${i % 199 === 3 ? ' needle' : ''}`);
    const ids: string[] = [];
    // In groups, as a busy hub writes them (one transaction each, committed together).
    for (let i = 0; i < names.length; i += 50) {
      const group = names.slice(i, i + 50).map((name) => hub.tasks.create({ name }));
      for (const task of await Promise.all(group)) ids.push(task.id);
    }
    const needles = names.flatMap((n, i) => (n.endsWith('needle') ? [ids[i]] : []));
    expect(needles).toHaveLength(3);
    const found = async (q: string) => (await hub.search({ q, limit: 100 })).map((h) => h.id).sort();
    expect(await found('needle')).toEqual([...needles].sort());
    expect(await found('needle item')).toEqual([...needles].sort());
    expect((await hub.tasks.list({ q: 'needle' })).map((t) => t.id).sort()).toEqual([...needles].sort());
    expect(await found('batch item 59')).toHaveLength(11);
    const last = ids.at(-1) as string;
    await hub.tasks.log(last, { text: 'a needle in the log' });
    expect(await found('needle log')).toEqual([last]);
  });

  it('shows a module only what it may see', async () => {
    const hub = await registered(hubs);
    const mine = await answered(hub, 'marker', 'arangodb', 'secret plan alpha', 'plan accepted');
    const asked = await answered(hub, 'gamma', 'marker', 'secret plan beta', 'plan rejected');
    const theirs = await answered(hub, 'gamma', 'arangodb', 'secret plan gamma', 'plan hidden');
    const own = await hub.tasks.create({ name: 'secret plan task', module: 'marker' });
    const other = await hub.tasks.create({ name: 'secret plan other', module: 'gamma' });
    await hub.tasks.log(theirs.taskId, { text: 'secret plan log' });

    const seen = await ids(hub, { q: 'secret plan', visibleTo: 'marker' });
    expect(seen).toEqual([
      own.id,
      asked.taskId,
      asked.questionId,
      asked.threadId,
      mine.taskId,
      mine.questionId,
      mine.threadId,
    ]);
    for (const hidden of [theirs.threadId, theirs.questionId, theirs.taskId, other.id])
      expect(seen).not.toContain(hidden);
    expect(await ids(hub, { q: 'plan', kind: 'message', visibleTo: 'marker' })).toEqual([
      asked.messageId,
      asked.questionId,
      mine.messageId,
      mine.questionId,
    ]);
    expect(await ids(hub, { q: 'plan log', visibleTo: 'marker' })).toEqual([]);
    expect(await ids(hub, { q: 'plan log', visibleTo: 'arangodb' })).toEqual([theirs.taskId]);
    expect(await ids(hub, { q: 'plan hidden', visibleTo: 'gamma' })).toEqual([theirs.messageId]);
  });

  it('finds what a database held before search was added (migration 13 backfills)', async () => {
    const first = await registered(hubs);
    const database = first.database;
    const url = database.startsWith('postgres') ? database : `sqlite:${database}`;
    const a = await answered(first, 'marker', 'arangodb', 'where is the ledger', 'the ledger lives in Zürich');
    const task = await first.tasks.create({ name: 'audit ledger' });
    await first.tasks.log(task.id, { text: 'ledger balanced' });
    const unanswered = await first.ask({ from: 'marker', to: 'arangodb', prompt: 'second ledger question' });
    await first.messages.transition(unanswered.messageId, 'processing');
    await first.messages.appendContent(unanswered.messageId, 'ledger draft');
    await first.close();
    // The database as version 12 left it: no index, the rows above.
    await execute(url, [
      ...(url.startsWith('sqlite:') ? ['DROP TABLE search_words'] : []),
      'DROP TABLE search_docs',
      'DELETE FROM schema_migrations WHERE version = 13',
    ]);

    const hub = await hubs.open({ database: url });
    expect(await hub.schemaVersion()).toBe(SCHEMA_VERSION);
    expect((await hub.search({ q: 'ledger' })).map((h) => [h.id, h.field])).toEqual([
      [unanswered.taskId, 'name'],
      [unanswered.questionId, 'question'],
      [unanswered.threadId, 'title'],
      [task.id, 'name'],
      [a.taskId, 'name'],
      [a.messageId, 'answer'],
      [a.questionId, 'question'],
      [a.threadId, 'title'],
    ]);
    expect(await ids(hub, { q: 'zurich' })).toEqual([a.messageId]);
    expect(await ids(hub, { q: 'balanced' })).toEqual([task.id]);
    expect(await ids(hub, { q: 'draft' })).toEqual([]);
    // And indexing goes on as before.
    await hub.messages.transition(unanswered.messageId, 'complete');
    expect(await ids(hub, { q: 'draft' })).toEqual([unanswered.messageId]);
  });

  it('finds tasks for tasks.list({ q }) by the same rules, with its other filters', async () => {
    const hub = await registered(hubs);
    const deploy = await hub.tasks.create({ name: 'Deploy the Marker service', module: 'marker' });
    const logged = await hub.tasks.create({ name: 'nightly', module: 'gamma' });
    await hub.tasks.log(logged.id, { text: 'deployment checked' });
    await hub.tasks.create({ name: 'redeploy', module: 'marker' });
    const list = async (q: string, more = {}) => (await hub.tasks.list({ q, ...more })).map((t) => t.id);
    expect(await list('DEPLOY')).toEqual([logged.id, deploy.id]);
    expect(await list('deploy marker')).toEqual([deploy.id]);
    expect(await list('deploy', { module: 'marker' })).toEqual([deploy.id]);
    expect(await list('deploy', { limit: 1 })).toEqual([logged.id]);
    expect(await list('deploy', { before: logged.id })).toEqual([deploy.id]);
    expect(await list('eploy')).toEqual([]);
    await expect(hub.tasks.list({ q: '%' })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringMatching(/^q\b/),
    });
  });
});
