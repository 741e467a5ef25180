/**
 * An ask step's request (or one item's), its module chosen by capability when it names one rather than a module:
 * the least loaded module that declares it (registry/routing.ts), counting the asks routed earlier in the same
 * transaction, which the store does not count until it commits; the choice is kept on the step.
 */
import type { Routing, StepRun, WorkflowRun } from '../domain/workflow-types.js';
import type { AskStore } from '../store/asks.js';
import type { WriteTx } from '../store/database.js';
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
