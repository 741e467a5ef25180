/**
 * The scope rule (store/visibility.ts) at the API: a token scoped to a module reads only what that module may
 * see and changes only what it may change.
 *
 * - A list holds only visible rows (the module list excepted: every token sees every module).
 * - A single record the token may not see answers `not_found`, word for word as if it did not exist, so a
 *   scoped token cannot probe which ids exist. A write naming one (posting into another module's thread,
 *   watching it, attaching a task to it) answers the same.
 * - A record it may see but not change (a task of another module in a thread it asked in) answers `forbidden`.
 */
import type { Context } from 'hono';
import { HubError } from '../domain/errors.js';
import type { Hub } from '../hub.js';
import type { Principal } from './auth.js';

type Ctx = Context<{ Variables: { principal: Principal } }>;

/** `{ visibleTo }` for a scoped request, `{}` otherwise: spread it into a list's options. */
export function visible(c: Ctx): { visibleTo?: string } {
  const module = c.get('principal').module;
  return module === null ? {} : { visibleTo: module };
}

const checks = {
  thread: (hub: Hub, module: string, id: string) => hub.visibility.thread(module, id),
  message: (hub: Hub, module: string, id: string) => hub.visibility.message(module, id),
  task: (hub: Hub, module: string, id: string) => hub.visibility.task(module, id),
};

/** Throws `not_found` (as for an unknown id) unless the request may see the record. */
export async function assertVisible(hub: Hub, c: Ctx, kind: keyof typeof checks, id: string): Promise<void> {
  const module = c.get('principal').module;
  if (module !== null && !(await checks[kind](hub, module, id))) {
    throw new HubError('not_found', `no ${kind} with id ${id}`);
  }
}

/** Throws `not_found` (as for an unknown id) unless the request may see an instance of `module`. */
export function assertOwnInstance(c: Ctx, instance: { id: string; module: string }): void {
  const scope = c.get('principal').module;
  if (scope !== null && scope !== instance.module)
    throw new HubError('not_found', `no instance with id ${instance.id}`);
}
