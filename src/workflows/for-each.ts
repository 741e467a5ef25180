/**
 * `forEach` steps: a step run once per item of a list from an earlier output, at most `concurrency` items at a
 * time (4 by default). Each item is a row of its own (store/step-items.ts) with its attempts, so a restart goes on
 * from the items stored: a finished item never runs again, an item that asks waits for the same reply, and an item
 * of another kind that was running runs again (at least once, with its attempt id, as a step does). The step's
 * retry policy applies to each item. The step's output is the list of its items' outputs in order; one item that
 * fails (its retries spent) fails the step and cancels the items still running, unless `continueOnError`, where
 * it gives `null` in its place and the step completes with the failures in its error. Retried, the step keeps
 * its completed items and runs the others again — over a new list when a step it depends on ran again. The
 * engine (engine.ts) calls in here from its one transaction per run.
 */
import { isHubError } from '../domain/errors.js';
import type { StepItem, StepRun, WorkflowRun } from '../domain/workflow-types.js';
import type { AskStore } from '../store/asks.js';
import type { WriteTx } from '../store/database.js';
import type { MessageStore } from '../store/messages.js';
import type { ItemTally } from '../store/step-items.js';
import type { TaskStore } from '../store/tasks.js';
import type { WorkflowStore } from '../store/workflow-runs.js';
import { replyOutcome } from './ask-routing.js';
import { kindOf, type StepDefinition } from './definition.js';
import { retryWait } from './flow.js';
import { resolveTemplates, type Scope } from './paths.js';
import type { StepLaunch } from './steps.js';
import { cleanText } from './text.js';

/** Items of a step running at once when it does not say. */
export const DEFAULT_ITEM_CONCURRENCY = 4;
/** The longest list a step runs over. */
export const MAX_ITEMS = 10_000;

/** What the engine lends: its stores, and its ways to fail a step, wake a run and limit an ask. */
export interface ItemHost {
  store: WorkflowStore;
  asks: AskStore;
  messages: MessageStore;
  tasks: TaskStore;
  /** An ask's spec resolved (its capability routed, counting `routed`). */
  resolveAsk(
    spec: Record<string, unknown>,
    routed: Map<string, number>,
  ): Promise<{ input: Parameters<AskStore['ask']>[0]; checking?: { schema: string; maxRepairs: number } }>;
  /** Fails the step itself (no retry: its items had theirs). */
  failStep(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    error: string,
    reason: string,
  ): Promise<void>;
  /** Completes the step (task included). */
  completeStep(tx: WriteTx, run: WorkflowRun, s: StepRun, output: unknown, error?: string): Promise<void>;
  wakeAt(runId: string, key: string, ms: number): void;
  limitAsk(runId: string, key: string, messageId: string, ms: number): void;
  /** Whether the item `key` runs in this process (its attempt). */
  runningAttempt(key: string): number | undefined;
  /** Stops the items of a step running in this process. */
  abortItems(runId: string, stepId: string): void;
}

/** A launched item: a step launch for one item. */
export type ItemLaunch = StepLaunch & { index: number; createdBy: string | null };
/**
 * What one transaction of the engine gathers: the steps and items to run after it commits, the replies to cancel,
 * the asks it routed by capability (by module: the store does not count them until it commits), and the progress
 * to set on tasks. A transaction run again starts from a new one.
 */
export interface Turn {
  launches: (StepLaunch & { index?: number; createdBy: string | null })[];
  cancels: string[];
  routed: Map<string, number>;
  progress: [taskId: string, percent: number][];
}

/** The key of an item among the engine's running work and timers. */
export const itemKey = (runId: string, stepId: string, index: number) => `${runId}/${stepId}#${index}`;

export class ForEach {
  constructor(private readonly host: ItemHost) {}

  /**
   * Starts a forEach step (already `processing`): its list resolved and stored as items, and the first of them
   * launched. Answers an error when the list is not one.
   */
  async start(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    scope: Scope,
    turn: Turn,
  ): Promise<void> {
    // Retried: the items it kept (completed ones stay as they are, the others wait again).
    const kept = (await this.host.store.items.tally(tx, run.id, s.stepId)).total > 0;
    if (kept) return this.advance(tx, run, stepDef, s, scope, false, false, turn);
    let items: unknown;
    try {
      items = resolveTemplates(stepDef.forEach?.items, scope);
    } catch (err) {
      return this.host.failStep(tx, run, stepDef, s, `forEach.items: ${(err as Error).message}`, 'validation');
    }
    if (!Array.isArray(items))
      return this.host.failStep(
        tx,
        run,
        stepDef,
        s,
        `forEach.items is ${items === null ? 'null' : typeof items}, not a list: ${JSON.stringify(items)?.slice(0, 80)}`,
        'validation',
      );
    if (items.length > MAX_ITEMS)
      return this.host.failStep(
        tx,
        run,
        stepDef,
        s,
        `forEach.items holds ${items.length} items; a step runs over at most ${MAX_ITEMS}`,
        'validation',
      );
    await this.host.store.items.create(tx, run.id, s.stepId, items);
    await this.advance(tx, run, stepDef, s, scope, false, false, turn);
  }

