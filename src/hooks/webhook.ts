/**
 * Posts a notification to a hook's webhook, signed with the watch's secret so the receiver can tell it came from
 * this hub and was not altered or replayed. A 2xx answer means delivered.
 */
import { webhookSignature } from './notification.js';

/** One attempt at posting a notification. */
export interface WebhookPost {
  url: string;
  /** The notification as JSON. */
  body: string;
  secret: string;
  watchId: string;
  deliveryId: string;
  timeoutMs: number;
  /** Aborting cancels the request. */
  signal: AbortSignal;
}

/** How much of a refusing receiver's answer is kept to explain the failure. */
const ANSWER_CHARS = 200;

/** Resolves on a 2xx answer; rejects with the reason otherwise (status and the start of the answer, timeout). */
export async function postWebhook(post: WebhookPost): Promise<void> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  let response: Response;
  try {
    response = await fetch(post.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'claude-comms',
        'x-claude-comms-watch': post.watchId,
        'x-claude-comms-delivery': post.deliveryId,
        'x-claude-comms-timestamp': timestamp,
        'x-claude-comms-signature': webhookSignature(post.secret, timestamp, post.body),
      },
      body: post.body,
      // A redirect would resend the signed body somewhere the watch did not name: report it instead.
      redirect: 'manual',
      signal: AbortSignal.any([post.signal, AbortSignal.timeout(post.timeoutMs)]),
    });
  } catch (err) {
    if (post.signal.aborted) throw new Error('stopped');
    if ((err as Error).name === 'TimeoutError') throw new Error(`no answer within ${post.timeoutMs} ms`);
    const cause = (err as Error).cause;
    throw new Error(`${(err as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`);
  }
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel();
    return;
  }
  const answer = await response.text().catch(() => '');
  const shown = answer.trim().slice(0, ANSWER_CHARS);
  throw new Error(`HTTP ${response.status}${shown ? `: ${shown}` : ''}`);
}
