/** Workflows over the service's HTTP API, and on a hub opened in this process. */
import type { Status } from '../domain/status.js';
import type { WorkflowRun } from '../domain/workflow-types.js';
import type { Hub } from '../hub.js';
import type { StoredDefinition } from '../store/workflow-runs.js';

/** A definition as a front end holds it: YAML or JSON text, an object, or a saved name. */
export type DefinitionSource =
  | { yaml: string; file?: string }
  | { definition: Record<string, unknown> }
  | { workflow: string };

export interface WorkflowClient {
  define(source: { yaml: string; file?: string } | { definition: Record<string, unknown> }): Promise<StoredDefinition>;
  definitions(): Promise<StoredDefinition[]>;
  start(source: DefinitionSource, inputs?: Record<string, unknown>): Promise<WorkflowRun>;
  list(options?: { status?: Status; limit?: number }): Promise<WorkflowRun[]>;
  get(id: string): Promise<WorkflowRun>;
  control(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<WorkflowRun>;
  retry(id: string, step: string): Promise<WorkflowRun>;
  startFrom(id: string, step: string): Promise<WorkflowRun>;
  /** Approves or rejects a step waiting for an approval. */
  decide(id: string, step: string, decision: 'approve' | 'reject', note?: string): Promise<WorkflowRun>;
}

type Call = <T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Record<string, string | number | undefined>,
) => Promise<T>;
const at = (id: string) => `/runs/${encodeURIComponent(id)}`;

export function httpWorkflows(call: Call): WorkflowClient {
  return {
    define: (source) => call('POST', '/workflows', source),
    definitions: async () => (await call<{ workflows: StoredDefinition[] }>('GET', '/workflows')).workflows,
    start: (source, inputs = {}) => call('POST', '/runs', { ...source, inputs }),
    list: async (o = {}) =>
      (await call<{ runs: WorkflowRun[] }>('GET', '/runs', undefined, { status: o.status, limit: o.limit })).runs,
    get: (id) => call('GET', at(id)),
    control: (id, action) => call('POST', `${at(id)}/${action}`),
    retry: (id, step) => call('POST', `${at(id)}/steps/${encodeURIComponent(step)}/retry`),
    startFrom: (id, step) => call('POST', `${at(id)}/steps/${encodeURIComponent(step)}/start-from`),
    decide: (id, step, decision, note) =>
      call('POST', `${at(id)}/steps/${encodeURIComponent(step)}/${decision}`, note === undefined ? {} : { note }),
  };
}

/** The name of the file a definition's text came from, for its errors. */
function fileOf(source: DefinitionSource): { file?: string } {
  return 'yaml' in source && source.file ? { file: source.file } : {};
}

function given(source: DefinitionSource): string | Record<string, unknown> {
  return 'yaml' in source ? source.yaml : 'definition' in source ? source.definition : source.workflow;
}

export function directWorkflows(hub: Hub): WorkflowClient {
  return {
    define: (source) => hub.workflows.define(given(source) as never, {}, fileOf(source)),
    definitions: () => hub.workflows.definitions(),
    start: (source, inputs = {}) => hub.workflows.start(given(source) as never, inputs, {}, fileOf(source)),
    list: (o = {}) => hub.workflows.list(o),
    get: (id) => hub.workflows.get(id),
    control: (id, action) => hub.workflows[action](id),
    retry: (id, step) => hub.workflows.retry(id, step),
    startFrom: (id, step) => hub.workflows.startFrom(id, step),
    decide: (id, step, decision, note) => hub.workflows[decision](id, step, note === undefined ? {} : { note }),
  };
}
