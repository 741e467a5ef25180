/**
 * The A2A SDK's `AgentExecutor` over the hub: a message has already been asked when the executor runs (the
 * request handler asks first, so that a refused ask is a JSON-RPC error rather than a failed task); the executor
 * publishes the task, then follows the reply's events in the log and publishes what they say — `working` when an
 * agent takes it, the content as it streams as appends to the `answer` artifact, then the whole answer and
 * `completed`, or `failed` with the error, or `canceled`. Cancelling an A2A task cancels the reply.
 */
import { Artifact, Message, Part, type Task, TaskState, type TaskStatus } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import type { Logger } from 'pino';
import { isHubError } from '../domain/errors.js';
import { isTerminal } from '../domain/status.js';
import type { HubEvent, Message as HubMessage } from '../domain/types.js';
import { A2A_STATES } from '../exchange/a2a-states.js';
import type { Hub } from '../hub.js';
import { HUB_METADATA_KEY } from '../store/a2a-tasks.js';

/** What the request handler asked for a message, handed to the executor in the call's state. */
export interface AskedMessage {
  module: string;
  threadId: string;
  /** The question. */
  questionId: string;
  /** The reply, whose events the executor follows. */
  messageId: string;
  /** The hub task tracking the reply. */
  taskId: string;
  /** The log's position before the ask, so that no event of the reply is missed. */
  after: string;
}

const ASKED = 'claude-comms.asked';
const ASKED_CONTEXT = 'claude-comms.asked-context';

/** Hands `asked` to the executor that runs for this call, and the task's `contextId` to the push store. */
export function recordAsked(context: ServerCallContext, asked: AskedMessage, contextId: string): void {
  context.state.set(ASKED, asked);
  context.state.set(ASKED_CONTEXT, contextId);
}

/** What this call asked (a message being sent), with the new task's context; undefined for any other call. */
export function askedIn(context: ServerCallContext): { asked: AskedMessage; contextId: string } | undefined {
  const asked = context.state.get(ASKED) as AskedMessage | undefined;
  const contextId = context.state.get(ASKED_CONTEXT);
  return asked && typeof contextId === 'string' ? { asked, contextId } : undefined;
}

/** The hub's ids an A2A task carries in its metadata, under `claudeComms`. */
export function hubMetadata(task: Task): Partial<AskedMessage> {
  return (task.metadata?.[HUB_METADATA_KEY] ?? {}) as Partial<AskedMessage>;
}

/** A text part. */
function text(value: string): Part {
  return Part.fromJSON({ text: value, mediaType: 'text/plain' });
}

/** A status of `state` now, with an agent message when there is something to say. */
function status(state: TaskState, taskId: string, contextId: string, say?: string): TaskStatus {
  return {
    state,
    timestamp: new Date().toISOString(),
    message:
      say === undefined
        ? undefined
        : Message.fromJSON({
            messageId: crypto.randomUUID(),
            taskId,
            contextId,
            role: 'ROLE_AGENT',
            parts: [{ text: say, mediaType: 'text/plain' }],
          }),
  };
}

/** The answer artifact of a reply: its id is the reply's. */
function answerArtifact(messageId: string, parts: Part[]): Artifact {
  const artifact = Artifact.fromJSON({ artifactId: messageId, name: 'answer' });
  artifact.parts = parts;
  return artifact;
}

/** What an ended reply says to the client: the final state, with the reason for a failure or a cancel. */
function finalStatus(
  reply: Pick<HubMessage, 'status' | 'error'>,
  reason: string | undefined,
  taskId: string,
  contextId: string,
) {
  const state = A2A_STATES[reply.status];
  if (reply.status === 'complete') return status(state, taskId, contextId);
  return status(state, taskId, contextId, reply.error ?? reason ?? `the reply was ${reply.status}`);
}

/** `task` ended as `reply` did (for a task no process followed to its end): its final status and whole answer. */
export function endOf(task: Task, reply: HubMessage): Task {
  const answer = reply.status === 'complete' ? [answerArtifact(reply.id, [text(reply.content)])] : [];
  const others = task.artifacts.filter((a) => a.artifactId !== reply.id);
  return { ...task, status: finalStatus(reply, undefined, task.id, task.contextId), artifacts: [...others, ...answer] };
}

/** A reply being answered for an A2A task in this process. */
interface LiveTask {
  messageId: string;
  /** Set once a cancel was asked: the content's appends stop (the final status is all that follows). */
  cancelling: boolean;
}

