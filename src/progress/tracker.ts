/**
 * The ProgressTracker of the original design, on the hub's tasks: start a task for an agent, report iterations,
 * progress, verified criteria, actions and errors, complete it — each a task change with its event, so every
 * watcher (library, CLI, SSE, WebSocket, dashboard) sees it live. `toAgentControl` gives the "agent control"
 * panel's view of a task.
 */
import { fileEffect } from '../agents/types.js';
import { HubError } from '../domain/errors.js';
import type { AgentControl, HubEvent, LogLine, Task } from '../domain/types.js';

export type { AgentControl, LogLine };

import type { Subscription } from '../events/event-log.js';
import type { HubEvents } from '../events/hub-events.js';
import type { TaskStore } from '../store/tasks.js';

/** What starting a task takes (the original design's start_task(task_id, agent_id, criteria_total)). */
export interface StartTaskInput {
  /** An existing task to start; omitted: a new task is created from `name`. */
  taskId?: string;
  name?: string;
  /** The agent doing it: its module. */
  agentId?: string;
  /** Acceptance criteria as texts, or how many (named "criterion 1…n"). Only for a new task. */
  criteria?: string[] | number;
  maxIterations?: number;
  maxCostUsd?: number;
  /** The agent's session. */
  sessionId?: string;
}

/** How many log lines a view carries. */
const LOG_LINES = 20;

/** The panel's view of a task, given its recent log lines. */
export function toAgentControl(task: Task, logs: LogLine[] = []): AgentControl {
  const errors = logs.filter((l) => l.level === 'error').map((l) => l.text);
  if (task.error && !errors.includes(task.error)) errors.push(task.error);
  return {
    taskId: task.id,
    name: task.name,
    agentId: task.module,
    sessionId: task.sessionId,
    status: task.status,
    progress: task.progress,
    iteration: task.iteration,
    maxIterations: task.maxIterations,
    costUsd: task.costUsd,
    maxCostUsd: task.maxCostUsd,
    tokensIn: task.tokensIn,
    tokensOut: task.tokensOut,
    criteria: task.criteria.map((c) => ({
      text: c.text,
      status: c.verified ? 'pass' : 'pending',
      verifiedAt: c.verifiedAt,
    })),
    criteriaPassed: task.criteria.filter((c) => c.verified).length,
    criteriaTotal: task.criteria.length,
    filesCreated: task.filesCreated,
    filesModified: task.filesModified,
    logs: logs.slice(-LOG_LINES),
    errors,
    messageId: task.messageId,
    retryOf: task.retryOf,
    startedAt: task.startedAt,
    completedAt: task.completedAt,
    updatedAt: task.updatedAt,
  };
}

function logLine(e: HubEvent): LogLine {
  const d = e.data as Partial<LogLine>;
  return {
    at: e.at,
    level: d.level ?? 'info',
    text: String(d.text ?? ''),
    ...(d.action !== undefined ? { action: d.action } : {}),
    ...(d.target !== undefined ? { target: d.target } : {}),
    ...(d.success !== undefined ? { success: d.success } : {}),
  };
}

/** `hub.progress`: the tracker. */
export class ProgressTracker {
  constructor(
    private readonly tasks: TaskStore,
    private readonly events: HubEvents,
  ) {}

  /** Starts a task for an agent (creating it when no `taskId` is given): it is then `processing`. */
  async start(input: StartTaskInput): Promise<AgentControl> {
    let task: Task;
    if (input.taskId === undefined) {
      if (input.name === undefined) throw new HubError('validation', 'start needs a taskId or a name');
      const criteria =
        typeof input.criteria === 'number'
          ? Array.from({ length: Math.max(0, Math.floor(input.criteria)) }, (_, i) => `criterion ${i + 1}`)
          : input.criteria;
      if (typeof input.criteria === 'number' && (input.criteria < 0 || input.criteria > 1000)) {
        throw new HubError('validation', `criteria must be between 0 and 1000, got ${input.criteria}`);
      }
      task = await this.tasks.create({
        name: input.name,
        kind: 'manual',
        ...(input.agentId !== undefined ? { module: input.agentId } : {}),
        ...(criteria ? { criteria } : {}),
        ...(input.maxIterations !== undefined ? { maxIterations: input.maxIterations } : {}),
        ...(input.maxCostUsd !== undefined ? { maxCostUsd: input.maxCostUsd } : {}),
      });
    } else {
      task = await this.tasks.get(input.taskId);
      if (input.criteria !== undefined && task.criteria.length === 0 && input.criteria !== 0) {
        throw new HubError('conflict', `task ${task.id} exists without criteria; give criteria when creating it`);
      }
    }
    if (input.sessionId !== undefined || (input.taskId !== undefined && input.maxIterations !== undefined)) {
      task = await this.tasks.update(task.id, {
        ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
        ...(input.taskId !== undefined && input.maxIterations !== undefined
          ? { maxIterations: input.maxIterations }
          : {}),
      });
    }
    if (task.status === 'pending' || task.status === 'paused')
      task = await this.tasks.transition(task.id, 'processing');
    return this.view(task);
  }

