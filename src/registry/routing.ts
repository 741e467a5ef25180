/**
 * Capability routing: the module that answers an ask addressed to a capability (a workflow step's `capability:`)
 * instead of to a module by name, and why each other module declaring it was passed over — the decision a run
 * shows as its step's `routing` detail.
 *
 * The rule, in order: a module must declare the capability (exact after trimming, see domain/capability.ts) and
 * be served — not removed from config.yaml, not paused, not unhealthy. Among those, the fewest busy instances
 * wins, then the fewest replies queued for it, then the first name in code-unit order, so that the same state
 * always routes the same way on either database.
 */
import {
  capabilityName,
  declaredCapabilities,
  declaresCapability,
  unknownCapabilityMessage,
} from '../domain/capability.js';
import { HubError } from '../domain/errors.js';
import { settingsSummary } from '../domain/settings-summary.js';
import type { Module } from '../domain/types.js';
import type { Routing } from '../domain/workflow-types.js';
import type { ModuleLoad, ModuleStore } from '../store/modules.js';

/** One module that declares the capability, its load when routed, and why it was not chosen. */
export interface RouteCandidate {
  module: string;
  busy: number;
  queued: number;
  chosen: boolean;
  /** Why it was not chosen (`paused`, `unhealthy: …`, `busier: 2 busy instances vs 0`, `more queued: 5 vs 1`…). */
  why?: string;
}

/** Which module a capability routes to, and every module that declares it (by name), each with its load. */
export type RouteDecision = Routing;

/** What routing reads: the modules and their load. */
export interface RoutingDeps {
  modules: Pick<ModuleStore, 'list' | 'load'>;
}

/**
 * Routes `capability` to the least loaded module that declares it and is served now. `validation` for a blank
 * capability; `not_found` when no module declares it (the message names the capabilities declared, with a "did
 * you mean"); `unavailable` when every module declaring it is removed, paused or unhealthy (the message names
 * each and why — it may clear, unlike a typo). Both errors carry `details` for programs.
 */
export async function routeCapability(
  deps: RoutingDeps,
  capability: string,
  /** Replies queued that the store does not show yet (asked in the transaction that routes), by module. */
  unseen: ReadonlyMap<string, number> = new Map(),
  /** Modules not to route to, each with why (the asker, a module waiting up the ask chain). */
  avoid: ReadonlyMap<string, string> = new Map(),
): Promise<RouteDecision> {
  const wanted = capabilityName(capability);
  const modules = await deps.modules.list();
  const declaring = modules.filter((m) => declaresCapability(settingsSummary(m.config).capabilities, wanted));
  if (!declaring.length) {
    const declared = declaredCapabilities(modules.map((m) => settingsSummary(m.config).capabilities));
    throw new HubError('not_found', unknownCapabilityMessage(wanted, declared), {
      details: { capability: wanted, declared },
    });
  }
  const loads = await deps.modules.load(declaring.map((m) => m.name));
  return chooseModule(
    wanted,
    declaring,
    loads.map((l) => ({ ...l, queued: l.queued + (unseen.get(l.module) ?? 0) })),
    avoid,
  );
}

/**
 * The routing decision among `declaring` (the modules that declare `capability`) given their `loads`; throws
 * `unavailable` when none is served. Pure: see `routeCapability` for the rule.
 */
export function chooseModule(
  capability: string,
  declaring: readonly Module[],
  loads: readonly ModuleLoad[],
  avoid: ReadonlyMap<string, string> = new Map(),
): RouteDecision {
  const rows = [...declaring]
    .sort((a, b) => byName(a.name, b.name))
    .map((m) => {
      const load = loads.find((l) => l.module === m.name);
      const excluded = exclusion(m) ?? avoid.get(m.name);
      return { module: m.name, busy: load?.busy ?? 0, queued: load?.queued ?? 0, excluded };
    });
  const chosen = rows
    .filter((r) => r.excluded === undefined)
    .sort((a, b) => a.busy - b.busy || a.queued - b.queued || byName(a.module, b.module))[0];
  const considered = rows.map(({ module, busy, queued, excluded }): RouteCandidate => {
    const why = excluded ?? (chosen && module !== chosen.module ? passedOver({ busy, queued }, chosen) : undefined);
    return { module, busy, queued, chosen: module === chosen?.module, ...(why ? { why } : {}) };
  });
  if (!chosen) {
    const each = considered.map((c) => `${c.module} is ${c.why}`).join('; ');
    throw new HubError('unavailable', `no module can take the capability "${capability}" now: ${each}`, {
      details: { capability, considered },
    });
  }
  return { capability, chosen: chosen.module, considered };
}

/** Why a module cannot be routed to now, or undefined when it can. */
function exclusion(m: Module): string | undefined {
  const why = [
    ...(m.removedAt ? [`removed from config.yaml on ${m.removedAt}`] : []),
    ...(m.paused ? ['paused'] : []),
    ...(m.health === 'unhealthy' ? [`unhealthy: ${m.healthError ?? 'its backend keeps failing'}`] : []),
  ];
  return why.length ? why.join(' and ') : undefined;
}

/** Why a served module lost to `chosen`: its load, compared on the first count that decided. */
function passedOver(load: { busy: number; queued: number }, chosen: { module: string; busy: number; queued: number }) {
  if (load.busy > chosen.busy) {
    return `busier: ${load.busy} busy instance${load.busy === 1 ? '' : 's'} vs ${chosen.busy}`;
  }
  if (load.queued > chosen.queued) return `more queued: ${load.queued} vs ${chosen.queued}`;
  return `as loaded as ${chosen.module}, which comes first by name`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
