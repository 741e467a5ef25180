/**
 * Reads the store makes that take more than one call or step: the Schemas page's lists and the versions of the
 * schema it shows, one reply read again (brought up to date with the events received meanwhile), and how a
 * cancelled task ended.
 */
import type { EventOf } from '../../src/domain/types.js';
import {
  type AgentControl,
  api,
  type EventPage,
  failure,
  type Message,
  type QueryTemplate,
  type SchemaSummary,
  type SchemaVersion,
} from './api';
import { applyToMessage, type LiveMessage, liveMessage } from './apply';
import type { Snapshots } from './snapshots';
import type { Cancellation, State } from './state';

/** The store's state as the loads below read and change it. */
export interface StateAccess {
  get(): State;
  set(patch: Partial<State>): void;
}

/** Loads the schemas and the query templates together (the page shows both). */
export async function loadExchange(store: StateAccess): Promise<void> {
  try {
    const [{ schemas }, { templates }] = await Promise.all([
      api<{ schemas: SchemaSummary[] }>('/schemas'),
      api<{ templates: QueryTemplate[] }>('/templates'),
    ]);
    store.set({ exchange: { schemas, templates, error: null } });
  } catch (err) {
    store.set({ exchange: { ...store.get().exchange, error: failure(err) } });
    throw err;
  }
}

/** Loads every version of the schema the page shows. */
export async function loadSchema(store: StateAccess): Promise<void> {
  const name = store.get().schema?.name;
  if (name === undefined) return;
  try {
    const { versions } = await api<{ versions: SchemaVersion[] }>(`/schemas/${encodeURIComponent(name)}`);
    if (store.get().schema?.name === name) store.set({ schema: { name, versions, error: null } });
  } catch (err) {
    const current = store.get().schema;
    if (current?.name === name) store.set({ schema: { ...current, error: failure(err) } });
    throw err;
  }
}

/** Reads message `id`, with the events that arrived while it was read applied. */
export function readMessage(snapshots: Snapshots, id: string): Promise<LiveMessage> {
  return snapshots.take(
    () => api<Message>(`/messages/${encodeURIComponent(id)}`).then(liveMessage),
    (m, e) => {
      const next = applyToMessage(m, e);
      return next === 'gap' ? undefined : next;
    },
  );
}

/**
 * Why and when a cancelled task ended: the newest status change of its reply and of the task itself (a reply
 * cancelled by request carries the reason; the task then records the worker's "cancelled" as its error).
 */
export async function readCancellation(view: AgentControl): Promise<Cancellation> {
  const newest = async (filter: string) => (await api<EventPage>(`/events?${filter}&last=1`)).events[0];
  const changes = await Promise.all([
    view.messageId ? newest(`messageId=${view.messageId}&types=message.status_changed`) : undefined,
    newest(`taskId=${encodeURIComponent(view.taskId)}&types=task.status_changed`),
  ]);
  const cancelled = changes.filter(
    (e): e is EventOf<'message.status_changed'> | EventOf<'task.status_changed'> =>
      (e?.type === 'message.status_changed' || e?.type === 'task.status_changed') && e.data.to === 'cancelled',
  );
  return {
    at: view.completedAt ?? cancelled[0]?.at ?? '',
    reason: cancelled.map((e) => e.data.reason).find(Boolean) ?? null,
    notes: cancelled.flatMap((e) => e.data.error || []),
  };
}
