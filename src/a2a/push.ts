/**
 * A2A push notifications through the hub's hooks: the SDK's `PushNotificationStore` over watches. Setting a config
 * for a task (`CreateTaskPushNotificationConfig`, or `configuration.taskPushNotificationConfig` of a sent message)
 * creates a webhook watch on the task's reply, firing on every status change, as the caller's token would create
 * it (`hub.watches.create`: the URL rules and, for a module token, the public-address rule of
 * hooks/webhook-target.ts); the watch's row also holds the config, from which the hook runner writes the A2A body
 * and token header (push-notification.ts). Delivery, retries, giving up, durability across restarts and the
 * one-deliverer lease are the hooks'. The SDK's own sender is not used (`HOOKS_DELIVER`).
 *
 * Getting and listing read the task's watches back; deleting removes the watch (it fires no more) and takes it off
 * the task. The SDK checks that the caller may see the task before each of these (a module token, only its own
 * tasks: another's is -32001), and the store checks again. A URL the hooks refuse is invalid params naming why.
 */
import { validateHeaderValue } from 'node:http';
import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import type { PushNotificationSender, PushNotificationStore, ServerCallContext } from '@a2a-js/sdk/server';
import { isHubError } from '../domain/errors.js';
import type { A2APushTarget } from '../exchange/a2a-push.js';
import type { Hub } from '../hub.js';
import type { A2ATaskStore } from '../store/a2a-tasks.js';
import { moduleOf } from './caller.js';
import { askedIn, cancelReply, hubMetadata } from './executor.js';

/** The SDK's sender, doing nothing: a config's notifications are the hooks' to deliver, from the log. */
export const HOOKS_DELIVER: PushNotificationSender = { send: async () => undefined };

/** Hub refusals of a config: the caller's mistake, answered as invalid params in the hub's words. */
const REFUSALS = ['validation', 'forbidden', 'not_found'] as const;

function refusal(err: unknown): unknown {
  if (REFUSALS.some((code) => isHubError(err, code))) {
    return new RequestMalformedError(`the push notification config was refused: ${(err as Error).message}`);
  }
  return err;
}

/** A config the hooks can send: a url, and a token and credentials that can go in a header. */
function checkShape(config: TaskPushNotificationConfig): void {
  if (!config.url) throw new RequestMalformedError('the push notification config needs a url');
  const auth = config.authentication;
  const sent: [string, string | undefined][] = [
    ['token', config.token],
    ['authentication', auth ? `${auth.scheme} ${auth.credentials}` : undefined],
  ];
  for (const [field, value] of sent) {
    try {
      if (value) validateHeaderValue('x', value);
    } catch {
      throw new RequestMalformedError(`the push notification config's ${field} cannot be sent in a header`);
    }
  }
}

/** The config as A2A answers it. */
function configOf(push: A2APushTarget, context: ServerCallContext): TaskPushNotificationConfig {
  return {
    tenant: context.tenant ?? '',
    id: push.configId,
    taskId: push.taskId,
    url: push.url,
    token: push.token,
    authentication: push.authentication ?? undefined,
  };
}

/**
 * Checks a push config's URL by the hooks' rules for this caller before anything is asked, so that a message
 * whose config would be refused is refused whole (invalid params), not asked and then left without its config.
 */
export async function checkPushConfig(
  hub: Hub,
  config: TaskPushNotificationConfig,
  context: ServerCallContext,
): Promise<void> {
  checkShape(config);
  try {
    await hub.watches.checkWebhook(config.url, moduleOf(context.user));
  } catch (err) {
    throw refusal(err);
  }
}

/** The SDK's push-config store over the hub's watches. */
export class HubPushStore implements PushNotificationStore {
  constructor(
    private readonly hub: Hub,
    private readonly tasks: A2ATaskStore,
  ) {}

  /**
   * Sets a config (one with the same id on the task is replaced): a watch on the task's reply. The config gets an
   * id when it has none (the SDK answers it as saved). A config sent with a message whose watch cannot be made
   * cancels the reply just asked, since the message is then refused.
   */
  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const sending = askedIn(context);
    const target = sending
      ? { messageId: sending.asked.messageId, contextId: sending.contextId }
      : await this.replyOf(taskId, context);
    checkShape(config);
    config.id ||= crypto.randomUUID();
    const push: A2APushTarget = {
      configId: config.id,
      taskId,
      contextId: target.contextId,
      url: config.url,
      token: config.token ?? '',
      authentication: config.authentication?.scheme
        ? { scheme: config.authentication.scheme, credentials: config.authentication.credentials }
        : null,
      wireVersion: context.requestedVersion === '0.3' ? '0.3' : '1.0',
    };
    try {
      await this.remove(taskId, config.id);
      await this.hub.watches.create(
        { messageId: target.messageId, on: ['status'], webhook: config.url },
        moduleOf(context.user),
        { a2aPush: push },
      );
    } catch (err) {
      if (sending) await cancelReply(this.hub, sending.asked.messageId).catch(() => undefined);
      throw refusal(err);
    }
  }

  /** The task's configs (none for a task the caller may not see). */
  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    if (!(await this.tasks.load(taskId, context))) return [];
    return (await this.tasks.push.forTask(taskId)).map((r) => configOf(r.push, context));
  }

  /** Deletes the config `configId` of the task (the task's id when none is named, as the SDK's own store does). */
  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    if (!(await this.tasks.load(taskId, context))) return;
    await this.remove(taskId, configId ?? taskId);
  }

  /** Removes the watches of the task's config `configId` and takes them off the task. */
  private async remove(taskId: string, configId: string): Promise<void> {
    for (const record of await this.tasks.push.forTask(taskId)) {
      if (record.push.configId !== configId) continue;
      if (record.removedAt === null) {
        await this.hub.watches.remove(record.watchId).catch((err: unknown) => {
          if (!isHubError(err, 'not_found')) throw err;
        });
      }
      await this.tasks.push.unlink(record.watchId);
    }
  }

  /** The reply and context of a stored task the caller may see. */
  private async replyOf(taskId: string, context: ServerCallContext) {
    const task = await this.tasks.load(taskId, context);
    const messageId = task && hubMetadata(task).messageId;
    if (!task || !messageId) throw new TaskNotFoundError(`no task ${taskId}`);
    return { messageId, contextId: task.contextId };
  }
}
