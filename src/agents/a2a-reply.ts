/**
 * Reads what a remote A2A agent streams back (tasks, status updates, artifact updates, messages) as the hub's agent
 * events: artifact text is the answer, streamed as it comes; status messages while the task works are log lines;
 * the task's final state decides how the run ends. Pure (no network), so it is tested without a server; the
 * backend that feeds it is agents/a2a-backend.ts.
 */
import { type Message, type Part, Role, type StreamResponse, type Task, TaskState } from '@a2a-js/sdk';
import type { AgentEvent, RunDone } from './types.js';

/** States after which the remote does no more on the task without being told something. */
const FINAL_STATES = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
  TaskState.TASK_STATE_AUTH_REQUIRED,
]);

/** States in which the remote is done with the task for good. */
const TERMINAL_STATES = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

/** A state as the protocol's JSON names it (`input-required`), for messages. */
export function stateName(state: TaskState): string {
  return (TaskState[state] ?? String(state))
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');
}

/** The text of a part as the reply shows it: text as it is, data as JSON, a file by its name or URL. */
export function partText(part: Part): string {
  const content = part.content;
  switch (content?.$case) {
    case 'text':
      return content.value;
    case 'data':
      return JSON.stringify(content.value);
    case 'url':
      return content.value;
    case 'raw':
      return `[file ${part.filename || '(unnamed)'}, ${part.mediaType || 'of unknown type'}, ${content.value.length} bytes]`;
    default:
      return '';
  }
}

/** The text of a message's parts, one after another. */
export function messageText(message: Message | undefined): string {
  return (message?.parts ?? []).map(partText).join('');
}

/**
 * One run's view of the remote task: which context and task it is, its state, and how much of the answer has been
 * passed on. `read` turns each streamed response into agent events; `outcome` says how the run ends once the
 * task has reached a final (or interrupted) state.
 */
export class A2aReplyReader {
  /** The remote context (the thread's session on the remote), once the remote named it. */
  contextId: string | undefined;
  /** The remote task, once the remote created one. */
  taskId: string | undefined;
  /** The task's last state seen. */
  state: TaskState | undefined;
  /** A message answered without a task: the run is over. */
  private answeredDirectly = false;
  /** Whether any answer text has been passed on. */
  private answered = false;
  /** The artifact the last text came from (a new one starts on a new paragraph). */
  private lastArtifact: string | undefined;
  /** Artifacts whose text has been passed on (a task snapshot repeating them adds nothing). */
  private readonly artifacts = new Set<string>();
  /** The text of the status message that came with the final state. */
  private finalMessage = '';

  /** `agent` names the remote in failures (its URL). */
  constructor(private readonly agent: string) {}

  /** The agent events one streamed response means. */
  read(response: StreamResponse): AgentEvent[] {
    const payload = response.payload;
    switch (payload?.$case) {
      case 'task':
        return this.task(payload.value);
      case 'message':
        this.answeredDirectly = true;
        return [...this.context(payload.value.contextId), ...this.text(messageText(payload.value))];
      case 'statusUpdate': {
        const { contextId, status } = payload.value;
        const events = this.context(contextId);
        this.taskId ||= payload.value.taskId || undefined;
        if (status) events.push(...this.status(status.state, messageText(status.message)));
        return events;
      }
      case 'artifactUpdate': {
        const { artifact, contextId } = payload.value;
        this.taskId ||= payload.value.taskId || undefined;
        const events = this.context(contextId);
        if (artifact) events.push(...this.artifact(artifact.artifactId, artifact.parts));
        return events;
      }
      default:
        return [{ type: 'log', level: 'warn', text: `${this.agent} sent a stream event the hub cannot read` }];
    }
  }

  /** Whether the remote has a task that is not over (a run stopped early cancels it). */
  get open(): boolean {
    return this.taskId !== undefined && !(this.state !== undefined && TERMINAL_STATES.has(this.state));
  }

  /** How the run ends, once the remote's task is final or interrupted (or a message answered); else undefined. */
  outcome(): { events: AgentEvent[]; done: RunDone } | undefined {
    if (this.answeredDirectly) return { events: [], done: { type: 'done', ok: true } };
    if (this.state === undefined || !FINAL_STATES.has(this.state)) return undefined;
    const said = this.finalMessage.trim();
    const fail = (error: string, reason: RunDone['reason'] = 'agent_error') => ({
      events: [],
      done: { type: 'done' as const, ok: false, reason, error: `${this.agent}: ${error}` },
    });
    switch (this.state) {
      case TaskState.TASK_STATE_COMPLETED:
        if (!this.answered && said === '') return fail('the task completed without an answer', 'no_result');
        return { events: this.answered ? [] : this.text(this.finalMessage), done: { type: 'done', ok: true } };
      case TaskState.TASK_STATE_FAILED:
        return fail(`the task failed${said ? `: ${said}` : ' (no reason given)'}`);
      case TaskState.TASK_STATE_REJECTED:
        return fail(`the agent rejected the task${said ? `: ${said}` : ''}`);
      case TaskState.TASK_STATE_CANCELED:
        return fail('the agent cancelled the task', 'cancelled');
      case TaskState.TASK_STATE_INPUT_REQUIRED:
        return fail(`the agent asks for more input, which the hub cannot give for the asker${said ? `: ${said}` : ''}`);
      default:
        return fail(
          `the agent asks for authentication (check the module's token or tokenEnv)${said ? `: ${said}` : ''}`,
        );
    }
  }

  private task(task: Task): AgentEvent[] {
    this.taskId ||= task.id || undefined;
    const events = this.context(task.contextId);
    for (const artifact of task.artifacts ?? []) {
      if (!this.artifacts.has(artifact.artifactId)) events.push(...this.artifact(artifact.artifactId, artifact.parts));
    }
    if (task.status) {
      // A task answered without a status message (a blocking SendMessage) may carry its answer in its history.
      const lastAgentMessage = [...(task.history ?? [])].reverse().find((m) => m.role === Role.ROLE_AGENT);
      const said =
        messageText(task.status.message) || (FINAL_STATES.has(task.status.state) ? messageText(lastAgentMessage) : '');
      events.push(...this.status(task.status.state, said));
    }
    return events;
  }

  private status(state: TaskState, said: string): AgentEvent[] {
    this.state = state;
    if (FINAL_STATES.has(state)) {
      this.finalMessage = said;
      return [];
    }
    return said.trim() ? [{ type: 'log', level: 'info', text: said }] : [];
  }

  private artifact(id: string, parts: Part[]): AgentEvent[] {
    this.artifacts.add(id);
    const text = parts.map(partText).join('');
    if (!text) return [];
    const separator = this.answered && id !== this.lastArtifact ? '\n\n' : '';
    this.lastArtifact = id;
    return this.text(separator + text);
  }

  private text(text: string): AgentEvent[] {
    if (!text) return [];
    this.answered = true;
    return [{ type: 'text', text }];
  }

  /** A `session` event the first time the remote names its context (the next question in the thread goes there). */
  private context(contextId: string | undefined): AgentEvent[] {
    if (!contextId || contextId === this.contextId) return [];
    this.contextId = contextId;
    return [{ type: 'session', sessionId: contextId }];
  }
}