/** Runs A2A tasks as hub asks. One per service. */
export class HubExecutor implements AgentExecutor {
  private readonly live = new Map<string, LiveTask>();

  constructor(
    private readonly hub: Hub,
    private readonly logger: Logger,
  ) {}

  /** Whether this process follows the task's reply now. */
  isLive(taskId: string): boolean {
    return this.live.has(taskId);
  }

  async execute(request: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const asked = request.context.state.get(ASKED) as AskedMessage | undefined;
    if (!asked) throw new Error('the message reached the executor without being asked');
    const { taskId, contextId } = request;
    const run: LiveTask = { messageId: asked.messageId, cancelling: false };
    this.live.set(taskId, run);
    try {
      const { after: _after, ...ids } = asked;
      bus.publish(
        AgentEvent.task({
          id: taskId,
          contextId,
          status: status(TaskState.TASK_STATE_SUBMITTED, taskId, contextId),
          artifacts: [],
          history: [request.userMessage],
          metadata: { [HUB_METADATA_KEY]: ids },
        }),
      );
      await this.follow(asked, run, taskId, contextId, bus);
    } finally {
      this.live.delete(taskId);
    }
  }

  async cancelTask(taskId: string, _bus: ExecutionEventBus): Promise<void> {
    // No run here means its execution has just ended: its bus finishes, and the cancel with it.
    const run = this.live.get(taskId);
    if (!run) return;
    run.cancelling = true;
    await cancelReply(this.hub, run.messageId);
  }

  /** Publishes the reply's events until it ends. */
  private follow(asked: AskedMessage, run: LiveTask, taskId: string, contextId: string, bus: ExecutionEventBus) {
    const publishArtifact = (parts: Part[], append: boolean, lastChunk: boolean) =>
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId,
          contextId,
          artifact: answerArtifact(asked.messageId, parts),
          append,
          lastChunk,
          metadata: undefined,
        }),
      );
    const publishStatus = (state: TaskState, say?: string) =>
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: status(state, taskId, contextId, say),
          metadata: undefined,
        }),
      );
    let streamed = false;
    /** Applies one event; true once the reply has ended. */
    const apply = async (event: HubEvent): Promise<boolean> => {
      if (event.type === 'message.content_updated') {
        if (run.cancelling) return false;
        if (event.data.reset) {
          publishArtifact([text('')], false, false);
          streamed = true;
        } else if (event.data.delta !== '') {
          publishArtifact([text(event.data.delta)], streamed, false);
          streamed = true;
        }
        return false;
      }
      if (event.type !== 'message.status_changed') return false;
      const to = event.data.to;
      if (to === 'processing') publishStatus(TaskState.TASK_STATE_WORKING);
      if (!isTerminal(to)) return false;
      const reply = await this.hub.messages.require(asked.messageId);
      if (to === 'complete') publishArtifact([text(reply.content)], false, true);
      const final = finalStatus({ status: to, error: reply.error }, event.data.reason, taskId, contextId);
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: final, metadata: undefined }));
      return true;
    };
    return new Promise<void>((resolve, reject) => {
      let queue = Promise.resolve();
      let ended = false;
      let subscription: { close(): void } | undefined;
      const end = (err?: unknown) => {
        if (ended) return;
        ended = true;
        subscription?.close();
        if (err === undefined) resolve();
        else reject(err);
      };
      const handler = (event: HubEvent) => {
        queue = queue
          .then(() => (ended ? false : apply(event)))
          .then((done) => {
            if (done) end();
          })
          .catch((err: unknown) => {
            this.logger.warn({ err, taskId }, 'an A2A task could not publish its reply’s event');
            end(err);
          });
      };
      this.hub.events
        .subscribe(
          {
            messageId: asked.messageId,
            after: asked.after,
            types: ['message.status_changed', 'message.content_updated'],
          },
          handler,
        )
        .then((s) => {
          subscription = s;
          if (ended) s.close();
        }, end);
    });
  }
}

/** Cancels the reply; one that has already ended is left as it is (its end is what the task shows). */
export async function cancelReply(hub: Hub, messageId: string): Promise<void> {
  try {
    await hub.messages.cancel(messageId, 'cancelled over A2A');
  } catch (err) {
    if (!isHubError(err, 'invalid_transition')) throw err;
  }
}
