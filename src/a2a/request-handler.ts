/**
 * The SDK's `DefaultRequestHandler` with the hub's part before it: a message is asked of its module before the SDK
 * starts the task, so that a message the hub refuses (no such skill, a paused module, no text) is a JSON-RPC error
 * (-32602 with the hub's reason) instead of a task that fails at once; and a conversation goes on in its thread
 * (`contextId` = the thread). Cancelling a task whose reply no process here follows (the service restarted)
 * cancels the reply itself.
 */
import {
  type AgentCard,
  type CancelTaskRequest,
  type GetTaskRequest,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type SubscribeToTaskRequest,
  type Task,
  TaskState,
} from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { DefaultRequestHandler, type ServerCallContext } from '@a2a-js/sdk/server';
import { isHubError } from '../domain/errors.js';
import { isTerminal } from '../domain/status.js';
import type { Message as HubMessage } from '../domain/types.js';
import type { Hub } from '../hub.js';
import type { A2ATaskStore } from '../store/a2a-tasks.js';
import { moduleOf } from './caller.js';
import { cancelReply, endOf, type HubExecutor, hubMetadata, recordAsked } from './executor.js';
import { checkPushConfig, HOOKS_DELIVER, type HubPushStore } from './push.js';
import { moduleFor, questionOf } from './skill.js';

/** Who asks, for a token without a module. */
export const UNSCOPED_ASKER = 'a2a';

/** Hub refusals that are the request's fault, answered as invalid params with the hub's own words. */
const REFUSALS = ['validation', 'not_found', 'conflict', 'unavailable', 'forbidden', 'too_large'] as const;

/** The states a task ends in. */
const FINAL_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

/** How long a resubscriber's final event waits for the store: 100 × 20 ms, 2 s at most (a write takes ~1 ms). */
const STORE_WAIT_TRIES = 100;
const STORE_WAIT_MS = 20;

/** UUID form: a context id that may be one of the hub's threads. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Requests as the hub answers them. */
export class HubRequestHandler extends DefaultRequestHandler {
  constructor(
    private readonly hub: Hub,
    private readonly tasks: A2ATaskStore,
    private readonly executor: HubExecutor,
    card: AgentCard,
    push: HubPushStore,
  ) {
    // Push configs are watches, delivered by the hooks: the SDK's sender is left doing nothing.
    super(card, tasks, executor, undefined, push, HOOKS_DELIVER);
  }

  override async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    await this.ask(params, context);
    return super.sendMessage(params, context);
  }

  override async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    await this.ask(params, context);
    yield* super.sendMessageStream(params, context);
  }

  override async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<Task> {
    if (params.id) await this.settle(params.id, context);
    return super.getTask(params, context);
  }

  /**
   * Writes the end of a task whose reply has ended while no process here followed it (the service that did
   * stopped, and the reply was answered after the restart): its final status, and the whole answer.
   */
  private async settle(taskId: string, context: ServerCallContext): Promise<void> {
    const task = await this.tasks.load(taskId, context);
    const messageId = task && hubMetadata(task).messageId;
    if (!task || !messageId || FINAL_STATES.has(task.status?.state ?? 0) || this.executor.isLive(taskId)) return;
    const reply = await this.hub.messages.get(messageId);
    if (reply.status === 'unknown' || !isTerminal(reply.status)) return;
    const ended = endOf(task, reply as HubMessage);
    await this.tasks.save(ended, context);
  }

  /**
   * The SDK's resubscription, with each final status held back until the task store has it: the events of a
   * stream whose caller left are stored by the stream's own reader as it drains, a moment after a resubscriber
   * sees them, and a client reading the task at the end of its stream must find it ended.
   */
  override async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    if (params.id) await this.settle(params.id, context);
    for await (const event of super.resubscribe(params, context)) {
      const state = event.payload?.$case === 'statusUpdate' ? event.payload.value.status?.state : undefined;
      if (state !== undefined && FINAL_STATES.has(state)) await this.stored(params.id, state, context);
      yield event;
    }
  }

  /** Waits (a bounded while) until the stored task is in `state`. */
  private async stored(taskId: string, state: TaskState, context: ServerCallContext): Promise<void> {
    for (let i = 0; i < STORE_WAIT_TRIES; i++) {
      if ((await this.tasks.load(taskId, context))?.status?.state === state) return;
      await new Promise((resolve) => setTimeout(resolve, STORE_WAIT_MS));
    }
  }

  override async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const task = params.id ? await this.tasks.load(params.id, context) : undefined;
    const messageId = task && hubMetadata(task).messageId;
    if (task && messageId && !this.executor.isLive(task.id)) await cancelReply(this.hub, messageId);
    return super.cancelTask(params, context);
  }

  /** Asks the message's module, and sets the message's context to its thread when the client gave none. */
  private async ask(params: SendMessageRequest, context: ServerCallContext): Promise<void> {
    const message = params.message;
    if (!message?.messageId) throw new RequestMalformedError('message.messageId is required');
    const push = params.configuration?.taskPushNotificationConfig;
    if (push) await checkPushConfig(this.hub, push, context);
    if (message.taskId) {
      if (!(await this.tasks.load(message.taskId, context))) throw new TaskNotFoundError(`no task ${message.taskId}`);
      throw new UnsupportedOperationError(
        `task ${message.taskId} takes no further input: send a new message with its contextId to go on in its conversation`,
      );
    }
    const prompt = questionOf(message);
    const module = await moduleFor(this.hub, message, params.metadata);
    const caller = moduleOf(context.user);
    const threadId = message.contextId ? await this.threadOf(message.contextId, caller, context) : undefined;
    const after = await this.hub.events.head();
    try {
      const asked = await this.hub.ask({ from: caller ?? UNSCOPED_ASKER, to: module, prompt, threadId });
      message.contextId ||= asked.threadId;
      recordAsked(context, { module, ...asked, after }, message.contextId);
    } catch (err) {
      if (REFUSALS.some((code) => isHubError(err, code))) throw new RequestMalformedError((err as Error).message);
      throw err;
    }
  }

  /**
   * The thread a context continues: the thread of that id, when the caller may see it; else the thread of the
   * caller's earlier tasks in the context (a context id the client chose); else none (a new thread).
   */
  private async threadOf(contextId: string, caller: string | null, context: ServerCallContext) {
    if (UUID.test(contextId)) {
      const exists = await this.hub.threads.get(contextId).then(
        () => true,
        (err: unknown) => {
          if (isHubError(err, 'not_found')) return false;
          throw err;
        },
      );
      if (exists && (caller === null || (await this.hub.visibility.thread(caller, contextId)))) return contextId;
    }
    return (await this.tasks.threadOfContext(contextId, context)) ?? undefined;
  }
}
