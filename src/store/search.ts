/**
 * Search: threads, messages and tasks whose indexed text (store/search-index.ts) holds every query word as the
 * beginning of a word, newest first, filtered by kind, module and status and by what a module may see, a page at
 * a time. One method over both databases; they match by the same rules because they index and query the same
 * words.
 *
 * What a search reads: the index finds the matching texts (FTS5, or a GIN index), which are grouped by record
 * and sorted by its creation time; a filter checks each matching text's record by primary key. A page's hits are
 * then read with their records, and each snippet is cut from the text that matched.
 */
import { type ExpressionBuilder, sql } from 'kysely';
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import type { SearchOptions } from '../domain/inputs.js';
import { queryWords, snippet } from '../domain/search-text.js';
import { STATUSES, type Status } from '../domain/status.js';
import { SEARCH_KINDS, type SearchField, type SearchHit, type SearchKind } from '../domain/types.js';
import { list, moduleName, oneOf, pageSize } from '../domain/validate.js';
import type { Database } from './database.js';
import type { Schema } from './schema.js';
import { matching } from './search-index.js';
import { visibleTo } from './visibility.js';

/** A page's hit as the index gives it: the record, its time and the first of its texts that matched. */
interface HitRow {
  kind: SearchKind;
  record_id: string;
  created_at: string;
  doc: number | string;
}

/** What a hit shows of its record: where it sits, who and how it stands, and its text by field. */
interface Detail {
  threadId: string | null;
  messageId: string | null;
  taskId: string | null;
  module: string | null;
  status: Status | null;
  text: Partial<Record<SearchField, string>>;
}

type Docs = ExpressionBuilder<Schema, 'search_docs'>;

/** Finds threads, messages and tasks by their words. */
export class SearchStore {
  constructor(private readonly db: Database) {}