  /**
   * Moves a running forEach step on: settles items whose replies finished, relaunches (when `recovering`) items no
   * one runs, fails or completes the step, and launches pending items up to its concurrency unless `held` (the
   * run is paused). It reads the items running, the next ones ready and the counts — not the whole list, which it
   * reads once, when the step ends: a long list costs each item's end the same as a short one.
   */
  async advance(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    scope: Scope,
    recovering: boolean,
    held: boolean,
    turn: Turn,
  ): Promise<void> {
    const items = this.host.store.items;
    const ask = Boolean(stepDef.ask);
    const now = Date.now();
    const running = await items.withStatus(tx, run.id, s.stepId, 'processing');
    for (const item of running) {
      const key = itemKey(run.id, s.stepId, item.index);
      if (ask && item.messageId) {
        await this.settleAsk(tx, run, stepDef, s, item);
        if (item.status === 'processing' && stepDef.timeoutMs)
          this.host.limitAsk(run.id, key, item.messageId, Date.parse(item.startedAt ?? '') + stepDef.timeoutMs - now);
      } else if (recovering && !ask && this.host.runningAttempt(key) !== item.attempt) {
        const again = this.launch(run, stepDef, s, item, scope);
        if (typeof again === 'string') await this.failItem(tx, run, stepDef, s, item, again, 'validation');
        else turn.launches.push(again);
      }
    }
    let tally = await items.tally(tx, run.id, s.stepId);
    const failed = tally.failed ? await items.withStatus(tx, run.id, s.stepId, 'failed', 5) : [];
    if (failed[0] && !stepDef.forEach?.continueOnError) {
      // The items still running are not needed: their replies are cancelled, their programs stopped.
      for (const item of running) if (item.status === 'processing' && item.messageId) turn.cancels.push(item.messageId);
      await items.cancelOpen(tx, run.id, s.stepId);
      this.host.abortItems(run.id, s.stepId);
      await this.record(tx, run, s, await items.tally(tx, run.id, s.stepId), turn);
      return this.host.failStep(
        tx,
        run,
        stepDef,
        s,
        `item ${failed[0].index} of ${tally.total} failed: ${failed[0].error ?? failed[0].reason}`,
        failed[0].reason ?? 'agent_error',
      );
    }
    if (tally.complete + tally.failed === tally.total) {
      await this.record(tx, run, s, tally, turn);
      const all = await items.list(tx, run.id, s.stepId);
      return this.host.completeStep(
        tx,
        run,
        s,
        all.map((i) => (i.status === 'complete' ? i.output : null)),
        tally.failed
          ? `${tally.failed} of ${tally.total} items failed (null in their place): ${failed
              .map((i) => `item ${i.index}: ${i.error ?? i.reason}`)
              .join('; ')}${tally.failed > failed.length ? '; …' : ''}`
          : undefined,
      );
    }
    if (!held) {
      const cap = stepDef.forEach?.concurrency ?? DEFAULT_ITEM_CONCURRENCY;
      const room = cap - tally.running;
      if (room > 0) {
        const { ready, nextAt } = await items.ready(tx, run.id, s.stepId, new Date(now).toISOString(), room);
        for (const item of ready) await this.startItem(tx, run, stepDef, s, item, scope, turn);
        if (ready.length < room && nextAt) {
          this.host.wakeAt(run.id, `${run.id}/${s.stepId}#next`, Date.parse(nextAt) - now);
        }
        if (ready.length) tally = await items.tally(tx, run.id, s.stepId);
      }
    }
    await this.record(tx, run, s, tally, turn);
  }

  /** Keeps the step's counts of items and its cost (the sum of its items'), and its task's progress. */
  private async record(tx: WriteTx, run: WorkflowRun, s: StepRun, tally: ItemTally, turn: Turn): Promise<void> {
    const counted = { total: tally.total, complete: tally.complete, failed: tally.failed, running: tally.running };
    if (JSON.stringify(counted) === JSON.stringify(s.detail?.items) && tally.costUsd === s.costUsd) return;
    await this.host.store.changeStep(
      tx,
      run.id,
      s,
      { detail: { ...(s.detail ?? {}), items: counted }, costUsd: tally.costUsd },
      run.createdBy,
    );
    if (s.taskId && tally.total)
      turn.progress.push([s.taskId, Math.floor(((tally.complete + tally.failed) * 100) / tally.total)]);
  }

