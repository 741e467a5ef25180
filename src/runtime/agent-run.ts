/**
 * One run of a claimed reply's agent: the question and the thread's history read, the system prompt built, the
 * backend driven, and what the agent reports written where it belongs — answer text into the reply (coalesced,
 * fenced by the run's claim), cost, tokens, turns, files, progress, criteria and log lines (at most a run's log
 * budget) into the reply's task, and the agent session into the thread. A storage fault holds each write until
 * the database stores again. Every cost and iteration reported is judged against the task's limits as it is
 * stored; one past them stops the agent there, and the run fails with `budget_exceeded`.
 */
import type { Logger } from 'pino';
import { buildSystemPrompt } from '../agents/prompt-builder.js';
import { type AgentEvent, fileEffect, type RunDone } from '../agents/types.js';
import { budgetExceeded, type RunLimits } from '../domain/budget.js';
import type { Task } from '../domain/types.js';
import type { ProcessTracker } from '../process/tracker.js';
import type { MessageStore } from '../store/messages.js';
import type { ClaimedReply } from '../store/reply-queue.js';
import type { TaskStore } from '../store/tasks.js';
import type { ThreadContext } from '../store/thread-context.js';
import { type HubToolsPlace, hubToolsFor } from './agent-tools.js';
import type { WorkerModule } from './backends.js';
import { RunLogBudget } from './run-log.js';

/**
 * A claimed reply as its runs go: the agent's session once reported, and what earlier rounds of the same reply
 * spent (a repair round's figures are added to them, so the task counts the whole answer).
 */
export type RunningClaim = ClaimedReply & {
  sessionId?: string;
  spent?: { costUsd: number; tokensIn: number; tokensOut: number; iteration: number };
};

/** What runs use. */
export interface RunContext {
  messages: MessageStore;
  tasks: TaskStore;
  threads: ThreadContext;
  logger: Logger;
  /** Runs a write, waiting out a storage fault (see Worker.stored). */
  stored<T>(write: () => Promise<T>): Promise<T>;
  /** Aborted when the worker stops: content held back by a storage fault stops waiting. */
  stopping: AbortSignal;
  /** Where the hub's MCP tools given to agents reach the hub (see agent-tools.ts); none: no tools. */
  toolsPlace?: HubToolsPlace;
  /** Told of the agents' process groups (see process/tracker.ts). */
  processes: ProcessTracker;
}

/** Runs agents for a worker. */
export class AgentRuns {
  constructor(private readonly ctx: RunContext) {}

  /**
   * Runs `module`'s agent on `claim` once — resuming the thread's session when `resume` — and answers how the run
   * ended. The agent's session id, when it reports one, is kept on `claim`. With `followUp` (a repair round), the
   * agent is asked that instead of the question: in its session when it has one, else after the question and its
   * previous answer.
   */
  async attempt(
    module: WorkerModule,
    claim: RunningClaim,
    signal: AbortSignal,
    resume: boolean,
    followUp?: { text: string; previous: string },
  ): Promise<RunDone> {
    const { message } = claim;
    const found = await this.ctx.stored(() => this.ctx.threads.forReply(message, module.name));
    const question = found.question;
    const session = resume ? found.session : undefined;
    // A session started anew is seeded with the thread so far.
    const history =
      session || !question?.earlier
        ? undefined
        : await this.ctx.stored(() => this.ctx.threads.history(message.threadId, question));
    const systemPrompt = buildSystemPrompt({
      module,
      asker: question?.author ?? 'unknown',
      ...(history?.length ? { history } : {}),
      ...(message.schema ? { schema: message.schema } : {}),
    });
    let done: RunDone = {
      type: 'done',
      ok: false,
      reason: 'no_result',
      error: 'the backend ended without a result',
    };
    const logBudget = new RunLogBudget();
    const limits = await this.limits(claim.taskId);
    for await (const event of module.backend.run({
      cwd: module.cwd,
      prompt: followUpPrompt(question?.content ?? '', followUp, session !== undefined),
      systemPrompt,
      signal,
      processes: this.ctx.processes,
      ...(this.ctx.toolsPlace
        ? { tools: hubToolsFor(this.ctx.toolsPlace, module.name, message.id, claim.taskId) }
        : {}),
      ...(limits ? { limits } : {}),
      ...(session ? { resumeSessionId: session.id } : {}),
      ...(session?.costTotal != null ? { previousSessionCostUsd: session.costTotal } : {}),
    })) {
      if (event.type === 'done') {
        done = event;
        break;
      }
      if (event.type === 'session') claim.sessionId = event.sessionId;
      if (event.type === 'log') {
        for (const text of logBudget.take(event.text)) await this.record({ ...event, text }, claim, module.name);
        continue;
      }
      const task = await this.record(event, claim, module.name);
      // Judged by the limits as the task holds them now (they may have been changed while it runs).
      const exceeded = task && budgetExceeded(task, figures(event, claim.spent));
      if (exceeded) {
        // Leaving the loop stops the agent as a cancel does (process group: SIGTERM, then SIGKILL), and the
        // backend's run ends only once its processes are gone: nothing it writes after this is recorded.
        done = { type: 'done', ok: false, reason: 'budget_exceeded', error: exceeded };
        break;
      }
    }
    const notice = logBudget.notice;
    if (notice) await this.record({ type: 'log', level: 'warn', text: notice }, claim, module.name);
    return done;
  }

