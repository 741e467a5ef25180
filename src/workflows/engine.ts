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
import { isTerminal, type Status, type StepStatus } from '../domain/status.js';
import type { HubEvent } from '../domain/types.js';
import type { Routing, StepRun, WorkflowRun } from '../domain/workflow-types.js';
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
import { evaluateCondition, parseCondition } from './conditions.js';
import { kindOf, type StepDefinition, type WorkflowDefinition } from './definition.js';
import { ForEach, type ItemLaunch, itemKey, type Turn } from './for-each.js';
import { resolveTemplates, type Scope } from './paths.js';
import { runStep, type StepContext, type StepLaunch } from './steps.js';
import { cleanText } from './text.js';

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

export interface EngineDeps extends StepContext {
  store: WorkflowStore;
  asks: AskStore;
  messages: MessageStore;
  tasks: TaskStore;
  events: HubEvents;
  leases: LeaseStore;
  holder: string;
  logger: Logger;
  processes: ProcessTracker;
  /** The module an ask step that names a capability asks (workflows/../registry/routing.ts). */
  routeCapability(capability: string, unseen?: ReadonlyMap<string, number>): Promise<Routing>;
  /** Turns an ask step's spec into what the store asks (schema and template resolved). */
  resolveAsk(
    spec: Record<string, unknown>,
  ): Promise<{ input: Parameters<AskStore['ask']>[0]; checking?: { schema: string; maxRepairs: number } }>;
}

/** The scope a run's templates resolve in: its inputs and its finished steps' outputs. */
export function scopeOf(run: WorkflowRun): Scope {
  // No prototype: a step may be called `__proto__` or `constructor` and still be a step.
  const steps: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const s of run.steps) if (s.status === 'complete') steps[s.stepId] = s.output;
  const skipped = new Set(run.steps.filter((s) => s.status === 'skipped').map((s) => s.stepId));
  return { inputs: run.inputs, steps, skipped };
}

/** Whether a step counts as done for those that depend on it: complete, or skipped. */
const settled = (status: StepStatus | undefined) => status === 'complete' || status === 'skipped';

export class WorkflowEngine {
  private readonly role: LeasedRole;
  private consumer: DurableConsumer | undefined;
  private subscription: Subscription | undefined;
  private position = '';
  private sweep: NodeJS.Timeout | undefined;
  private active = false;
  /** Steps running in this process, by `run/step`: aborted when the run is cancelled or the role lost. */
  private readonly running = new Map<string, { abort: AbortController; attempt: number }>();
  /** Wake-ups for retries' back-off and steps' time limits, by `run/step`. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Ask steps' time limits armed in this process, by `run/step`. */
  private readonly limits = new Map<string, NodeJS.Timeout>();
  private readonly items: ForEach;

