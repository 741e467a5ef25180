/** The exchange registry over the service's HTTP API, and on a hub opened in this process. */
import type { Hub } from '../hub.js';
import type { PublishSchemaInput } from '../registry/schema-registry.js';
import type { PublishTemplateInput } from '../registry/template-registry.js';
import type { ExchangeClient } from './types.js';

type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** `name@version` as the API's path: `/name/version`, or `/name/latest`. */
function refPath(ref: string): string {
  const at = ref.lastIndexOf('@');
  const [name, version] = at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
  return `/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;
}

export function httpExchange(call: Call): ExchangeClient {
  return {
    listSchemas: async () =>
      (await call<{ schemas: Awaited<ReturnType<ExchangeClient['listSchemas']>> }>('GET', '/schemas')).schemas,
    schemaVersions: async (name) =>
      (
        await call<{ versions: Awaited<ReturnType<ExchangeClient['schemaVersions']>> }>(
          'GET',
          `/schemas/${encodeURIComponent(name)}`,
        )
      ).versions,
    schema: (ref) => call('GET', `/schemas${refPath(ref)}`),
    publishSchema: (input: PublishSchemaInput) => call('POST', '/schemas', input),
    checkSchema: (input: PublishSchemaInput) => call('POST', '/schemas/check', input),
    listTemplates: async () =>
      (await call<{ templates: Awaited<ReturnType<ExchangeClient['listTemplates']>> }>('GET', '/templates')).templates,
    template: (ref) => call('GET', `/templates${refPath(ref)}`),
    publishTemplate: (input: PublishTemplateInput) => call('POST', '/templates', input),
  };
}

export function directExchange(hub: Hub): ExchangeClient {
  return {
    listSchemas: () => hub.schemas.list(),
    schemaVersions: (name) => hub.schemas.versions(name),
    schema: (ref) => hub.schemas.get(ref),
    publishSchema: (input) => hub.schemas.publish(input),
    checkSchema: (input) => hub.schemas.check(input),
    listTemplates: () => hub.templates.list(),
    template: (ref) => hub.templates.get(ref),
    publishTemplate: async (input) => (await hub.templates.publish(input)).template,
  };
}
