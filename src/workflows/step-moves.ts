/**
 * How the workflow engine moves a step within its one transaction per run (engine.ts): an ask step settled from
 * its finished reply, an approval timed out, a step completed, a failed attempt retried after its back-off or the
 * step failed, the run finished with its open steps cancelled — each change with its task's, so a step and its
 * task never disagree. The timers and running work stay the engine's: it lends what these need.
 */
import type { Status } from '../domain/status.js';
import type { StepRun, WorkflowRun } from '../domain/workflow-types.js';
import type { WriteTx } from '../store/database.js';
import type { MessageStore } from '../store/messages.js';
import type { TaskStore } from '../store/tasks.js';
import type { StepChange, WorkflowStore } from '../store/workflow-runs.js';
import { replyOutcome } from './ask-routing.js';
import type { StepDefinition, WorkflowDefinition } from './definition.js';
import { retryWait, scopeFrom } from './flow.js';
import { resolveTemplates } from './paths.js';
import { cleanText } from './text.js';

/** What the engine lends: its stores, its wake-ups and time limits, and stopping a run's running work. */
export interface MovesHost {
  store: WorkflowStore;
  tasks: TaskStore;
  messages: MessageStore;
  /** Wakes the run when a step's back-off or approval time runs out. */
  wakeAt(runId: string, stepId: string, ms: number): void;
  /** Whether a wake-up for the step is set in this process. */
  waking(runId: string, stepId: string): boolean;
  /** Drops an ask step's time limit (`run/step`). */
  clearLimit(key: string): void;
  /** Stops what of the run runs in this process. */
  abortRun(runId: string): void;
}

export class StepMoves {
  constructor(private readonly host: MovesHost) {}

