/**
 * The workflow engine: a durable consumer of the log (events/durable-consumer.ts) run by one service at a time
 * (events/leased-role.ts, role `workflows`). Each event about a run — created, paused, resumed, a step's status,
 * an ask step's reply finishing — makes it `advance` the run in one transaction: settle finished asks, start the
 * steps whose dependencies are complete (up to the run's concurrency), fail or retry what failed, finish the run.
 *
 * What it guarantees, whatever process dies when: a step's output is stored in the transaction that completes
 * it, so a finished step never runs again; an `ask` step asks in the transaction that starts it, so it is never
 * asked twice, and a new holder waits for that same reply; a `command` (or `convert`, `validate`) step that was
 * running when its service died runs again on the next holder — at least once — with the same attempt id in
 * `CLAUDE_COMMS_STEP_ATTEMPT`, so a program can make its effect idempotent.
 *
 * Every step it starts, it starts holding the lease (confirmed before each transaction), and every little while it
 * sweeps the unfinished runs: a running step no one runs (its result not stored, or started by a holder that lost
 * the lease as it did) is run again there, with its attempt id.
 *
 * It runs over 400 lines because the one transaction that advances a run is read best whole.
 */
import type { Logger } from 'pino';
import { type HubError, isHubError } from '../domain/errors.js';
import { isTerminal, type StepStatus } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import type { StepRun, WorkflowRun } from '../domain/workflow-types.js';
import { DurableConsumer } from '../events/durable-consumer.js';
import type { Subscription } from '../events/event-log.js';
import type { HubEvents } from '../events/hub-events.js';
import { LeasedRole } from '../events/leased-role.js';
import type { ProcessTracker } from '../process/tracker.js';
import type { AskStore } from '../store/asks.js';
import type { WriteTx } from '../store/database.js';
import type { LeaseStore } from '../store/leases.js';
import type { MessageStore } from '../store/messages.js';
import type { TaskStore } from '../store/tasks.js';
import type { WorkflowStore } from '../store/workflow-runs.js';
import { type AskRoutingDeps, resolveAsk, routedAsk } from './ask-routing.js';
import { kindOf, type StepDefinition, type WorkflowDefinition } from './definition.js';
import { scopeFrom, skipReason } from './flow.js';
import { ForEach, type ItemLaunch, itemKey, type Turn } from './for-each.js';
import { resolveTemplates } from './paths.js';
import { LogPosition } from './position.js';
import { StepMoves } from './step-moves.js';
import { runStep, type StepContext, type StepLaunch } from './steps.js';
import { Timers } from './timers.js';

/** How often every unfinished run is looked at again, whatever the log says. */
const SWEEP_MS = 15_000;

/** The events that move runs. */
const TYPES = ['workflow_run.*', 'step_run.*', 'message.status_changed'];

/** A step (or one item of a `forEach` step) to run after the transaction that started it commits. */
interface Launch extends StepLaunch {
  createdBy: string | null;
  index?: number;
}

export interface EngineOptions {
  leaseMs?: number;
}

export interface EngineDeps extends StepContext, AskRoutingDeps {
  store: WorkflowStore;
  asks: AskStore;
  messages: MessageStore;
  tasks: TaskStore;
  events: HubEvents;
  leases: LeaseStore;
  holder: string;
  logger: Logger;
  processes: ProcessTracker;
}

/** The scope a run's templates resolve in (flow.ts). */
export const scopeOf = scopeFrom;

/** Whether a step counts as done for those that depend on it: complete, or skipped. */
const settled = (status: StepStatus | undefined) => status === 'complete' || status === 'skipped';

export class WorkflowEngine {
  private readonly role: LeasedRole;
  private consumer: DurableConsumer | undefined;
  private subscription: Subscription | undefined;
  private readonly position: LogPosition;
  private sweep: NodeJS.Timeout | undefined;
  private active = false;
  /** Steps running in this process, by `run/step`: aborted when the run is cancelled or the role lost. */
  private readonly running = new Map<string, { abort: AbortController; attempt: number }>();
  private readonly timers = new Timers(
    (runId) => void this.advance(runId).catch((err: unknown) => this.warn(err, runId)),
    (messageId, reason) => void this.deps.messages.cancel(messageId, reason).catch(() => undefined),
  );
  private readonly items: ForEach;
  private readonly moves: StepMoves;

