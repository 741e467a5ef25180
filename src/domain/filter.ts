/** Pure matching of events against a subscriber's filter, shared by live dispatch and tests. */
import { HubError } from './errors.js';
import { EVENT_TYPES, type EventFilter, type HubEvent } from './types.js';

const FAMILIES = new Set(EVENT_TYPES.map((t) => `${t.slice(0, t.indexOf('.'))}.*`));

/** Throws `validation` for a type that no event has, so a typo does not silently match nothing. */
export function assertFilter(filter: EventFilter): void {
  for (const t of filter.types ?? []) {
    if (!(EVENT_TYPES as readonly string[]).includes(t) && !FAMILIES.has(t)) {
      throw new HubError(
        'validation',
        `unknown event type '${t}'; expected one of ${EVENT_TYPES.join(', ')} or a family such as message.*`,
      );
    }
  }
}

/** The exact event types a filter's `types` stands for (families expanded); undefined means all. */
export function expandTypes(types: readonly string[] | undefined): string[] | undefined {
  if (!types || types.length === 0) return undefined;
  return EVENT_TYPES.filter((t) =>
    types.some((want) => want === t || (want.endsWith('.*') && t.startsWith(want.slice(0, -1)))),
  );
}

/** True when `event` passes every field of `filter`. */
export function matchesFilter(event: HubEvent, filter: EventFilter, types?: readonly string[]): boolean {
  if (filter.threadId !== undefined && event.threadId !== filter.threadId) return false;
  if (filter.messageId !== undefined && event.messageId !== filter.messageId) return false;
  if (filter.taskId !== undefined && event.taskId !== filter.taskId) return false;
  if (filter.module !== undefined && event.module !== filter.module) return false;
  if (types !== undefined && !types.includes(event.type)) return false;
  return true;
}
