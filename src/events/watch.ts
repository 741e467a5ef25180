/**
 * Watching one message: its status history and waiting for it to finish (the original design's
 * `StatusTracker` and `poll_message_until_complete`), driven by the event log instead of a poll.
 */
import { encodeCursor } from '../domain/cursor.js';
import { HubError } from '../domain/errors.js';
import { assertId } from '../domain/ids.js';
import { isTerminal, type Status } from '../domain/status.js';
import type { HubEvent, Message, StatusChange, UnknownMessage } from '../domain/types.js';
import { MAX_TIMER_MS, number } from '../domain/validate.js';
import type { EventStore } from '../store/events.js';
import type { MessageStore } from '../store/messages.js';
import type { EventLog } from './event-log.js';

/** How a wait ended. */
export interface Completion {
  status: Status;
  message: Message;
  history: StatusChange[];
}

/** Options of `waitForCompletion`. */
export interface WaitOptions {
  /**
   * Give up after this long with `timeout` (the message is left as it is). Default (or Infinity): wait as long
   * as it takes.
   */
  timeoutMs?: number;
  /** Hears every event of the message while waiting (status changes, content deltas). */
  onEvent?: (event: HubEvent) => void;
}

const HISTORY_TYPES = ['message.created', 'message.status_changed'];

/** Status history and waits for single messages. */
export class MessageWatch {
  constructor(
    private readonly log: EventLog,
    private readonly events: EventStore,
    private readonly messages: MessageStore,
  ) {}

  /** Every status the message has had, oldest first, with times and reasons; empty for an unknown id. */
  async statusHistory(messageId: string): Promise<StatusChange[]> {
    const message = await this.messages.get(messageId);
    if (message.status === 'unknown') return [];
    const events = await this.events.page(0, { messageId, types: HISTORY_TYPES }, 100_000);
    const history: StatusChange[] = [];
    const first = events[0];
    if (first?.type !== 'message.created') {
      // The creation event was pruned by retention: the row still knows when the message began, and the oldest
      // change kept (if any) with which status.
      const status = first?.type === 'message.status_changed' ? first.data.from : (message as Message).status;
      history.push({ status, from: null, at: message.createdAt, reason: null, seq: null });
    }
    for (const e of events) {
      if (e.type === 'message.created') {
        history.push({ status: e.data.status, from: null, at: e.at, reason: null, seq: e.seq });
      } else if (e.type === 'message.status_changed') {
        history.push({ status: e.data.to, from: e.data.from, at: e.at, reason: e.data.reason ?? null, seq: e.seq });
      }
    }
    return history;
  }

  /**
   * Resolves when the message reaches `complete`, `failed` or `cancelled` (at once if it already has), with the
   * final message and its history. Works for a message that does not exist yet. `timeout` after `timeoutMs`.
   */
  async waitForCompletion(messageId: string, options: WaitOptions = {}): Promise<Completion> {
    assertId(messageId, 'message id');
    const { timeoutMs, onEvent } = options;
    // Infinity means no time limit; past 2^31-1 ms Node would fire a timer at once.
    const limit =
      timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY
        ? undefined
        : number(timeoutMs, 'timeoutMs', 0, MAX_TIMER_MS);
    const finish = async (): Promise<Completion> => {
      const message = (await this.messages.get(messageId)) as Message;
      return { status: message.status, message, history: await this.statusHistory(messageId) };
    };
    // Subscribe from the head *before* reading the row: a change between the two is seen as an event.
    const from = encodeCursor(await this.events.head());
    return new Promise<Completion>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let close = () => {};
      const settle = (outcome: Promise<Completion> | HubError) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        close();
        if (outcome instanceof HubError) reject(outcome);
        else outcome.then(resolve, reject);
      };
      if (limit !== undefined) {
        timer = setTimeout(() => {
          void this.messages.get(messageId).then(
            (m: Message | UnknownMessage) =>
              settle(
                new HubError(
                  'timeout',
                  `message ${messageId} did not finish within ${timeoutMs} ms (it is ${m.status})`,
                ),
              ),
            () => settle(new HubError('timeout', `message ${messageId} did not finish within ${timeoutMs} ms`)),
          );
        }, limit);
      }
      const onMessageEvent = (event: HubEvent) => {
        if (settled) return;
        const to =
          event.type === 'message.status_changed'
            ? event.data.to
            : event.type === 'message.created'
              ? event.data.status
              : undefined;
        const final = typeof to === 'string' && isTerminal(to as Status);
        // The caller's callback runs first (it hears the final event too), but its throwing cannot stop the wait.
        try {
          onEvent?.(event);
        } finally {
          if (final) settle(finish());
        }
      };
      this.log
        .subscribe({ after: from, messageId }, onMessageEvent, (reason) => settle(reason))
        .then(async (sub) => {
          close = () => sub.close();
          if (settled) return close();
          const current = await this.messages.get(messageId);
          if (isTerminal(current.status)) settle(finish());
        })
        .catch((err: unknown) => settle(err instanceof HubError ? err : Promise.reject(err)));
    });
  }
}