  /** Hits for `options.q`, newest first (see `SearchOptions`); page on with `before` = the last hit's id. */
  async search(options: SearchOptions): Promise<SearchHit[]> {
    const words = queryWords(options.q);
    const kinds = options.kind === undefined ? SEARCH_KINDS : [oneOf(options.kind, 'kind', SEARCH_KINDS)];
    const module = options.module === undefined ? undefined : moduleName(options.module);
    const statuses =
      options.status === undefined
        ? undefined
        : list(Array.isArray(options.status) ? options.status : [options.status], 'status', STATUSES.length, (v, f) =>
            oneOf(v, f, STATUSES),
          );
    const limit = options.limit === undefined ? 20 : pageSize(options.limit, 100);
    const scope = { module, statuses, visibleTo: options.visibleTo };
    let q = this.db.builder
      .selectFrom('search_docs')
      .select(['kind', 'record_id', 'created_at'])
      .select((eb) => eb.fn.min('id').as('doc'))
      .where(matching(this.db, words))
      .groupBy(['kind', 'record_id', 'created_at'])
      .orderBy('created_at', 'desc')
      .orderBy('record_id', 'desc')
      .limit(limit);
    if (kinds.length < SEARCH_KINDS.length || Object.values(scope).some((v) => v !== undefined)) {
      q = q.where((eb) => eb.or(kinds.map((kind) => this.recordCondition(eb, kind, scope))));
    }
    if (options.before !== undefined) {
      const before = options.before;
      const at = await this.createdAt(before);
      q = q.where((eb) =>
        eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('record_id', '<', before)])]),
      );
    }
    const rows = await this.db.read.all<HitRow>(q.compile());
    return this.hits(rows, words);
  }

  /**
   * Which texts of `kind` a search keeps: all of them, or — with a module, statuses or a scope — those whose record
   * passes, checked by primary key. A thread has no status: a search by status finds none.
   */
  private recordCondition(
    eb: Docs,
    kind: SearchKind,
    { module, statuses, visibleTo: seer }: { module?: string; statuses?: Status[]; visibleTo?: string },
  ) {
    const b = this.db.builder;
    const ofKind = eb('search_docs.kind', '=', kind);
    if (module === undefined && statuses === undefined && seer === undefined) return ofKind;
    const record = sql.ref<string>('search_docs.record_id');
    if (kind === 'thread') {
      if (statuses !== undefined) return eb.lit(false);
      let t = b.selectFrom('threads').select('id').where('threads.id', '=', record);
      if (module !== undefined) t = t.where('created_by', '=', module);
      if (seer !== undefined) t = t.where(visibleTo.threads(b, seer));
      return eb.and([ofKind, eb.exists(t)]);
    }
    if (kind === 'message') {
      let m = b.selectFrom('messages').select('id').where('messages.id', '=', record);
      if (module !== undefined) m = m.where('author', '=', module);
      if (statuses !== undefined) m = m.where('status', 'in', statuses);
      if (seer !== undefined) m = m.where(visibleTo.messages(b, seer));
      return eb.and([ofKind, eb.exists(m)]);
    }
    let k = b.selectFrom('tasks').select('id').where('tasks.id', '=', record);
    if (module !== undefined) k = k.where('module', '=', module);
    if (statuses !== undefined) k = k.where('status', 'in', statuses);
    if (seer !== undefined) k = k.where(visibleTo.tasks(b, seer));
    return eb.and([ofKind, eb.exists(k)]);
  }

  /** When the record `id` (a thread, message or task) was created: where a page that ends with it ends. */
  private async createdAt(id: string): Promise<string> {
    assertId(id, 'before');
    const row = await this.db.read.get<{ created_at: string }>(
      `SELECT created_at FROM threads WHERE id = ? UNION ALL SELECT created_at FROM messages WHERE id = ?
       UNION ALL SELECT created_at FROM tasks WHERE id = ?`,
      [id, id, id],
    );
    if (!row) throw new HubError('validation', `before names no thread, message or task: ${id}`);
    return row.created_at;
  }

  /** The page's hits with their records and snippets. */
  private async hits(rows: HitRow[], words: readonly string[]): Promise<SearchHit[]> {
    if (!rows.length) return [];
    const ids = (kind: SearchKind) => rows.filter((r) => r.kind === kind).map((r) => r.record_id);
    const docs = new Map<number, { field: SearchField; body: string | null }>();
    const docRows = await this.db.read.all<{ id: number | string; field: SearchField; body: string | null }>(
      this.db.builder
        .selectFrom('search_docs')
        .select(['id', 'field', 'body'])
        .where(
          'id',
          'in',
          rows.map((r) => Number(r.doc)),
        )
        .compile(),
    );
    for (const d of docRows) docs.set(Number(d.id), { field: d.field, body: d.body });
    const details = new Map([
      ...(await this.threads(ids('thread'))),
      ...(await this.messages(ids('message'))),
      ...(await this.tasks(ids('task'))),
    ]);
    return rows.flatMap((r) => {
      const detail = details.get(r.record_id);
      const doc = docs.get(Number(r.doc));
      if (!detail || !doc) return [];
      const { text, ...where } = detail;
      return [
        {
          kind: r.kind,
          id: r.record_id,
          ...where,
          createdAt: r.created_at,
          field: doc.field,
          snippet: snippet(doc.body ?? text[doc.field] ?? '', words),
        },
      ];
    });
  }

  private async threads(ids: string[]): Promise<[string, Detail][]> {
    if (!ids.length) return [];
    const rows = await this.db.read.all<{ id: string; title: string | null; created_by: string | null }>(
      this.db.builder.selectFrom('threads').select(['id', 'title', 'created_by']).where('id', 'in', ids).compile(),
    );
    return rows.map((r) => [
      r.id,
      {
        threadId: r.id,
        messageId: null,
        taskId: null,
        module: r.created_by,
        status: null,
        text: { title: r.title ?? '' },
      },
    ]);
  }

  private async messages(ids: string[]): Promise<[string, Detail][]> {
    if (!ids.length) return [];
    const rows = await this.db.read.all<{
      id: string;
      thread_id: string;
      author: string;
      status: Status;
      content: string;
      task_id: string | null;
    }>(
      this.db.builder
        .selectFrom('messages as m')
        .leftJoin('tasks as k', 'k.message_id', 'm.id')
        .select(['m.id', 'm.thread_id', 'm.author', 'm.status', 'm.content', 'k.id as task_id'])
        .where('m.id', 'in', ids)
        .compile(),
    );
    return rows.map((r) => [
      r.id,
      {
        threadId: r.thread_id,
        messageId: r.id,
        taskId: r.task_id,
        module: r.author,
        status: r.status,
        text: { question: r.content, answer: r.content },
      },
    ]);
  }

  private async tasks(ids: string[]): Promise<[string, Detail][]> {
    if (!ids.length) return [];
    const rows = await this.db.read.all<{
      id: string;
      name: string;
      module: string | null;
      status: Status;
      message_id: string | null;
      thread_id: string | null;
    }>(
      this.db.builder
        .selectFrom('tasks as k')
        .leftJoin('messages as m', 'm.id', 'k.message_id')
        .select(['k.id', 'k.name', 'k.module', 'k.status', 'k.message_id', 'm.thread_id'])
        .where('k.id', 'in', ids)
        .compile(),
    );
    return rows.map((r) => [
      r.id,
      {
        threadId: r.thread_id,
        messageId: r.message_id,
        taskId: r.id,
        module: r.module,
        status: r.status,
        text: { name: r.name },
      },
    ]);
  }
}