  constructor(
    private readonly deps: EngineDeps,
    options: EngineOptions = {},
  ) {
    this.position = new LogPosition((cursor) => deps.store.savePosition(cursor), deps.logger);
    this.moves = new StepMoves({
      store: deps.store,
      tasks: deps.tasks,
      messages: deps.messages,
      wakeAt: (runId, stepId, ms) => this.timers.wakeAt(runId, stepId, ms),
      waking: (runId, stepId) => this.timers.waking(runId, stepId),
      clearLimit: (key) => this.timers.clearLimit(key),
      abortRun: (runId) => this.abortRun(runId),
    });
    this.items = new ForEach({
      store: this.deps.store,
      asks: this.deps.asks,
      messages: this.deps.messages,
      tasks: this.deps.tasks,
      resolveAsk: (spec, routed) => resolveAsk(this.deps, spec, routed),
      failStep: (tx, run, stepDef, s, error, reason) => this.moves.failStep(tx, run, stepDef, s, error, reason, true),
      completeStep: (tx, run, s, output, error) => this.moves.completeStep(tx, run, s, output, 0, error),
      // An item's key is `run/step#index`: its timers are kept beside the steps'.
      wakeAt: (runId, key, ms) => this.timers.wakeAt(runId, key.slice(runId.length + 1), ms),
      limitAsk: (runId, key, messageId, ms) => this.timers.limitAsk(runId, key.slice(runId.length + 1), messageId, ms),
      runningAttempt: (key) => this.running.get(key)?.attempt,
      abortItems: (runId, stepId) => {
        for (const [key, r] of this.running) if (key.startsWith(`${runId}/${stepId}#`)) r.abort.abort();
      },
    });
    this.role = new LeasedRole(
      deps.leases,
      'workflows',
      deps.holder,
      options.leaseMs ?? 30_000,
      { held: () => this.hold(), lost: () => this.release() },
      deps.logger,
    );
  }

  /** True while this service runs the workflows (it holds the lease). */
  get engaged(): boolean {
    return this.role.holding;
  }

  start(): Promise<void> {
    return this.role.start();
  }

  async stop(): Promise<void> {
    await this.role.stop();
    await this.release();
  }

  /** Wakes the engine for `runId` (a control action of this hub, which does not wait for its event). */
  poke(runId: string): void {
    if (this.active) void this.advance(runId).catch((err: unknown) => this.warn(err, runId));
  }

  private async hold(): Promise<void> {
    this.active = true;
    this.position.startAt((await this.deps.store.position()) ?? (await this.deps.events.head()));
    this.consumer = new DurableConsumer(
      this.deps.events,
      { types: TYPES },
      {
        position: () => this.position.cursor,
        handle: (event) => this.handle(event),
        caughtUp: async (cursor) => this.position.caughtUp(cursor),
      },
      this.deps.logger,
      { role: 'workflows' },
    );
    this.subscription = await this.deps.events.subscribe({ types: TYPES }, () => this.consumer?.wake());
    // Whatever was running when the last holder stopped: asks are waited for, other steps run again.
    await this.sweepRuns();
    this.consumer.wake();
    // And again every little while: a step whose result could not be stored, or that a holder frozen past its lease
    // started as it lost it, is not left without anyone to run it.
    this.sweep = setInterval(() => void this.sweepRuns(), SWEEP_MS);
    this.sweep.unref();
  }

  /** Advances every unfinished run, running again any running step this holder does not run. */
  private async sweepRuns(): Promise<void> {
    if (!this.active) return;
    for (const id of await this.deps.store.unfinished().catch(() => [] as string[]))
      await this.advance(id, true).catch((err: unknown) => this.warn(err, id));
  }