  /** The limits of the run's task (none without a task, or when it cannot be read: the run goes on unlimited). */
  private async limits(taskId: string | undefined): Promise<RunLimits | undefined> {
    if (!taskId) return undefined;
    try {
      const { maxCostUsd, maxIterations } = await this.ctx.stored(() => this.ctx.tasks.get(taskId));
      return { maxCostUsd, maxIterations };
    } catch (err) {
      this.ctx.logger.warn({ err, taskId }, "reading the task's limits failed");
      return undefined;
    }
  }

  /**
   * Writes one agent event into the reply, its task and the thread's session; answers the task as it is after a
   * change of its counters (cost, tokens, iterations, progress), for the budget to be judged on.
   */
  private async record(event: AgentEvent, claim: RunningClaim, module: string): Promise<Task | undefined> {
    const { message, taskId } = claim;
    const task = async <T>(fn: (id: string) => Promise<T>): Promise<T | undefined> => {
      if (!taskId) return undefined;
      return this.ctx
        .stored(() => fn(taskId))
        .catch((err: unknown) => {
          this.ctx.logger.warn({ err, taskId }, 'updating the task failed');
          return undefined;
        });
    };
    switch (event.type) {
      case 'text':
        // Written within the coalescing window, or with the final status, whichever comes first; held through a
        // storage fault.
        void this.ctx.messages
          .appendContent(message.id, event.text, { hold: this.ctx.stopping, claim: claim.run })
          .catch((err: unknown) =>
            this.ctx.logger.warn({ err, messageId: message.id }, 'content from the agent was not stored'),
          );
        return;
      case 'session':
        await this.ctx.stored(() =>
          this.ctx.threads.saveSession(message.threadId, module, { sessionId: event.sessionId }),
        );
        // The task shows the session its run is in (the agent control panel's sessionId).
        await task((id) => this.ctx.tasks.update(id, { sessionId: event.sessionId }));
        return;
      case 'usage': {
        const spent = claim.spent ?? { costUsd: 0, tokensIn: 0, tokensOut: 0, iteration: 0 };
        const updated = await task((id) =>
          this.ctx.tasks.update(id, {
            costUsd: spent.costUsd + event.costUsd,
            tokensIn: spent.tokensIn + event.tokensIn,
            tokensOut: spent.tokensOut + event.tokensOut,
            ...(event.turns === undefined ? {} : { iteration: spent.iteration + event.turns }),
          }),
        );
        if (event.sessionCostUsd !== undefined)
          await this.ctx.stored(() =>
            this.ctx.threads.saveSession(message.threadId, module, { costTotal: event.sessionCostUsd as number }),
          );
        return updated;
      }
      case 'tool_use':
        await task(async (id) => {
          const effect = event.path ? fileEffect(event.name) : undefined;
          if (effect === 'created') await this.ctx.tasks.update(id, { filesCreated: [event.path as string] });
          if (effect === 'modified') await this.ctx.tasks.update(id, { filesModified: [event.path as string] });
          await this.ctx.tasks.log(id, {
            text: `${event.name}${event.path ? ` ${event.path}` : ''}`,
            action: event.name,
            ...(event.path ? { target: event.path } : {}),
          });
        });
        return;
      case 'tool_result':
        if (event.isError)
          await task((id) =>
            this.ctx.tasks.log(id, { level: 'warn', text: event.text.slice(0, 2000) || 'tool failed', success: false }),
          );
        return;
      case 'progress': {
        const updated =
          event.percent !== undefined || event.iteration !== undefined
            ? await task((id) =>
                this.ctx.tasks.update(id, {
                  ...(event.percent === undefined ? {} : { progress: event.percent }),
                  ...(event.iteration === undefined
                    ? {}
                    : { iteration: (claim.spent?.iteration ?? 0) + event.iteration }),
                }),
              )
            : undefined;
        if (event.criterion) {
          const criterion = event.criterion;
          // Its event (`task.criterion_verified`) is the record: no log line repeats it.
          await task((id) => this.ctx.tasks.verifyCriterion(id, criterion, { add: true }));
        }
        return updated;
      }
      case 'log':
        await task((id) => this.ctx.tasks.log(id, { level: event.level, text: event.text }));
        return;
    }
  }
}

/**
 * The figures an event reports, to judge against the limits: its cost and its iterations (turns), if any, added to
 * what the reply's earlier rounds spent.
 */
function figures(event: AgentEvent, spent: RunningClaim['spent']): { costUsd?: number; iterations?: number } {
  const [cost, turns] = [spent?.costUsd ?? 0, spent?.iteration ?? 0];
  if (event.type === 'usage')
    return { costUsd: cost + event.costUsd, ...(event.turns === undefined ? {} : { iterations: turns + event.turns }) };
  if (event.type === 'progress' && event.iteration !== undefined) return { iterations: turns + event.iteration };
  return {};
}

/** What a repair round asks: the follow-up alone in the agent's session, or with the question and the answer before. */
function followUpPrompt(
  question: string,
  followUp: { text: string; previous: string } | undefined,
  inSession: boolean,
) {
  if (!followUp) return question;
  if (inSession) return followUp.text;
  return `${question}\n\nYour previous answer was:\n${followUp.previous}\n\n${followUp.text}`;
}
