/**
 * The search index: each text search finds, written with the change that makes it (in the same transaction, so
 * the index never falls out of step with the records), and the condition that finds texts holding words.
 *
 * Both databases index the same words, made by one function (domain/search-text.ts): SQLite an FTS5 table with
 * the `ascii` tokenizer, which splits only at the spaces between them (unicode61 would fold and split by its own,
 * Unicode 6.1, rules); PostgreSQL a tsvector made from the list itself (`array_to_tsvector`, no parser: the
 * default one reads e-mail addresses, paths and numbers as words of their own, and `english` stems). A query is
 * those words as prefixes, all required: FTS5 `"w"* AND …`, PostgreSQL `'w':* & …` — words hold only letters,
 * digits and marks, so neither needs escaping.
 *
 * What is indexed, once each: a thread's title when it is created; a message's content when it is created
 * finished (a question) or reaches a final status (an answer — its streamed deltas are not indexed one by one); a
 * task's name when it is created; each entry of a task's log as it is appended (a row like any other text, so a
 * running task's log is found; indexing a task's whole log when it finished would leave it unfound until then and
 * read every entry back at the end of each run).
 */
import { type Expression, type SqlBool, sql } from 'kysely';
import { indexedWords, queryWords } from '../domain/search-text.js';
import type { SearchField, SearchKind } from '../domain/types.js';
import type { Database, SqlClient } from './database.js';
import type { Dialect } from './schema.js';

/** A text to index and what it belongs to. */
export interface SearchDoc {
  kind: SearchKind;
  /** The thread, message or task. */
  recordId: string;
  field: SearchField;
  /** The record's creation time (hits come newest first). */
  createdAt: string;
  text: string;
}

const COLUMNS = 'kind, record_id, field, created_at, body';
/** The insert of `count` texts: PostgreSQL makes their tsvectors, SQLite answers their ids. */
function insertDocs(dialect: Dialect, count: number): string {
  const row =
    dialect === 'postgres' ? "(?, ?, ?, ?, ?, array_to_tsvector(string_to_array(?, ' ')))" : '(?, ?, ?, ?, ?, ?)';
  const rows = Array.from({ length: count }, () => row).join(', ');
  return dialect === 'postgres'
    ? `INSERT INTO search_docs (${COLUMNS}, words) VALUES ${rows}`
    : `INSERT INTO search_docs (${COLUMNS}, pending) VALUES ${rows} RETURNING id`;
}

/**
 * How many texts SQLite indexes at a time. FTS5 writes a new segment (and, every few, merges segments) at each
 * commit, and at each savepoint of a group commit after a change to it: indexing each text as it came took
 * `hub.ask` from about 4,600 asks/s (the rows alone) to 3,600 (64 in flight, one process). So the words of a new
 * text wait in its row (`pending`), and the text whose id is a multiple of 256 moves all waiting words into FTS5
 * in one insert, in the transaction that writes it — PostgreSQL's GIN index does the same with its pending list
 * (fastupdate). A search reads the waiting words too (a few hundred rows at most). The trigger is the id, not a
 * count kept in memory, so short-lived writers (each CLI command is one) reach it as well as a service does.
 */
const MERGE_EVERY = 256;
/** Where the texts moved into FTS5 end: the ids above it are still waiting. */
const MERGED_KEY = 'search_merged';
const MERGED = `coalesce((SELECT CAST(value AS integer) FROM meta WHERE key = '${MERGED_KEY}'), 0)`;

/**
 * Texts gathered across the writes of one operation, to be indexed by one statement: an ask indexes its thread's
 * title, its question and its task's name with one insert instead of three — on PostgreSQL two round trips fewer
 * in a transaction of about a dozen.
 */
export class SearchBatch {
  private readonly docs: SearchDoc[] = [];

  add(doc: SearchDoc): void {
    this.docs.push(doc);
  }

  /** Indexes what was gathered, in the caller's write transaction. */
  write(dialect: Dialect, tx: SqlClient): Promise<void> {
    return indexTexts(dialect, tx, this.docs.splice(0));
  }
}

/**
 * Indexes `doc` inside the caller's write transaction — or, given a `batch`, adds it there to be indexed with the
 * other texts of the operation. A text without a word is left out.
 */
export async function indexText(dialect: Dialect, tx: SqlClient, doc: SearchDoc, batch?: SearchBatch): Promise<void> {
  if (batch) batch.add(doc);
  else await indexTexts(dialect, tx, [doc]);
}

async function indexTexts(dialect: Dialect, tx: SqlClient, docs: readonly SearchDoc[]): Promise<void> {
  const params: unknown[] = [];
  for (const doc of docs) {
    const words = indexedWords(doc.text);
    // A log entry has no row to show a snippet from but this one; the other texts are read from their records.
    if (words !== '')
      params.push(doc.kind, doc.recordId, doc.field, doc.createdAt, doc.field === 'log' ? doc.text : null, words);
  }
  if (!params.length) return;
  const statement = insertDocs(dialect, params.length / 6);
  if (dialect === 'postgres') {
    await tx.run(statement, params);
    return;
  }
  const ids = await tx.all<{ id: number }>(statement, params);
  if (ids.some((row) => Number(row.id) % MERGE_EVERY === 0)) await mergePending(tx);
}

