/**
 * Waiting, for at most some seconds, for a reply to finish (complete, failed or cancelled), as the `ask` and
 * `get_reply` tools do: the reply's status changes are followed on the event feed, so the answer is handed back
 * as soon as it is stored rather than at the next poll. The feed is always closed, and a wait the caller gives up
 * (a cancelled tool call) stops at once. Where no feed can be followed, the reply is read once a second instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommsClient, MessageWithTask } from '../client/types.js';
import { isTerminal } from '../domain/status.js';

/** The longest wait a tool call may ask for, in seconds (ten minutes). */
export const MAX_WAIT_SECONDS = 600;

/** How often a reply is read when no event feed can be followed. */
const POLL_MS = 1000;

/**
 * How often `onWaiting` is called while the wait goes on: well inside the 60 s an MCP SDK client waits for an
 * answer by default, and rare enough to cost nothing (one small notification per call every 5 s).
 */
const WAITING_NOTICE_MS = 5000;

/** Options of `waitForReply`. */
export interface WaitOptions {
  /** Stops the wait (the reply as it then is is answered). */
  signal?: AbortSignal;
  /**
   * Called every five seconds while waiting, with the seconds waited so far: the tools send a progress
   * notification, which keeps a client that resets its timeout on progress from giving up on a long wait.
   */
  onWaiting?: (seconds: number) => void;
}

/** A reply after the wait: `timedOut` when the time ran out (or the wait was stopped) before it finished. */
export interface WaitedReply {
  reply: MessageWithTask;
  timedOut: boolean;
}

/**
 * The reply `replyId` once it is finished, or as it is after `seconds` (0: at once). `not_found` for an unknown
 * id (or one the caller may not see), before anything is followed.
 */
export async function waitForReply(
  client: CommsClient,
  replyId: string,
  seconds: number,
  options: WaitOptions = {},
): Promise<WaitedReply> {
  const first = await client.message(replyId);
  if (isTerminal(first.status)) return { reply: first, timedOut: false };
  if (seconds <= 0 || options.signal?.aborted) return { reply: first, timedOut: true };
  const started = Date.now();
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), seconds * 1000);
  const forward = () => stop.abort();
  options.signal?.addEventListener('abort', forward);
  const notices = options.onWaiting
    ? setInterval(() => options.onWaiting?.(Math.round((Date.now() - started) / 1000)), WAITING_NOTICE_MS)
    : undefined;
  try {
    try {
      await untilFinishedEvent(client, replyId, stop.signal);
    } catch {
      // No feed to follow (or it ended for good): the rest of the wait reads the reply instead.
      await untilFinishedRead(client, replyId, stop.signal);
    }
    const reply = await client.message(replyId);
    return { reply, timedOut: !isTerminal(reply.status) };
  } finally {
    clearTimeout(deadline);
    clearInterval(notices);
    options.signal?.removeEventListener('abort', forward);
  }
}

/**
 * Resolves when the reply's status becomes final, or `stop` aborts; rejects when the feed cannot be followed.
 * The feed is opened before the reply is read again, so a change between the two is not missed.
 */
async function untilFinishedEvent(client: CommsClient, replyId: string, stop: AbortSignal): Promise<void> {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const feed = await client.follow({ messageId: replyId, types: ['message.status_changed'] }, (event) => {
    if (event.type === 'message.status_changed' && isTerminal(event.data.to)) finish();
  });
  try {
    if (stop.aborted || isTerminal((await client.message(replyId)).status)) return;
    await Promise.race([finished, aborted(stop), feed.failed]);
  } finally {
    feed.close();
  }
}

/** Reads the reply once a second until it is final or `stop` aborts. */
async function untilFinishedRead(client: CommsClient, replyId: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    if (isTerminal((await client.message(replyId)).status)) return;
    await sleep(POLL_MS, undefined, { signal: stop }).catch(() => undefined);
  }
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
