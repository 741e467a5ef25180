/**
 * A structured reply's rounds: the answer a run left read once its content is all written, and each round's
 * result recorded on the reply's `validation` (event `message.validated`) — with the content cleared for the
 * next round when the agent is asked again. Fenced by the run's claim, like everything a run writes.
 */
import type { ReplyValidation, ValidationRound } from '../domain/types.js';
import type { Database } from './database.js';
import { holdsClaim, type RunClaim } from './message-content.js';
import type { MessageStore } from './messages.js';
import { rowLock } from './row-lock.js';

/** The most issues an event carries; the reply's `validation` keeps them all. */
const EVENT_ISSUES = 20;

export class StructuredReplies {
  constructor(
    private readonly db: Database,
    private readonly messages: MessageStore,
  ) {}

  /** The reply's content once every delta the run sent is written; undefined when the run no longer holds it. */
  answer(id: string, claim: RunClaim): Promise<string | undefined> {
    return this.messages.settle(id, async (tx, row) => {
      if (!row || !holdsClaim(row, claim)) return undefined;
      const found = await tx.get<{ content: string }>('SELECT content FROM messages WHERE id = ?', [id]);
      return found?.content;
    });
  }

  /**
   * Records `round` on the reply; with `repairing`, clears its content for the next round's answer (the round
   * keeps it). False when the run no longer holds the reply.
   */
  record(id: string, claim: RunClaim, round: ValidationRound, repairing: boolean): Promise<boolean> {
    return this.db.write(async (tx) => {
      const row = await tx.get<{
        claimed_by: string | null;
        attempts: number;
        validation: string | null;
        thread_id: string;
        author: string;
      }>(`SELECT claimed_by, attempts, validation, thread_id, author FROM messages WHERE id = ?${rowLock(this.db)}`, [
        id,
      ]);
      if (!row || !holdsClaim(row, claim) || row.validation === null) return false;
      const validation = JSON.parse(row.validation) as ReplyValidation;
      validation.rounds = [...validation.rounds.filter((r) => r.round !== round.round), round];
      validation.valid = round.valid ? true : repairing ? null : false;
      await tx.run('UPDATE messages SET validation = ?, updated_at = ? WHERE id = ?', [
        JSON.stringify(validation),
        round.at,
        id,
      ]);
      tx.emit({
        type: 'message.validated',
        threadId: row.thread_id,
        messageId: id,
        module: row.author,
        data: {
          round: round.round,
          valid: round.valid,
          issues: round.issues.slice(0, EVENT_ISSUES),
          issueCount: round.issues.length,
          repairing,
        },
      });
      if (repairing) await this.messages.resetContent(tx, id);
      return true;
    });
  }

  /** Stores the valid answer's value, in the transaction that completes the reply. */
  static setValue(
    tx: { run(sql: string, params: unknown[]): Promise<number> },
    id: string,
    value: unknown,
  ): Promise<number> {
    return tx.run('UPDATE messages SET value = ? WHERE id = ?', [JSON.stringify(value), id]);
  }
}