  private async release(): Promise<void> {
    this.active = false;
    await this.position.flush();
    clearInterval(this.sweep);
    this.subscription?.close();
    this.subscription = undefined;
    await this.consumer?.end();
    this.consumer = undefined;
    this.timers.clear();
    for (const r of this.running.values()) r.abort.abort();
  }

  private async handle(event: HubEvent): Promise<boolean> {
    if (!this.active) return false;
    let runId = event.runId;
    if (!runId && event.type === 'message.status_changed' && event.messageId && isTerminal(event.data.to))
      runId = (await this.deps.store.stepOfMessage(event.messageId))?.runId ?? null;
    if (runId) {
      try {
        await this.advance(runId);
      } catch (err) {
        // Not passed over: the pass stops before this event, which is read again a little later.
        this.warn(err, runId);
        setTimeout(() => this.consumer?.wake(), 1000).unref();
        return false;
      }
    }
    this.position.reached(event.cursor);
    return true;
  }

  private warn(err: unknown, runId: string): void {
    if (!isHubError(err, 'closed')) this.deps.logger.warn({ err, runId }, 'advancing a workflow run failed');
  }

  /** Moves run `runId` as far as it can go now; `recovering`: its running steps are not running here. */
  async advance(
    runId: string,
    recovering = false,
    first?: (tx: WriteTx, run: WorkflowRun, def: WorkflowDefinition) => Promise<void>,
  ): Promise<void> {
    // Only while holding the lease (a holder frozen past it finds it lost here, and does nothing).
    if (!this.active || !(await this.role.confirm())) return;
    const turn: Turn = { launches: [], cancels: [], routed: new Map(), progress: [] };
    const launches: Launch[] = turn.launches;
    const cancels = turn.cancels;
    await this.deps.store.write(async (tx) => {
      // A transaction run again (PostgreSQL reruns one a deadlock failed) starts from nothing.
      launches.length = 0;
      cancels.length = 0;
      turn.routed.clear();
      turn.progress.length = 0;
      const { run, definition } = await this.deps.store.lockRun(tx, runId);
      if (isTerminal(run.status)) {
        this.abortRun(run.id);
        return;
      }
      const def = definition as WorkflowDefinition;
      // A step's result, stored in the transaction that goes on from it.
      if (first) await first(tx, run, def);
      const byId = new Map(run.steps.map((s) => [s.stepId, s]));
      const now = new Date();
      if (run.status === 'pending')
        await this.deps.store.changeRun(tx, run, { status: 'processing', startedAt: now.toISOString() });
      for (const stepDef of def.steps) {
        const s = byId.get(stepDef.id) as StepRun;
        if (s.status === 'waiting') {
          await this.moves.checkApproval(tx, run, stepDef, s, now);
          continue;
        }
        if (s.status !== 'processing') continue;
        if (stepDef.forEach) {
          await this.items.advance(tx, run, stepDef, s, scopeOf(run), recovering, run.status === 'paused', turn);
          continue;
        }
        if (stepDef.ask && s.messageId) {
          await this.moves.settleAsk(tx, run, stepDef, s);
          // A limit set by a holder that died is set again here, from when the step started.
          if (s.status === 'processing' && stepDef.timeoutMs && !this.timers.limited(run.id, s.stepId))
            this.timers.limitAsk(
              run.id,
              s.stepId,
              s.messageId,
              Date.parse(s.startedAt ?? '') + stepDef.timeoutMs - now.getTime(),
            );
        }
        // A step this engine did not start (its holder died): run again, with the same attempt id.
        else if (recovering && !stepDef.ask && this.running.get(`${run.id}/${s.stepId}`)?.attempt !== s.attempt) {
          const again = this.launch(run, stepDef, s.attempt, s);
          if (typeof again === 'string') await this.moves.failStep(tx, run, stepDef, s, again, 'validation');
          else launches.push(again);
        }
      }
      // The run's cost is its steps' (a failed attempt's included), kept before anything ends the run.
      const cost = run.steps.reduce((sum, s) => sum + s.costUsd, 0);
      if (cost !== run.costUsd) await this.deps.store.changeRun(tx, run, { costUsd: cost });
      const failed = run.steps.find((s) => s.status === 'failed');
      if (failed)
        return this.moves.finishRun(
          tx,
          run,
          'failed',
          `step ${failed.stepId} failed: ${failed.error ?? failed.reason}`,
          cancels,
          launches,
        );
      if (def.maxCostUsd !== undefined && cost > def.maxCostUsd)
        return this.moves.finishRun(
          tx,
          run,
          'failed',
          `budget exceeded: the run cost $${cost.toFixed(4)}, past its limit of $${def.maxCostUsd}`,
          cancels,
          launches,
          'budget_exceeded',
        );
      if (run.steps.every((s) => settled(s.status))) return this.moves.completeRun(tx, run, def, cancels, launches);
      if (run.status === 'paused') return;
      // A step waiting for an approval holds no place: only running steps count against the run's concurrency.
      let busy = run.steps.filter((s) => s.status === 'processing').length;
      const limit = def.concurrency ?? 8;
      // Skipping a step may make others ready, wherever the definition lists them: look again until none moves.
      for (let moved = true; moved; ) {
        moved = false;
        for (const stepDef of def.steps) {
          const s = byId.get(stepDef.id) as StepRun;
          if (s.status !== 'pending') continue;
          const deps = (stepDef.after ?? []).map((d) => byId.get(d) as StepRun);
          if (!deps.every((d) => settled(d.status))) continue;
          const skip = skipReason(stepDef, s, deps, run);
          if (skip.fails) {
            await this.moves.failUnstarted(tx, run, s, skip.fails);
            return this.moves.finishRun(tx, run, 'failed', `step ${s.stepId} failed: ${s.error}`, cancels, launches);
          }
          if (skip.reason) {
            await this.moves.skip(tx, run, s, skip.reason);
            moved = true;
            continue;
          }
          if (busy >= limit && !stepDef.approve) continue;
          if (s.notBefore && new Date(s.notBefore) > now) {
            this.timers.wakeAt(run.id, s.stepId, new Date(s.notBefore).getTime() - now.getTime());
            continue;
          }
          if (!stepDef.approve) busy++;
          await this.startStep(tx, run, stepDef, s, turn);
          // (startStep moves the step: its status is read again here.)
          if ((s.status as StepStatus) === 'failed')
            return this.moves.finishRun(
              tx,
              run,
              'failed',
              `step ${s.stepId} failed: ${s.error ?? s.reason}`,
              cancels,
              launches,
            );
          moved = moved || settled(s.status);
        }
      }
      // Everything may have been skipped, or completed at once (an empty forEach).
      if (run.steps.every((s) => settled(s.status))) await this.moves.completeRun(tx, run, def, cancels, launches);
    });
    for (const [taskId, progress] of turn.progress)
      void this.deps.tasks.update(taskId, { progress }).catch(() => undefined);
    for (const id of cancels) await this.deps.messages.cancel(id, 'its workflow run ended').catch(() => undefined);
    for (const l of launches) void this.execute(l);
  }

