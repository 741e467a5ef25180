/**
 * What an A2A push notification of the hub's looks like on the wire. A push config is a webhook watch on the
 * task's reply (store/a2a-push.ts); the hook runner delivers it (at least once, from the log, with its retries and
 * target rules) and calls `a2aPushNotification` for the body and headers instead of the hub's own notification.
 * Pure (a wire format, like the rest of exchange/), so the hooks may use it.
 *
 * The body is a v1.0 `StreamResponse` (as the SDK's `V1PushNotificationSerializer` writes it, content type
 * `application/a2a+json`), one per status change of the reply:
 * - `statusUpdate` while the task goes on (`submitted`, `working`);
 * - the whole `task` when it ends: its final status (with why, for `failed` and `canceled`) and, once completed,
 *   the `answer` artifact with the whole answer.
 * A config set over v0.3 gets the same event as v0.3 writes it (the SDK's `V03PushNotificationSerializer`: the bare
 * task or status-update event). The config's `token` is sent as `X-A2A-Notification-Token`, or its
 * `authentication` as `Authorization: <scheme> <credentials>` (as the SDK's `DefaultPushNotificationSender` does).
 */
import { StreamResponse, taskStateToJSON } from '@a2a-js/sdk';
import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import { type PushNotificationSerializer, V1PushNotificationSerializer } from '@a2a-js/sdk/server';
import { messageStatusAfter } from '../domain/apply.js';
import { isTerminal } from '../domain/status.js';
import type { HubEvent, Message as HubMessage } from '../domain/types.js';
import { A2A_STATES } from './a2a-states.js';

/** An A2A push-notification config as its watch delivers it. */
export interface A2APushTarget {
  /** The config's id (the client's, or one the hub gave it). */
  configId: string;
  /** The A2A task. */
  taskId: string;
  /** The task's context. */
  contextId: string;
  /** Where notifications are POSTed (the watch's webhook). */
  url: string;
  /** Sent as `X-A2A-Notification-Token` (when no `authentication` is given); '' for none. */
  token: string;
  /** Sent as `Authorization: <scheme> <credentials>`. */
  authentication: { scheme: string; credentials: string } | null;
  /** The A2A version the config was set over ('1.0', or '0.3'): the body is written in it. */
  wireVersion: string;
}

/** The header carrying a config's token (the SDK sender's default name). */
export const A2A_TOKEN_HEADER = 'X-A2A-Notification-Token';

/** The metadata key of the hub's own ids (as in store/a2a-tasks.ts). */
const HUB_METADATA_KEY = 'claudeComms';

const SERIALIZERS: Record<string, PushNotificationSerializer> = {
  '1.0': new V1PushNotificationSerializer(),
  '0.3': new V03PushNotificationSerializer(),
};

/** A push notification's body and the headers it needs besides the hub's signature. */
export interface A2APushNotification {
  /** The serialized event. */
  body: string;
  /** `content-type`, and the config's token or authorization. */
  headers: Record<string, string>;
}

/** The A2A status for the reply having moved to its status in `event`, with why it failed or was cancelled. */
function statusJson(event: HubEvent, reply: HubMessage, push: A2APushTarget) {
  const to = messageStatusAfter(event) ?? reply.status;
  const state = taskStateToJSON(A2A_STATES[to]);
  const status: Record<string, unknown> = { state, timestamp: event.at };
  if (to === 'failed' || to === 'cancelled') {
    const reason = event.type === 'message.status_changed' ? event.data.reason : undefined;
    status.message = {
      // Deterministic, so a delivery sent again carries the same event.
      messageId: `${reply.id}.${event.cursor}`,
      taskId: push.taskId,
      contextId: push.contextId,
      role: 'ROLE_AGENT',
      parts: [{ text: reply.error ?? reason ?? `the reply was ${to}`, mediaType: 'text/plain' }],
    };
  }
  return { to, status };
}

/** The notification a push config's webhook is sent for `event` (a status change of `reply`). */
export function a2aPushNotification(push: A2APushTarget, event: HubEvent, reply: HubMessage): A2APushNotification {
  const { to, status } = statusJson(event, reply, push);
  const json = isTerminal(to)
    ? {
        task: {
          id: push.taskId,
          contextId: push.contextId,
          status,
          artifacts:
            to === 'complete'
              ? [{ artifactId: reply.id, name: 'answer', parts: [{ text: reply.content, mediaType: 'text/plain' }] }]
              : [],
          metadata: {
            [HUB_METADATA_KEY]: {
              module: reply.author,
              threadId: reply.threadId,
              messageId: reply.id,
              ...(event.taskId ? { taskId: event.taskId } : {}),
            },
          },
        },
      }
    : { statusUpdate: { taskId: push.taskId, contextId: push.contextId, status } };
  const serializer = SERIALIZERS[push.wireVersion] ?? (SERIALIZERS['1.0'] as PushNotificationSerializer);
  const { body, contentType } = serializer.serialize(StreamResponse.fromJSON(json));
  const headers: Record<string, string> = { 'content-type': contentType };
  if (push.authentication?.scheme && push.authentication.credentials) {
    headers.authorization = `${push.authentication.scheme} ${push.authentication.credentials}`;
  } else if (push.token) {
    headers[A2A_TOKEN_HEADER] = push.token;
  }
  return { body, headers };
}