  /** Sets the iteration (default: one more than now). */
  async updateIteration(taskId: string, iteration?: number): Promise<AgentControl> {
    const next = iteration ?? (await this.tasks.get(taskId)).iteration + 1;
    return this.view(await this.tasks.update(taskId, { iteration: next }));
  }

  /** Sets progress (0–100), with a note for the log. */
  async updateProgress(taskId: string, percent: number, note?: string): Promise<AgentControl> {
    const task = await this.tasks.update(taskId, { progress: percent });
    if (note !== undefined) await this.tasks.log(taskId, { text: note });
    return this.view(task);
  }

  /** Marks a criterion (index or text) verified. */
  async verifyCriterion(taskId: string, criterion: number | string): Promise<AgentControl> {
    return this.view(await this.tasks.verifyCriterion(taskId, criterion));
  }

  /**
   * Logs an action (the original design's log_action(action, target, success)); a Write/create adds its target
   * to the files created, an Edit/modify to the files modified (when it succeeded).
   */
  async logAction(taskId: string, action: string, target?: string, success = true): Promise<AgentControl> {
    if (target !== undefined && success) {
      const effect = fileEffect(action);
      if (effect === 'created') await this.tasks.update(taskId, { filesCreated: [target] });
      else if (effect === 'modified') await this.tasks.update(taskId, { filesModified: [target] });
    }
    await this.tasks.log(taskId, {
      text: `${action}${target ? ` ${target}` : ''}${success ? '' : ' (failed)'}`,
      action,
      ...(target !== undefined ? { target } : {}),
      success,
      level: success ? 'info' : 'warn',
    });
    return this.get(taskId);
  }

  /** Logs an error. */
  async logError(taskId: string, error: string): Promise<AgentControl> {
    await this.tasks.log(taskId, { level: 'error', text: error });
    return this.get(taskId);
  }

  /** Finishes the task: complete, or failed with `error`. */
  async complete(taskId: string, success = true, error?: string): Promise<AgentControl> {
    let task = await this.tasks.get(taskId);
    if (task.status === 'pending') task = await this.tasks.transition(taskId, 'processing');
    task = await this.tasks.transition(
      taskId,
      success ? 'complete' : 'failed',
      success ? {} : { error: error ?? 'failed' },
    );
    return this.view(task);
  }

  /** The view of one task (the original design's get_progress). */
  async get(taskId: string): Promise<AgentControl> {
    return this.view(await this.tasks.get(taskId));
  }

  /**
   * Every unfinished task, newest first (the original design's get_all_active); with `visibleTo`, those that
   * module may see.
   */
  async active(options: { visibleTo?: string } = {}): Promise<AgentControl[]> {
    const tasks = await this.tasks.list({ status: ['pending', 'processing', 'paused'], limit: 1000, ...options });
    return Promise.all(tasks.map((t) => this.view(t)));
  }

  /**
   * Calls `listener` with the new view after every change of a task (all tasks, or the one given). Listeners
   * hear changes made by any process; close the subscription to stop.
   */
  async on(
    listener: (view: AgentControl, event: HubEvent) => void,
    options: { taskId?: string } = {},
  ): Promise<Subscription> {
    let chain = Promise.resolve();
    return this.events.subscribe({ types: ['task.*'], ...(options.taskId ? { taskId: options.taskId } : {}) }, (e) => {
      if (!e.taskId) return;
      const id = e.taskId;
      // In order, one at a time: a listener sees the views in the order the changes happened.
      chain = chain.then(async () => {
        try {
          listener(await this.get(id), e);
        } catch {
          // A throwing listener must not stop the others.
        }
      });
    });
  }

  /** The task's view with its last log lines. */
  private async view(task: Task): Promise<AgentControl> {
    const logs = await this.logs(task.id);
    return toAgentControl(task, logs);
  }

  private async logs(taskId: string): Promise<LogLine[]> {
    return (await this.events.latest({ taskId, types: ['task.logged'], limit: LOG_LINES })).map(logLine);
  }
}