  constructor(
    private readonly deps: EngineDeps,
    options: EngineOptions = {},
  ) {
    this.items = new ForEach({
      store: this.deps.store,
      asks: this.deps.asks,
      messages: this.deps.messages,
      tasks: this.deps.tasks,
      resolveAsk: (spec, routed) => this.resolveAsk(spec, routed),
      failStep: (tx, run, stepDef, s, error, reason) => this.failStep(tx, run, stepDef, s, error, reason, true),
      completeStep: (tx, run, s, output, error) => this.completeStep(tx, run, s, output, 0, error),
      // An item's key is `run/step#index`: its timers are kept beside the steps'.
      wakeAt: (runId, key, ms) => this.wakeAt(runId, key.slice(runId.length + 1), ms),
      limitAsk: (runId, key, messageId, ms) => this.limitAsk(runId, key.slice(runId.length + 1), messageId, ms),
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
    this.position = (await this.deps.store.position()) ?? (await this.deps.events.head());
    this.consumer = new DurableConsumer(
      this.deps.events,
      { types: TYPES },
      {
        position: () => this.position,
        handle: (event) => this.handle(event),
        caughtUp: async (cursor) => {
          this.position = cursor;
          await this.deps.store.savePosition(cursor);
        },
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
    clearInterval(this.sweep);
    this.subscription?.close();
    this.subscription = undefined;
    await this.consumer?.end();
    this.consumer = undefined;
    for (const t of [...this.timers.values(), ...this.limits.values()]) clearTimeout(t);
    this.timers.clear();
    this.limits.clear();
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
    this.position = event.cursor;
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
          await this.checkApproval(tx, run, stepDef, s, now);
          continue;
        }
        if (s.status !== 'processing') continue;
        if (stepDef.forEach) {
          await this.items.advance(tx, run, stepDef, s, scopeOf(run), recovering, run.status === 'paused', turn);
          continue;
        }
        if (stepDef.ask && s.messageId) {
          await this.settleAsk(tx, run, stepDef, s);
          // A limit set by a holder that died is set again here, from when the step started.
          if (s.status === 'processing' && stepDef.timeoutMs && !this.limits.has(`${run.id}/${s.stepId}`))
            this.limitAsk(
              run.id,
              s.stepId,
              s.messageId,
              Date.parse(s.startedAt ?? '') + stepDef.timeoutMs - now.getTime(),
            );
        }
        // A step this engine did not start (its holder died): run again, with the same attempt id.
        else if (recovering && !stepDef.ask && this.running.get(`${run.id}/${s.stepId}`)?.attempt !== s.attempt) {
          const again = this.launch(run, stepDef, s.attempt, s);
          if (typeof again === 'string') await this.failStep(tx, run, stepDef, s, again, 'validation');
          else launches.push(again);
        }
      }
      // The run's cost is its steps' (a failed attempt's included), kept before anything ends the run.
      const cost = run.steps.reduce((sum, s) => sum + s.costUsd, 0);
      if (cost !== run.costUsd) await this.deps.store.changeRun(tx, run, { costUsd: cost });
      const failed = run.steps.find((s) => s.status === 'failed');
      if (failed)
        return this.finishRun(
          tx,
          run,
          'failed',
          `step ${failed.stepId} failed: ${failed.error ?? failed.reason}`,
          cancels,
          launches,
        );
      if (def.maxCostUsd !== undefined && cost > def.maxCostUsd)
        return this.finishRun(
          tx,
          run,
          'failed',
          `budget exceeded: the run cost $${cost.toFixed(4)}, past its limit of $${def.maxCostUsd}`,
          cancels,
          launches,
          'budget_exceeded',
        );
      if (run.steps.every((s) => settled(s.status))) {
        const out = this.output(def, run);
        if (typeof out === 'string') return this.finishRun(tx, run, 'failed', out, cancels, launches);
        await this.deps.store.changeRun(tx, run, {
          status: 'complete',
          output: out.value,
          completedAt: now.toISOString(),
        });
        return;
      }
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
          const skipped = deps.find((d) => d.status === 'skipped');
          let skip = skipped && !stepDef.runIfSkipped ? `step ${skipped.stepId} was skipped` : undefined;
          if (!skip && stepDef.when !== undefined && s.attempt === 0) {
            try {
              if (!evaluateCondition(parseCondition(stepDef.when), scopeOf(run)))
                skip = `when ${stepDef.when} does not hold`;
            } catch (err) {
              const error = cleanText(`when: ${(err as Error).message}`, 20_000);
              await this.moveTask(tx, s, 'pending', 'failed', error, 'validation');
              await this.deps.store.changeStep(
                tx,
                run.id,
                s,
                {
                  status: 'failed',
                  error,
                  reason: 'validation',
                  completedAt: now.toISOString(),
                },
                run.createdBy,
              );
              return this.finishRun(tx, run, 'failed', `step ${s.stepId} failed: ${s.error}`, cancels, launches);
            }
          }
          if (skip) {
            await this.moveTask(tx, s, 'pending', 'cancelled', `skipped: ${skip}`, 'skipped');
            await this.deps.store.changeStep(
              tx,
              run.id,
              s,
              { status: 'skipped', detail: { ...(s.detail ?? {}), skipped: skip }, completedAt: now.toISOString() },
              run.createdBy,
            );
            moved = true;
            continue;
          }
          if (busy >= limit && !stepDef.approve) continue;
          if (s.notBefore && new Date(s.notBefore) > now) {
            this.wakeAt(run.id, s.stepId, new Date(s.notBefore).getTime() - now.getTime());
            continue;
          }
          if (!stepDef.approve) busy++;
          await this.startStep(tx, run, stepDef, s, turn);
          // (startStep moves the step: its status is read again here.)
          if ((s.status as StepStatus) === 'failed')
            return this.finishRun(
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
      if (run.steps.every((s) => settled(s.status))) {
        const out = this.output(def, run);
        if (typeof out === 'string') return this.finishRun(tx, run, 'failed', out, cancels, launches);
        await this.deps.store.changeRun(tx, run, {
          status: 'complete',
          output: out.value,
          completedAt: now.toISOString(),
        });
      }
    });
    for (const [taskId, progress] of turn.progress)
      void this.deps.tasks.update(taskId, { progress }).catch(() => undefined);
    for (const id of cancels) await this.deps.messages.cancel(id, 'its workflow run ended').catch(() => undefined);
    for (const l of launches) void this.execute(l);
  }

  /** The run's output (its template resolved), or why it cannot be. */
  private output(def: WorkflowDefinition, run: WorkflowRun): { value: unknown } | string {
    try {
      // A skipped step in the output stands for null: the run did what its conditions asked.
      const scope = { ...scopeOf(run), skippedAsNull: true };
      return { value: def.output === undefined ? scope.steps : resolveTemplates(def.output, scope) };
    } catch (err) {
      return `the output: ${(err as Error).message}`;
    }
  }

  /** An ask's spec resolved, its capability (if it names one) routed to a module first (`routed` is told how). */
  private async resolveAsk(
    spec: Record<string, unknown>,
    routedNow: Map<string, number>,
    routed?: (routing: Routing) => void,
  ): ReturnType<EngineDeps['resolveAsk']> {
    const { capability, ...rest } = spec;
    if (typeof capability !== 'string') return this.deps.resolveAsk(rest);
    // Asks routed in this transaction are not in the store's counts yet: they are counted here.
    const routing = await this.deps.routeCapability(capability, routedNow);
    routedNow.set(routing.chosen, (routedNow.get(routing.chosen) ?? 0) + 1);
    routed?.(routing);
    return this.deps.resolveAsk({ ...rest, to: routing.chosen });
  }

  /** An ask step's request, its module chosen (and the choice recorded on the step) when it names a capability. */
  private async routedAsk(
    tx: WriteTx,
    run: WorkflowRun,
    s: StepRun,
    spec: Record<string, unknown>,
    routedNow: Map<string, number>,
  ): ReturnType<EngineDeps['resolveAsk']> {
    let routing: Routing | undefined;
    const resolved = await this.resolveAsk({ ...spec, from: run.createdBy ?? 'workflows' }, routedNow, (r) => {
      routing = r;
    });
    if (routing)
      await this.deps.store.changeStep(tx, run.id, s, { detail: { ...(s.detail ?? {}), routing } }, run.createdBy);
    return resolved;
  }

  /** A waiting approval whose time is up fails (`timeout`); one whose time is not, is woken when it is. */
  private async checkApproval(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    now: Date,
  ): Promise<void> {
    const approval = s.detail?.approval;
    if (!approval?.timeoutAt) return;
    const left = Date.parse(approval.timeoutAt) - now.getTime();
    if (left > 0) {
      if (!this.timers.has(`${run.id}/${s.stepId}`)) this.wakeAt(run.id, s.stepId, left);
      return;
    }
    const at = now.toISOString();
    await this.deps.store.changeStep(
      tx,
      run.id,
      s,
      { detail: { ...s.detail, approval: { ...approval, decision: 'timed_out', at } } },
      run.createdBy,
    );
    const error = `no one approved or rejected it within ${stepDef.approve?.timeoutMs} ms`;
    await this.deps.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'failed', error, reason: 'timeout', completedAt: at },
      run.createdBy,
    );
    await this.moveTask(tx, s, 'processing', 'failed', error, 'timeout');
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
      await this.moveTask(tx, s, 'pending', 'processing');
      await this.deps.store.changeStep(
        tx,
        run.id,
        s,
        { status: 'processing', attempt, startedAt: new Date().toISOString() },
        run.createdBy,
      );
      return this.failStep(tx, run, stepDef, s, (err as Error).message, 'validation');
    }
    await this.moveTask(tx, s, 'pending', 'processing');
    const change = {
      status: 'processing' as const,
      attempt,
      startedAt: new Date().toISOString(),
      error: null,
      reason: null,
      notBefore: null,
    };
    if (kind === 'approve') {
      const approve = (spec ?? {}) as { message?: string; timeoutMs?: number; approvers?: string[] };
      // The message may come from earlier outputs: stored as text, cut to a size a person reads.
      const given: unknown = approve.message ?? `Approve step ${s.stepId} of ${run.workflow}?`;
      const message = cleanText(typeof given === 'string' ? given : JSON.stringify(given), 4000);
      await this.deps.store.changeStep(
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
      if (s.taskId) await this.deps.tasks.log(s.taskId, { text: `waiting for an approval: ${message}` }, tx);
      if (approve.timeoutMs) this.wakeAt(run.id, s.stepId, approve.timeoutMs);
      return;
    }
    if (stepDef.forEach) {
      await this.deps.store.changeStep(tx, run.id, s, change, run.createdBy);
      await this.items.start(tx, run, stepDef, s, scopeOf(run), turn);
      return;
    }
    if (kind === 'ask') {
      try {
        const { input, checking } = await this.routedAsk(tx, run, s, spec as Record<string, unknown>, turn.routed);
        const asked = await this.deps.asks.ask(input, tx, checking);
        await this.deps.store.changeStep(tx, run.id, s, { ...change, messageId: asked.messageId }, run.createdBy);
        if (stepDef.timeoutMs) this.limitAsk(run.id, s.stepId, asked.messageId, stepDef.timeoutMs);
      } catch (err) {
        await this.deps.store.changeStep(tx, run.id, s, change, run.createdBy);
        await this.failStep(tx, run, stepDef, s, (err as Error).message, isHubError(err) ? err.code : 'agent_error');
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

  /** An ask step whose reply has finished: complete with its value, or failed with its error. */
  private async settleAsk(tx: WriteTx, run: WorkflowRun, stepDef: StepDefinition, s: StepRun): Promise<void> {
    const reply = await this.deps.messages.get(s.messageId as string, tx);
    if (reply.status === 'unknown' || !isTerminal(reply.status)) return;
    const cost = (await this.deps.tasks.forMessage(reply.id).catch(() => undefined))?.costUsd ?? 0;
    const key = `${run.id}/${s.stepId}`;
    if (reply.status === 'complete') {
      const output = {
        value: reply.value ?? null,
        content: reply.content,
        messageId: reply.id,
        threadId: reply.threadId,
      };
      await this.deps.store.changeStep(
        tx,
        run.id,
        s,
        { status: 'complete', output, costUsd: s.costUsd + cost, completedAt: new Date().toISOString() },
        run.createdBy,
      );
      await this.moveTask(tx, s, 'processing', 'complete');
      return;
    }
    clearTimeout(this.limits.get(key));
    this.limits.delete(key);
    // Timed out: cancelled by its limit — told by the reply's own times, so a holder that did not set it knows too.
    const timedOut =
      reply.status === 'cancelled' &&
      stepDef.timeoutMs !== undefined &&
      Date.parse(reply.completedAt ?? '') - Date.parse(s.startedAt ?? '') >= stepDef.timeoutMs - 5;
    await this.deps.store.changeStep(tx, run.id, s, { costUsd: s.costUsd + cost }, run.createdBy);
    await this.failStep(
      tx,
      run,
      stepDef,
      s,
      timedOut
        ? `timed out after ${stepDef.timeoutMs} ms`
        : `the reply ${reply.status === 'cancelled' ? 'was cancelled' : 'failed'}: ${reply.error ?? reply.status}`,
      timedOut ? 'timeout' : reply.status === 'cancelled' ? 'cancelled' : 'agent_error',
    );
  }

  /** A failed attempt: retried after its back-off when the policy allows, else the step fails. */
  private async failStep(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    error: string,
    reason: string,
    noRetry = false,
  ): Promise<void> {
    error = cleanText(error, 20_000);
    const retry = stepDef.retry ?? {};
    const attempts = noRetry ? 0 : (retry.attempts ?? 1);
    if (s.attempt < attempts && !(retry.notOn ?? []).includes(reason) && run.status !== 'cancelled') {
      const wait = Math.round((retry.backoffMs ?? 1000) * (retry.factor ?? 2) ** (s.attempt - 1));
      const notBefore = new Date(Date.now() + wait).toISOString();
      await this.deps.store.changeStep(
        tx,
        run.id,
        s,
        { status: 'pending', error, reason, notBefore, messageId: null },
        run.createdBy,
      );
      if (s.taskId)
        await this.deps.tasks.log(
          s.taskId,
          {
            level: 'warn',
            text: `attempt ${s.attempt} failed (${reason}): ${cleanText(error, 10_000)}; trying again in ${wait} ms`,
          },
          tx,
        );
      // The task waits with its step, so whatever ends the run finds it where the step is.
      await this.moveTask(tx, s, 'processing', 'pending');
      this.wakeAt(run.id, s.stepId, wait);
      return;
    }
    await this.deps.store.changeStep(
      tx,
      run.id,
      s,
      { status: 'failed', error, reason, completedAt: new Date().toISOString() },
      run.createdBy,
    );
    await this.moveTask(tx, s, 'processing', 'failed', error, reason);
  }

  /** Ends a run; its pending steps are cancelled, its running ones stopped. */
  private async finishRun(
    tx: WriteTx,
    run: WorkflowRun,
    to: Status,
    error: string | null,
    cancels: string[],
    launches: Launch[],
    reason?: string,
  ): Promise<void> {
    launches.length = 0;
    for (const s of run.steps) {
      if (s.status === 'pending' || s.status === 'processing' || s.status === 'waiting') {
        if (s.status === 'processing' && s.messageId) cancels.push(s.messageId);
        // A forEach step's items (a retried one waiting for its turn has them too).
        if (s.kind !== 'approve') {
          for (const item of await this.deps.store.items.withStatus(tx, run.id, s.stepId, 'processing'))
            if (item.messageId) cancels.push(item.messageId);
          await this.deps.store.items.cancelOpen(tx, run.id, s.stepId);
        }
        const items = s.detail?.items;
        await this.moveTask(tx, s, s.status === 'waiting' ? 'processing' : s.status, 'cancelled');
        await this.deps.store.changeStep(
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
    await this.deps.store.changeRun(tx, run, {
      status: to,
      error,
      completedAt: new Date().toISOString(),
      ...(reason ? { reason } : {}),
    });
    this.abortRun(run.id);
  }

  private abortRun(runId: string): void {
    for (const [key, r] of this.running) if (key.startsWith(`${runId}/`)) r.abort.abort();
  }

  private async moveTask(
    tx: WriteTx,
    s: StepRun,
    from: Status,
    to: Status,
    error?: string,
    reason?: string,
  ): Promise<void> {
    if (!s.taskId) return;
    await this.deps.tasks.moveFrom(
      tx,
      { id: s.taskId },
      from,
      to,
      error ? { error, reason: reason ?? 'agent_error' } : {},
    );
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
      if (result.ok) await this.completeStep(tx, run, s, result.output, result.costUsd ?? 0);
      else {
        if (result.costUsd)
          await this.deps.store.changeStep(tx, run.id, s, { costUsd: s.costUsd + result.costUsd }, run.createdBy);
        await this.failStep(tx, run, stepDef, s, result.error, result.reason);
      }
    })
      .catch((err: unknown) => this.warn(err, l.runId))
      .finally(done);
  }

  /** A step completes with its output (and, for a forEach step with failed items, what failed). */
  private async completeStep(
    tx: WriteTx,
    run: WorkflowRun,
    s: StepRun,
    output: unknown,
    costUsd: number,
    error?: string,
  ): Promise<void> {
    await this.deps.store.changeStep(
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

  private wakeAt(runId: string, stepId: string, ms: number): void {
    const key = `${runId}/${stepId}`;
    clearTimeout(this.timers.get(key));
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        void this.advance(runId).catch((err: unknown) => this.warn(err, runId));
      },
      Math.max(0, ms),
    );
    t.unref();
    this.timers.set(key, t);
  }

  /** An ask step's time limit: its reply is cancelled when it runs out, and the step fails with `timeout`. */
  private limitAsk(runId: string, stepId: string, messageId: string, ms: number): void {
    const key = `${runId}/${stepId}`;
    clearTimeout(this.limits.get(key));
    const t = setTimeout(
      () => {
        this.limits.delete(key);
        void this.deps.messages.cancel(messageId, `the workflow step ${stepId} timed out`).catch(() => undefined);
      },
      Math.max(0, ms),
    );
    t.unref();
    this.limits.set(key, t);
  }
}

export type { HubError };