/** SQLite: moves every text's waiting words into FTS5 (see `MERGE_EVERY`), in the caller's write transaction. */
async function mergePending(tx: SqlClient): Promise<void> {
  const top = await tx.get<{ id: number | null }>('SELECT max(id) AS id FROM search_docs');
  await tx.run(
    `INSERT INTO search_words (rowid, words) SELECT id, pending FROM search_docs WHERE id > ${MERGED} AND pending IS NOT NULL`,
  );
  await tx.run(`UPDATE search_docs SET pending = NULL WHERE id > ${MERGED} AND pending IS NOT NULL`);
  await tx.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
    MERGED_KEY,
    String(top?.id ?? 0),
  ]);
}

/** What of a task log entry search reads. */
type LogEntry = { text: string; action?: string | undefined; target?: string | undefined };

/** A task log entry as search indexes and shows it: `action target: text`. */
export function logText(entry: LogEntry): string {
  const what = [entry.action, entry.target].filter(Boolean).join(' ');
  return what ? `${what}: ${entry.text}` : entry.text;
}

/** What a message's text is to search: the question asked, or an answer. */
export function messageField(role: string): SearchField {
  return role === 'user' ? 'question' : 'answer';
}

/** The ids of the records of `kind` with a text holding every word of `q` (a query, checked: see `queryWords`). */
export function recordsMatching(db: Pick<Database, 'dialect' | 'builder'>, kind: SearchKind, q: unknown) {
  return db.builder
    .selectFrom('search_docs')
    .select('record_id')
    .where('kind', '=', kind)
    .where(matching(db, queryWords(q)));
}

/** A condition on `search_docs` rows: their text holds every one of `words` (query words) as a word's beginning. */
export function matching(db: Pick<Database, 'dialect'>, words: readonly string[]): Expression<SqlBool> {
  if (db.dialect === 'postgres') {
    return sql<SqlBool>`search_docs.words @@ ${words.map((w) => `'${w}':*`).join(' & ')}::tsquery`;
  }
  const query = words.map((w) => `"${w}"*`).join(' AND ');
  // The words still waiting (see MERGE_EVERY) by the same rule: a word of the list begins with each query word.
  const waiting = words.map((w) => sql`instr(' ' || p.pending, ${` ${w}`}) > 0`);
  return sql<SqlBool>`search_docs.id IN (SELECT rowid FROM search_words WHERE search_words MATCH ${query}
    UNION ALL SELECT p.id FROM search_docs p WHERE p.id > ${sql.raw(MERGED)} AND ${sql.join(waiting, sql` AND `)})`;
}

const BATCH = 500;

/**
 * Indexes what a database holds from before migration 13, inside the migration's transaction: thread titles,
 * finished messages, task names, and the task log entries still in the event log (older ones were pruned with
 * it). Reads in pages of 500, so a large database is not held in memory at once.
 */
export async function backfillSearch(dialect: Dialect, tx: SqlClient): Promise<void> {
  const pages = async <R extends { key: string | number; created_at: string }>(
    query: string,
    start: string | number,
    doc: (row: R) => Omit<SearchDoc, 'createdAt'>,
  ) => {
    for (let after = start; ; ) {
      const rows = await tx.all<R>(query, [after, BATCH]);
      for (const row of rows) await indexText(dialect, tx, { ...doc(row), createdAt: row.created_at });
      const last = rows.at(-1);
      if (!last || rows.length < BATCH) return;
      after = last.key;
    }
  };
  type Row = { key: string; created_at: string };
  await pages<Row & { title: string }>(
    'SELECT id AS key, title, created_at FROM threads WHERE title IS NOT NULL AND id > ? ORDER BY id LIMIT ?',
    '',
    (r) => ({ kind: 'thread', recordId: r.key, field: 'title', text: r.title }),
  );
  await pages<Row & { role: string; content: string }>(
    `SELECT id AS key, role, content, created_at FROM messages
     WHERE status IN ('complete', 'failed', 'cancelled') AND content <> '' AND id > ? ORDER BY id LIMIT ?`,
    '',
    (r) => ({ kind: 'message', recordId: r.key, field: messageField(r.role), text: r.content }),
  );
  await pages<Row & { name: string }>(
    'SELECT id AS key, name, created_at FROM tasks WHERE id > ? ORDER BY id LIMIT ?',
    '',
    (r) => ({ kind: 'task', recordId: r.key, field: 'name', text: r.name }),
  );
  await pages<{ key: number; task_id: string; data: string; created_at: string }>(
    `SELECT e.seq AS key, e.task_id, e.data, k.created_at FROM events e JOIN tasks k ON k.id = e.task_id
     WHERE e.type = 'task.logged' AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    0,
    (r) => ({ kind: 'task', recordId: r.task_id, field: 'log', text: logText(JSON.parse(r.data) as LogEntry) }),
  );
  if (dialect === 'sqlite') await mergePending(tx);
}
