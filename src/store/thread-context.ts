/**
 * What a run needs from its thread: the question the reply answers, the thread's history before it (to seed an
 * agent session started anew), and the module's agent session in the thread (`thread_sessions`), which a
 * follow-up resumes.
 */
import type { Message } from '../domain/types.js';
import type { Database, SqlClient } from './database.js';
import type { MessagesTable } from './schema.js';

/** The question a reply answers. */
export interface Question {
  id: string;
  author: string;
  content: string;
  createdAt: string;
  /** Whether a complete message comes before it in the thread (a history to seed a new session with). */
  earlier: boolean;
}

/** A module's agent session in a thread. */
export interface ThreadSession {
  id: string;
  /** The session's cumulative cost as last reported. */
  costTotal: number | null;
}

/** A message of the thread's history, as the prompt shows it. */
export interface HistoryEntry {
  author: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
}

type QuestionRow = Pick<MessagesTable, 'id' | 'author' | 'content' | 'created_at'> & {
  /** 0/1 on SQLite, a boolean on PostgreSQL. */
  earlier: unknown;
  session_id: string | null;
  cost_total_usd: number | null;
};

/** Reads a reply's thread for its run and keeps the module's session there. */
export class ThreadContext {
  constructor(private readonly db: Database) {}

  /**
   * In one read: the question `reply` answers (the thread's last user message before it, or for a retry before
   * the reply it retries), whether anything came before that question, and `module`'s session in the thread.
   */
  async forReply(
    given: Pick<Message, 'id' | 'threadId' | 'createdAt'> & { retryOf?: string | null },
    module: string,
  ): Promise<{ question: Question | undefined; session: ThreadSession | undefined }> {
    const reply = await firstAttempt(this.db.read, given);
    const row = await this.db.read.get<QuestionRow>(
      `SELECT q.id, q.author, q.content, q.created_at, s.session_id, s.cost_total_usd,
              EXISTS (SELECT 1 FROM messages AS e WHERE e.thread_id = ? AND e.status = 'complete'
                      AND (e.created_at < q.created_at OR (e.created_at = q.created_at AND e.id < q.id))) AS earlier
       FROM (SELECT 1 AS one) AS o
       LEFT JOIN (SELECT id, author, content, created_at FROM messages WHERE thread_id = ? AND role = 'user'
                  AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT 1) AS q
              ON 1 = 1
       LEFT JOIN thread_sessions AS s ON s.thread_id = ? AND s.module = ?`,
      [reply.threadId, reply.threadId, reply.createdAt, reply.createdAt, reply.id, reply.threadId, module],
    );
    const question: Question | undefined =
      row?.id == null
        ? undefined
        : {
            id: row.id,
            author: row.author,
            content: row.content,
            createdAt: row.created_at,
            earlier: row.earlier === true || Number(row.earlier) === 1,
          };
    const session: ThreadSession | undefined =
      row?.session_id == null
        ? undefined
        : { id: row.session_id, costTotal: row.cost_total_usd == null ? null : Number(row.cost_total_usd) };
    return { question, session };
  }

  /** The thread's complete messages before `question`, oldest first. */
  history(threadId: string, question: Pick<Question, 'id' | 'createdAt'>): Promise<HistoryEntry[]> {
    return this.db.read.all<HistoryEntry>(
      `SELECT author, role, content FROM messages WHERE thread_id = ? AND status = 'complete'
       AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at, id`,
      [threadId, question.createdAt, question.createdAt, question.id],
    );
  }

  /** Records `module`'s agent session in the thread, or the session's cumulative cost (or both). */
  async saveSession(
    threadId: string,
    module: string,
    change: { sessionId?: string; costTotal?: number },
  ): Promise<void> {
    await this.db.write(async (tx) => {
      const now = new Date().toISOString();
      if (change.sessionId) {
        await tx.run(
          `INSERT INTO thread_sessions (thread_id, module, session_id, cost_total_usd, updated_at) VALUES (?, ?, ?, NULL, ?)
           ON CONFLICT (thread_id, module) DO UPDATE SET session_id = excluded.session_id, updated_at = excluded.updated_at`,
          [threadId, module, change.sessionId, now],
        );
      }
      if (change.costTotal !== undefined) {
        await tx.run(
          'UPDATE thread_sessions SET cost_total_usd = ?, updated_at = ? WHERE thread_id = ? AND module = ?',
          [change.costTotal, now, threadId, module],
        );
      }
    });
  }

  /** Forgets `module`'s session in the thread (the agent no longer has it): the next run starts anew. */
  async forgetSession(threadId: string, module: string): Promise<void> {
    await this.db.write((tx) =>
      tx.run('DELETE FROM thread_sessions WHERE thread_id = ? AND module = ?', [threadId, module]),
    );
  }
}

/** The longest chain of retries followed back to a first attempt (a chain is as long as the times retried). */
const MAX_RETRIES_FOLLOWED = 1000;

/**
 * The reply a chain of retries started from: a retry is created after the failed reply it retries, perhaps after
 * later questions in its thread, so its question is the one before the first attempt, not before itself.
 */
export async function firstAttempt<R extends Pick<Message, 'id' | 'threadId' | 'createdAt'>>(
  client: SqlClient,
  reply: R & { retryOf?: string | null },
): Promise<Pick<Message, 'id' | 'threadId' | 'createdAt'>> {
  let at: Pick<Message, 'id' | 'threadId' | 'createdAt'> & { retryOf?: string | null } = reply;
  for (let hops = 0; at.retryOf && hops < MAX_RETRIES_FOLLOWED; hops++) {
    const row = await client.get<Pick<MessagesTable, 'id' | 'thread_id' | 'created_at' | 'retry_of'>>(
      'SELECT id, thread_id, created_at, retry_of FROM messages WHERE id = ?',
      [at.retryOf],
    );
    if (!row) break;
    at = { id: row.id, threadId: row.thread_id, createdAt: row.created_at, retryOf: row.retry_of };
  }
  return at;
}
