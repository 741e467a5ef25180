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
 * task's name when it is created; each entry of a task's log as it is appended (one insert of a few words, well
 * inside the noise of bench rows 7 and 10; indexing a task's whole log when it finishes would leave a running
 * task's log unsearchable).
 */
import { type Expression, type SqlBool, sql } from 'kysely';
import { indexedWords } from '../domain/search-text.js';
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

const INSERT_DOC =
  'INSERT INTO search_docs (kind, record_id, field, created_at, body) VALUES (?, ?, ?, ?, ?) RETURNING id';
const INSERT_WORDS = 'INSERT INTO search_words (rowid, words) VALUES (?, ?)';
const INSERT_DOC_PG =
  "INSERT INTO search_docs (kind, record_id, field, created_at, body, words) VALUES (?, ?, ?, ?, ?, array_to_tsvector(string_to_array(?, ' ')))";

/** Indexes `doc` inside the caller's write transaction; a text without a word is left out. */
export async function indexText(dialect: Dialect, tx: SqlClient, doc: SearchDoc): Promise<void> {
  const words = indexedWords(doc.text);
  if (words === '') return;
  // A log entry has no row to show a snippet from but this one; the other texts are read from their records.
  const params = [doc.kind, doc.recordId, doc.field, doc.createdAt, doc.field === 'log' ? doc.text : null];
  if (dialect === 'postgres') {
    await tx.run(INSERT_DOC_PG, [...params, words]);
  } else {
    const row = await tx.get<{ id: number }>(INSERT_DOC, params);
    await tx.run(INSERT_WORDS, [row?.id, words]);
  }
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

/** A condition on `search_docs` rows: their text holds every one of `words` (query words) as a word's beginning. */
export function matching(db: Pick<Database, 'dialect'>, words: readonly string[]): Expression<SqlBool> {
  if (db.dialect === 'postgres') {
    return sql<SqlBool>`search_docs.words @@ ${words.map((w) => `'${w}':*`).join(' & ')}::tsquery`;
  }
  const query = words.map((w) => `"${w}"*`).join(' AND ');
  return sql<SqlBool>`search_docs.id IN (SELECT rowid FROM search_words WHERE search_words MATCH ${query})`;
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
}