  /** Starts a step: attempt counted, inputs resolved, an ask asked in this transaction, the rest launched after. */
  private async startStep(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    turn: Turn,
  ): Promise<void> {
    const launches = turn.launches;
    const attempt = s.attempt + 1;
    const kind = kindOf(stepDef);
    let spec: unknown;
    try {
      // A forEach step's spec is resolved for each item (for-each.ts).
      spec = stepDef.forEach ? undefined : resolveTemplates(stepDef[kind], scopeOf(run));
    } catch (err) {
      await this.moves.moveTask(tx, s, 'pending', 'processing');
      await this.deps.store.changeStep(
        tx,
        run.id,
        s,
        { status: 'processing', attempt, startedAt: new Date().toISOString() },
        run.createdBy,
      );
      return this.moves.failStep(tx, run, stepDef, s, (err as Error).message, 'validation');
    }
    await this.moves.moveTask(tx, s, 'pending', 'processing');
    const change = {
      status: 'processing' as const,
      attempt,
      startedAt: new Date().toISOString(),
      error: null,
      reason: null,
      notBefore: null,
    };
    if (kind === 'approve') return this.moves.startApproval(tx, run, s, change, spec);
    if (stepDef.forEach) {
      await this.deps.store.changeStep(tx, run.id, s, change, run.createdBy);
      await this.items.start(tx, run, stepDef, s, scopeOf(run), turn);
      return;
    }
    if (kind === 'ask') {
      try {
        const { input, checking } = await routedAsk(
          this.deps,
          tx,
          run,
          s,
          spec as Record<string, unknown>,
          turn.routed,
        );
        const asked = await this.deps.asks.ask(input, tx, checking);
        await this.deps.store.changeStep(tx, run.id, s, { ...change, messageId: asked.messageId }, run.createdBy);
        if (stepDef.timeoutMs) this.timers.limitAsk(run.id, s.stepId, asked.messageId, stepDef.timeoutMs);
      } catch (err) {
        await this.deps.store.changeStep(tx, run.id, s, change, run.createdBy);
        await this.moves.failStep(
          tx,
          run,
          stepDef,
          s,
          (err as Error).message,
          isHubError(err) ? err.code : 'agent_error',
        );
      }
      return;
    }
    await this.deps.store.changeStep(tx, run.id, s, change, run.createdBy);
    launches.push({ runId: run.id, step: stepDef, attempt, spec, taskId: s.taskId, createdBy: run.createdBy });
  }

