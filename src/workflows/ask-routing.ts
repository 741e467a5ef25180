/**
 * An ask step's request (or one item's), its module chosen by capability when it names one rather than a module:
 * the least loaded module that declares it (registry/routing.ts), counting the asks routed earlier in the same
 * transaction, which the store does not count until it commits; the choice is kept on the step. And what its
 * reply, once finished, makes of the step or item: its output, or its error and reason.
 */

import { isTerminal } from '../domain/status.js';
import type { Routing, StepRun, WorkflowRun } from '../domain/workflow-types.js';
import type { AskStore } from '../store/asks.js';
import type { WriteTx } from '../store/database.js';
import type { MessageStore } from '../store/messages.js';
import type { TaskStore } from '../store/tasks.js';
import type { WorkflowStore } from '../store/workflow-runs.js';

export interface AskRoutingDeps {
  routeCapability(capability: string, unseen?: ReadonlyMap<string, number>): Promise<Routing>;
  /** Turns an ask step's spec into what the store asks (schema and template resolved). */
  resolveAsk(
    spec: Record<string, unknown>,
  ): Promise<{ input: Parameters<AskStore['ask']>[0]; checking?: { schema: string; maxRepairs: number } }>;
}

/** An ask's spec resolved, its capability (if it names one) routed to a module first (`routed` is told how). */
export async function resolveAsk(
  deps: AskRoutingDeps,
  spec: Record<string, unknown>,
  routedNow: Map<string, number>,
  routed?: (routing: Routing) => void,
): ReturnType<AskRoutingDeps['resolveAsk']> {
  const { capability, ...rest } = spec;
  if (typeof capability !== 'string') return deps.resolveAsk(rest);
  // Asks routed in this transaction are not in the store's counts yet: they are counted here.
  const routing = await deps.routeCapability(capability, routedNow);
  routedNow.set(routing.chosen, (routedNow.get(routing.chosen) ?? 0) + 1);
  routed?.(routing);
  return deps.resolveAsk({ ...rest, to: routing.chosen });
}

/** An ask step's request, its module chosen (and the choice recorded on the step) when it names a capability. */
export async function routedAsk(
  deps: AskRoutingDeps & { store: WorkflowStore },
  tx: WriteTx,
  run: WorkflowRun,
  s: StepRun,
  spec: Record<string, unknown>,
  routedNow: Map<string, number>,
): ReturnType<AskRoutingDeps['resolveAsk']> {
  let routing: Routing | undefined;
  const resolved = await resolveAsk(deps, { ...spec, from: run.createdBy ?? 'workflows' }, routedNow, (r) => {
    routing = r;
  });
  if (routing) await deps.store.changeStep(tx, run.id, s, { detail: { ...(s.detail ?? {}), routing } }, run.createdBy);
  return resolved;
}

/** What a finished reply makes of the step or item that asked it, and what it cost. */
export type ReplyOutcome = { cost: number } & (
  | { ok: true; output: { value: unknown; content: string; messageId: string; threadId: string } }
  | { ok: false; error: string; reason: string }
);

/**
 * The outcome of reply `messageId`, asked at `startedAt` with a time limit of `timeoutMs`; undefined while it runs.
 * Timed out is told by the reply's own times (cancelled at the limit), so a holder that did not set it knows too.
 */
export async function replyOutcome(
  deps: { messages: MessageStore; tasks: TaskStore },
  tx: WriteTx,
  messageId: string,
  startedAt: string | null,
  timeoutMs: number | undefined,
): Promise<ReplyOutcome | undefined> {
  const reply = await deps.messages.get(messageId, tx);
  if (reply.status === 'unknown' || !isTerminal(reply.status)) return undefined;
  const cost = (await deps.tasks.forMessage(reply.id).catch(() => undefined))?.costUsd ?? 0;
  if (reply.status === 'complete')
    return {
      cost,
      ok: true,
      output: { value: reply.value ?? null, content: reply.content, messageId: reply.id, threadId: reply.threadId },
    };
  const timedOut =
    reply.status === 'cancelled' &&
    timeoutMs !== undefined &&
    Date.parse(reply.completedAt ?? '') - Date.parse(startedAt ?? '') >= timeoutMs - 5;
  if (timedOut) return { cost, ok: false, error: `timed out after ${timeoutMs} ms`, reason: 'timeout' };
  const cancelled = reply.status === 'cancelled';
  return {
    cost,
    ok: false,
    error: `the reply ${cancelled ? 'was cancelled' : 'failed'}: ${reply.error ?? reply.status}`,
    reason: cancelled ? 'cancelled' : 'agent_error',
  };
}