  /** A waiting approval whose time is up fails (`timeout`); one whose time is not, is woken when it is. */
  async checkApproval(tx: WriteTx, run: WorkflowRun, stepDef: StepDefinition, s: StepRun, now: Date): Promise<void> {
    const approval = s.detail?.approval;
    if (!approval?.timeoutAt) return;
    const left = Date.parse(approval.timeoutAt) - now.getTime();
    if (left > 0) {
      if (!this.host.waking(run.id, s.stepId)) this.host.wakeAt(run.id, s.stepId, left);
      return;
    }
    const at = now.toISOString();
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { detail: { ...s.detail, approval: { ...approval, decision: 'timed_out', at } } },
      run.createdBy,
    );
    const error = `no one approved or rejected it within ${stepDef.approve?.timeoutMs} ms`;
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'failed', error, reason: 'timeout', completedAt: at },
      run.createdBy,
    );
    await this.moveTask(tx, s, 'processing', 'failed', error, 'timeout');
  }

  /** An ask step whose reply has finished: complete with its value, or failed with its error. */
  async settleAsk(tx: WriteTx, run: WorkflowRun, stepDef: StepDefinition, s: StepRun): Promise<void> {
    const outcome = await replyOutcome(this.host, tx, s.messageId as string, s.startedAt, stepDef.timeoutMs);
    if (!outcome) return;
    if (outcome.ok) return this.completeStep(tx, run, s, outcome.output, outcome.cost);
    this.host.clearLimit(`${run.id}/${s.stepId}`);
    await this.host.store.changeStep(tx, run.id, s, { costUsd: s.costUsd + outcome.cost }, run.createdBy);
    await this.failStep(tx, run, stepDef, s, outcome.error, outcome.reason);
  }

  /** A failed attempt: retried after its back-off when the policy allows, else the step fails. */
  async failStep(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    error: string,
    reason: string,
    noRetry = false,
  ): Promise<void> {
    error = cleanText(error, 20_000);
    const wait = noRetry ? undefined : retryWait(stepDef.retry, s.attempt, reason, run.status);
    if (wait !== undefined) {
      const notBefore = new Date(Date.now() + wait).toISOString();
      await this.host.store.changeStep(
        tx,
        run.id,
        s,
        { status: 'pending', error, reason, notBefore, messageId: null },
        run.createdBy,
      );
      if (s.taskId)
        await this.host.tasks.log(
          s.taskId,
          {
            level: 'warn',
            text: `attempt ${s.attempt} failed (${reason}): ${cleanText(error, 10_000)}; trying again in ${wait} ms`,
          },
          tx,
        );
      // The task waits with its step, so whatever ends the run finds it where the step is.
      await this.moveTask(tx, s, 'processing', 'pending');
      this.host.wakeAt(run.id, s.stepId, wait);
      return;
    }
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'failed', error, reason, completedAt: new Date().toISOString() },
      run.createdBy,
    );
    await this.moveTask(tx, s, 'processing', 'failed', error, reason);
  }

  /** Ends a run; its pending steps are cancelled, its running ones stopped. */
  async finishRun(
    tx: WriteTx,
    run: WorkflowRun,
    to: Status,
    error: string | null,
    cancels: string[],
    launches: unknown[],
    reason?: string,
  ): Promise<void> {
    launches.length = 0;
    for (const s of run.steps) {
      if (s.status === 'pending' || s.status === 'processing' || s.status === 'waiting') {
        if (s.status === 'processing' && s.messageId) cancels.push(s.messageId);
        // A forEach step's items (a retried one waiting for its turn has them too).
        if (s.kind !== 'approve') {
          for (const item of await this.host.store.items.withStatus(tx, run.id, s.stepId, 'processing'))
            if (item.messageId) cancels.push(item.messageId);
          await this.host.store.items.cancelOpen(tx, run.id, s.stepId);
        }
        const items = s.detail?.items;
        await this.moveTask(tx, s, s.status === 'waiting' ? 'processing' : s.status, 'cancelled');
        await this.host.store.changeStep(
          tx,
          run.id,
          s,
          {
            status: 'cancelled',
            completedAt: new Date().toISOString(),
            ...(items ? { detail: { ...s.detail, items: { ...items, running: 0 } } } : {}),
          },
          run.createdBy,
        );
      }
    }
    await this.host.store.changeRun(tx, run, {
      status: to,
      error,
      completedAt: new Date().toISOString(),
      ...(reason ? { reason } : {}),
    });
    this.host.abortRun(run.id);
  }

  async moveTask(tx: WriteTx, s: StepRun, from: Status, to: Status, error?: string, reason?: string): Promise<void> {
    if (!s.taskId) return;
    await this.host.tasks.moveFrom(
      tx,
      { id: s.taskId },
      from,
      to,
      error ? { error, reason: reason ?? 'agent_error' } : {},
    );
  }

  /** A step completes with its output (and, for a forEach step with failed items, what failed). */
  async completeStep(
    tx: WriteTx,
    run: WorkflowRun,
    s: StepRun,
    output: unknown,
    costUsd: number,
    error?: string,
  ): Promise<void> {
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      {
        status: 'complete',
        output: output ?? null,
        costUsd: s.costUsd + costUsd,
        completedAt: new Date().toISOString(),
        ...(error ? { error: cleanText(error, 20_000) } : {}),
      },
      run.createdBy,
    );
    await this.moveTask(tx, s, 'processing', 'complete');
  }

  /** An approve step starts waiting: its message (from templates: cleaned, cut) and time limit kept on it. */
  async startApproval(tx: WriteTx, run: WorkflowRun, s: StepRun, change: StepChange, spec: unknown): Promise<void> {
    const approve = (spec ?? {}) as { message?: string; timeoutMs?: number; approvers?: string[] };
    // The message may come from earlier outputs: stored as text, cut to a size a person reads.
    const given: unknown = approve.message ?? `Approve step ${s.stepId} of ${run.workflow}?`;
    const message = cleanText(typeof given === 'string' ? given : JSON.stringify(given), 4000);
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      {
        ...change,
        status: 'waiting',
        detail: {
          approval: {
            message,
            approvers: approve.approvers ?? null,
            timeoutAt: approve.timeoutMs ? new Date(Date.now() + approve.timeoutMs).toISOString() : null,
          },
        },
      },
      run.createdBy,
    );
    if (s.taskId) await this.host.tasks.log(s.taskId, { text: `waiting for an approval: ${message}` }, tx);
    if (approve.timeoutMs) this.host.wakeAt(run.id, s.stepId, approve.timeoutMs);
  }

  /** A step not started is skipped (`reason` kept on it); its task ends cancelled, reason `skipped`. */
  async skip(tx: WriteTx, run: WorkflowRun, s: StepRun, reason: string): Promise<void> {
    await this.moveTask(tx, s, 'pending', 'cancelled', `skipped: ${reason}`, 'skipped');
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'skipped', detail: { ...(s.detail ?? {}), skipped: reason }, completedAt: new Date().toISOString() },
      run.createdBy,
    );
  }

  /** A step not started fails (its condition could not be decided), with its task. */
  async failUnstarted(tx: WriteTx, run: WorkflowRun, s: StepRun, error: string): Promise<void> {
    const text = cleanText(error, 20_000);
    await this.moveTask(tx, s, 'pending', 'failed', text, 'validation');
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'failed', error: text, reason: 'validation', completedAt: new Date().toISOString() },
      run.createdBy,
    );
  }

  /** Every step complete or skipped: the run completes with its output — or fails when the output cannot be made. */
  async completeRun(
    tx: WriteTx,
    run: WorkflowRun,
    def: WorkflowDefinition,
    cancels: string[],
    launches: unknown[],
  ): Promise<void> {
    let output: unknown;
    try {
      // A skipped step in the output stands for null: the run did what its conditions asked.
      const scope = { ...scopeFrom(run), skippedAsNull: true };
      output = def.output === undefined ? scope.steps : resolveTemplates(def.output, scope);
    } catch (err) {
      return this.finishRun(tx, run, 'failed', `the output: ${(err as Error).message}`, cancels, launches);
    }
    await this.host.store.changeRun(tx, run, { status: 'complete', output, completedAt: new Date().toISOString() });
  }
}