  /** A running non-ask step to (re)launch, its inputs resolved as they were when it started. */
  private launch(run: WorkflowRun, stepDef: StepDefinition, attempt: number, s: StepRun): Launch | string {
    const kind = kindOf(stepDef);
    try {
      const spec = resolveTemplates(stepDef[kind], scopeOf(run));
      return { runId: run.id, step: stepDef, attempt, spec, taskId: s.taskId, createdBy: run.createdBy };
    } catch (err) {
      return (err as Error).message;
    }
  }

  private abortRun(runId: string): void {
    for (const [key, r] of this.running) if (key.startsWith(`${runId}/`)) r.abort.abort();
  }

  /** Runs a launched step here and stores its result, unless the step moved meanwhile. */
  private async execute(l: Launch): Promise<void> {
    const key = l.index === undefined ? `${l.runId}/${l.step.id}` : itemKey(l.runId, l.step.id, l.index);
    if (this.running.get(key)?.attempt === l.attempt) return;
    const abort = new AbortController();
    this.running.set(key, { abort, attempt: l.attempt });
    let result:
      | { ok: true; output: unknown; costUsd?: number }
      | { ok: false; error: string; reason: string; costUsd?: number };
    try {
      result = { ok: true, ...(await runStep(this.deps, l, abort.signal)) };
    } catch (err) {
      result = {
        ok: false,
        costUsd: (err as { costUsd?: number }).costUsd ?? 0,
        error: (err as Error).message,
        reason: isHubError(err)
          ? err.code
          : abort.signal.aborted
            ? 'cancelled'
            : /timed out/.test((err as Error).message)
              ? 'timeout'
              : 'agent_error',
      };
    }
    // The entry stays until the result is stored: a sweep meanwhile must not take the step for one no one runs.
    const done = () => {
      if (this.running.get(key)?.abort === abort) this.running.delete(key);
    };
    if (!this.active) return done();
    await this.advance(l.runId, false, async (tx, run, def) => {
      const stepDef = def.steps.find((x) => x.id === l.step.id) as StepDefinition;
      if (l.index !== undefined) return this.items.settle(tx, run, stepDef, l as ItemLaunch, result);
      const s = run.steps.find((x) => x.stepId === l.step.id);
      if (!s || s.status !== 'processing' || s.attempt !== l.attempt) return;
      if (result.ok) await this.moves.completeStep(tx, run, s, result.output, result.costUsd ?? 0);
      else {
        if (result.costUsd)
          await this.deps.store.changeStep(tx, run.id, s, { costUsd: s.costUsd + result.costUsd }, run.createdBy);
        await this.moves.failStep(tx, run, stepDef, s, result.error, result.reason);
      }
    })
      .catch((err: unknown) => this.warn(err, l.runId))
      .finally(done);
  }
}

export type { HubError };
