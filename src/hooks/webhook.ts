/**
 * Posts a notification to a hook's webhook, signed with the watch's secret so the receiver can tell it came from
 * this hub and was not altered or replayed. A 2xx answer means delivered; a redirect is not followed (it would
 * resend the signed body somewhere the watch did not name) and counts as a failure.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { webhookSignature } from './notification.js';
import { type VettedAddress, vetWebhookHost } from './webhook-target.js';

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
  /** Connect only to public addresses, checked after resolving the host (see webhook-target.ts). */
  publicOnly: boolean;
  /** Headers besides the hub's own, set over them (an A2A push: its content type and notification token). */
  headers?: Record<string, string>;
}

/** How much of a refusing receiver's answer is kept to explain the failure. */
const ANSWER_CHARS = 200;

/** A lookup that answers the addresses already checked, so the connection goes where the check looked. */
function pinnedLookup(addresses: VettedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0] as VettedAddress;
    if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  };
}

/** Resolves on a 2xx answer; rejects with the reason otherwise (status and the start of the answer, timeout). */
export async function postWebhook(post: WebhookPost): Promise<void> {
  const signal = AbortSignal.any([post.signal, AbortSignal.timeout(post.timeoutMs)]);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const url = new URL(post.url);
  const options: RequestOptions = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(post.body),
      'user-agent': 'claude-comms',
      'x-claude-comms-watch': post.watchId,
      'x-claude-comms-delivery': post.deliveryId,
      'x-claude-comms-timestamp': timestamp,
      'x-claude-comms-signature': webhookSignature(post.secret, timestamp, post.body),
      ...post.headers,
    },
    signal,
  };
  let response: IncomingMessage;
  try {
    if (post.publicOnly) options.lookup = pinnedLookup(await vetWebhookHost(post.url));
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolve);
      req.on('error', reject);
      req.end(post.body);
    });
  } catch (err) {
    if (post.signal.aborted) throw new Error('stopped');
    if (signal.aborted) throw new Error(`no answer within ${post.timeoutMs} ms`);
    throw new Error((err as Error).message);
  }
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    response.destroy();
    return;
  }
  if (status >= 300 && status < 400) {
    response.destroy();
    const to = response.headers.location;
    throw new Error(`HTTP ${status}: a redirect${to ? ` to ${to.slice(0, ANSWER_CHARS)}` : ''}, not followed`);
  }
  const answer = await readStart(response).catch(() => '');
  const shown = answer.trim().slice(0, ANSWER_CHARS);
  throw new Error(`HTTP ${status}${shown ? `: ${shown}` : ''}`);
}

/** The start of an answer's body: enough to explain a refusal, never a whole large answer. */
async function readStart(response: IncomingMessage): Promise<string> {
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) {
    text += chunk as string;
    if (text.length >= ANSWER_CHARS * 4) break;
  }
  response.destroy();
  return text;
}
