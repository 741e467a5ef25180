/**
 * What a hook receives: the JSON document (a command's stdin, a webhook's body), a command's environment, and a
 * webhook's signature. Pure, so the exact shape is tested without running anything.
 */
import { createHmac } from 'node:crypto';
import { messageStatusAfter } from '../domain/apply.js';
import type { HubEvent, Message } from '../domain/types.js';

/** Content beyond this many bytes (UTF-8) is cut from a notification; `contentLength` still tells the whole. */
export const MAX_NOTIFIED_CONTENT_BYTES = 64 * 1024;

/** The message an event concerns, as it stood when the notification was sent. */
export interface NotifiedMessage {
  id: string;
  threadId: string;
  author: string;
  status: string;
  error: string | null;
  /** Length of the whole content in characters. */
  contentLength: number;
  /** The content, cut to its first 64 KiB. */
  content: string;
  /** True when `content` was cut. */
  contentTruncated: boolean;
}

/** The JSON document a hook receives. */
export interface HookNotification {
  watchId: string;
  /** The event's cursor: the same on every attempt of one delivery, so a receiver can drop repeats. */
  deliveryId: string;
  event: HubEvent;
  message: NotifiedMessage;
}

/** The notification of `event` by watch `watchId`, with `message` read at sending time. */
export function notification(watchId: string, event: HubEvent, message: Message): HookNotification {
  const content = cutUtf8(message.content, MAX_NOTIFIED_CONTENT_BYTES);
  return {
    watchId,
    deliveryId: event.cursor,
    event,
    message: {
      id: message.id,
      threadId: message.threadId,
      author: message.author,
      status: message.status,
      error: message.error,
      contentLength: [...message.content].length,
      content,
      contentTruncated: content.length < message.content.length,
    },
  };
}

/** The `CLAUDE_COMMS_*` variables a hook command runs with. */
export function hookEnvironment(n: HookNotification): Record<string, string> {
  const { event } = n;
  return {
    CLAUDE_COMMS_WATCH_ID: n.watchId,
    CLAUDE_COMMS_DELIVERY_ID: n.deliveryId,
    CLAUDE_COMMS_EVENT: event.type,
    CLAUDE_COMMS_MESSAGE_ID: event.messageId ?? '',
    CLAUDE_COMMS_THREAD_ID: event.threadId ?? '',
    CLAUDE_COMMS_MODULE: event.module ?? '',
    CLAUDE_COMMS_STATUS: messageStatusAfter(event) ?? '',
    CLAUDE_COMMS_CURSOR: event.cursor,
  };
}

/** The `x-claude-comms-signature` value: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** `text` cut to at most `maxBytes` of UTF-8, never in the middle of a character. */
function cutUtf8(text: string, maxBytes: number): string {
  // A UTF-16 unit takes at most 3 bytes of UTF-8, so shorter text always fits: most messages skip the encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