  /** Starts one item: an ask asked in this transaction, anything else launched after it commits. */
  private async startItem(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    item: StepItem,
    scope: Scope,
    turn: Turn,
  ): Promise<void> {
    await this.host.store.items.change(tx, run.id, s.stepId, item, {
      status: 'processing',
      attempt: item.attempt + 1,
      startedAt: new Date().toISOString(),
      error: null,
      reason: null,
      notBefore: null,
      messageId: null,
    });
    const launch = this.launch(run, stepDef, s, item, scope);
    if (typeof launch === 'string') return this.failItem(tx, run, stepDef, s, item, launch, 'validation');
    if (!stepDef.ask) {
      turn.launches.push(launch);
      return;
    }
    try {
      const { input, checking } = await this.host.resolveAsk(
        { ...(launch.spec as Record<string, unknown>), from: run.createdBy ?? 'workflows' },
        turn.routed,
      );
      const asked = await this.host.asks.ask(input, tx, checking);
      await this.host.store.items.change(tx, run.id, s.stepId, item, { messageId: asked.messageId });
      if (stepDef.timeoutMs)
        this.host.limitAsk(run.id, itemKey(run.id, s.stepId, item.index), asked.messageId, stepDef.timeoutMs);
    } catch (err) {
      await this.failItem(
        tx,
        run,
        stepDef,
        s,
        item,
        (err as Error).message,
        isHubError(err) ? err.code : 'agent_error',
      );
    }
  }

  /** An item's launch, its spec resolved for it; or why it cannot be. */
  private launch(
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    item: StepItem,
    scope: Scope,
  ): ItemLaunch | string {
    try {
      const spec = resolveTemplates(stepDef[kindOf(stepDef)], { ...scope, item: item.input, index: item.index });
      return {
        runId: run.id,
        step: stepDef,
        attempt: item.attempt,
        spec,
        taskId: s.taskId,
        index: item.index,
        createdBy: run.createdBy,
      };
    } catch (err) {
      return `item ${item.index}: ${(err as Error).message}`;
    }
  }

  /** An item's reply finished: the item completes with it, or fails. */
  private async settleAsk(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    item: StepItem,
  ): Promise<void> {
    const outcome = await replyOutcome(this.host, tx, item.messageId as string, item.startedAt, stepDef.timeoutMs);
    if (!outcome) return;
    const costUsd = item.costUsd + outcome.cost;
    if (outcome.ok) {
      await this.host.store.items.change(tx, run.id, s.stepId, item, {
        status: 'complete',
        output: outcome.output,
        costUsd,
        completedAt: new Date().toISOString(),
      });
      return;
    }
    await this.host.store.items.change(tx, run.id, s.stepId, item, { costUsd });
    await this.failItem(tx, run, stepDef, s, item, outcome.error, outcome.reason);
  }

  /** An item's attempt failed: tried again after its back-off when the step's retry policy allows, else failed. */
  async failItem(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    s: StepRun,
    item: StepItem,
    error: string,
    reason: string,
  ): Promise<void> {
    error = cleanText(error, 20_000);
    const wait = retryWait(stepDef.retry, item.attempt, reason, run.status);
    if (wait !== undefined) {
      await this.host.store.items.change(tx, run.id, s.stepId, item, {
        status: 'pending',
        error,
        reason,
        messageId: null,
        notBefore: new Date(Date.now() + wait).toISOString(),
      });
      this.host.wakeAt(run.id, itemKey(run.id, s.stepId, item.index), wait);
      return;
    }
    await this.host.store.items.change(tx, run.id, s.stepId, item, {
      status: 'failed',
      error,
      reason,
      completedAt: new Date().toISOString(),
    });
  }

  /** Stores a launched item's result (unless the item moved meanwhile). */
  async settle(
    tx: WriteTx,
    run: WorkflowRun,
    stepDef: StepDefinition,
    l: ItemLaunch,
    result:
      | { ok: true; output: unknown; costUsd?: number }
      | { ok: false; error: string; reason: string; costUsd?: number },
  ): Promise<void> {
    const s = run.steps.find((x) => x.stepId === stepDef.id);
    if (!s) return;
    const item = await this.host.store.items.get(tx, run.id, s.stepId, l.index);
    if (!item || item.attempt !== l.attempt) return;
    if (item.status !== 'processing') {
      // Stopped (its step failed, or the run ended): what it spent is still spent.
      if (result.costUsd) {
        await this.host.store.items.change(tx, run.id, s.stepId, item, { costUsd: item.costUsd + result.costUsd });
        await this.host.store.changeStep(tx, run.id, s, { costUsd: s.costUsd + result.costUsd }, run.createdBy);
      }
      return;
    }
    const costUsd = item.costUsd + (result.costUsd ?? 0);
    if (result.ok)
      await this.host.store.items.change(tx, run.id, s.stepId, item, {
        status: 'complete',
        output: result.output ?? null,
        costUsd,
        completedAt: new Date().toISOString(),
      });
    else {
      await this.host.store.items.change(tx, run.id, s.stepId, item, { costUsd });
      await this.failItem(tx, run, stepDef, s, item, result.error, result.reason);
    }
  }
}
