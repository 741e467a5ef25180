/**
 * What a watch of a reply says about the module that is to answer it: whether it is unhealthy (and why) or
 * paused, and what that means for the reply — it waits until the module is healthy or resumed. Said at once
 * when the watch starts, and again whenever that changes while it runs. `moduleNotice` is pure.
 */

import type { CommsClient, LiveFeed } from '../client/types.js';
import type { HubEvent, ModuleView } from '../domain/types.js';

/** The part of a module a watch reports on. */
export type ModuleCondition = Pick<ModuleView, 'name' | 'health' | 'healthError' | 'paused'>;

/** A module as it was before anything was said about it: nothing to say. */
function fine(name: string): ModuleCondition {
  return { name, health: 'healthy', healthError: null, paused: false };
}

const troubled = (m: ModuleCondition) => m.health === 'unhealthy' || m.paused;

/**
 * What to say when the module to answer a reply in `replyStatus` goes from `before` to `after`; undefined when
 * nothing worth saying changed (the watch starts from a module that is fine).
 */
export function moduleNotice(before: ModuleCondition, after: ModuleCondition, replyStatus: string): string | undefined {
  const { name } = after;
  if (!troubled(after)) {
    if (!troubled(before)) return undefined;
    const now = [before.health === 'unhealthy' ? 'healthy again' : '', before.paused ? 'resumed' : ''];
    return `module ${name} is ${now.filter(Boolean).join(' and ')}: the reply can be answered`;
  }
  if (before.health === after.health && before.healthError === after.healthError && before.paused === after.paused) {
    return undefined;
  }
  const states = [
    after.health === 'unhealthy' ? `unhealthy (${after.healthError ?? 'no reason given'})` : '',
    after.paused ? 'paused' : '',
  ].filter(Boolean);
  const until = [
    after.health === 'unhealthy' ? 'it is healthy again (the service checks it again by itself)' : '',
    after.paused ? `it is resumed (claude-comms modules resume ${name})` : '',
  ].filter(Boolean);
  const effect =
    replyStatus === 'processing'
      ? `the answer under way goes on; a reply waiting for it waits until ${until.join(' and ')}`
      : `the reply waits until ${until.join(' and ')}`;
  return `module ${name} is ${states.join(' and ')}: ${effect}`;
}

/** The module's condition after one of its events (`module.updated` carries `paused`, or `health` and `error`). */
export function applyModuleEvent(m: ModuleCondition, event: HubEvent): ModuleCondition {
  if (event.type !== 'module.updated') return m;
  const { paused, health, error } = event.data;
  return {
    ...m,
    ...(typeof paused === 'boolean' ? { paused } : {}),
    ...(health === 'healthy' || health === 'unhealthy'
      ? { health, healthError: health === 'unhealthy' && typeof error === 'string' ? error : null }
      : {}),
  };
}

/**
 * Follows module `name` for a watch: `report` hears what to say (with the module's condition) at once if it is
 * unhealthy or paused, and on every change that matters after. Subscribes before it reads the module, so no
 * change falls between; events the read already includes only set what it already says. Nothing is said of a
 * module that is not defined (the reply's author may be a person), or when it cannot be read.
 */
export async function followModule(
  client: CommsClient,
  name: string,
  replyStatus: () => string,
  report: (notice: string, condition: ModuleCondition) => void,
): Promise<LiveFeed | undefined> {
  let shown = fine(name);
  let current: ModuleCondition | undefined;
  const early: HubEvent[] = [];
  const update = (next: ModuleCondition) => {
    current = next;
    const notice = moduleNotice(shown, next, replyStatus());
    if (notice) report(notice, next);
    shown = next;
  };
  // What the module is doing is news for the watch, not its point: a watch goes on without it.
  const feed = await client
    .follow({ module: name, types: ['module.updated'] }, (event) => {
      if (current) update(applyModuleEvent(current, event));
      else early.push(event);
    })
    .catch(() => undefined);
  const module = feed && (await client.modules().catch(() => [])).find((m) => m.name === name);
  if (!module) {
    feed?.close();
    return undefined;
  }
  const { health, healthError, paused } = module;
  update(early.reduce(applyModuleEvent, { name, health, healthError, paused }));
  return feed;
}
