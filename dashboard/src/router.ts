/**
 * Hash routes: `#/` overview, `#/threads[/<id>]`, `#/tasks`, `#/tasks/<id>` (the agent control panel),
 * `#/instances`, `#/schemas[/<name>[/<version>]]` (the exchange schemas and query templates), `#/runs`,
 * `#/runs/<id>` (workflow runs), `#/search?q=<words>`. The service serves one page at `/`; the part after `#` never reaches it.
 */
import { useSyncExternalStore } from 'react';

export type Route =
  | { view: 'overview' }
  | { view: 'threads'; id?: string }
  | { view: 'tasks' }
  | { view: 'task'; id: string }
  | { view: 'instances' }
  | { view: 'runs' }
  | { view: 'run'; id: string }
  | { view: 'schemas'; name?: string; version?: string }
  | { view: 'search'; q: string }
  | { view: 'unknown'; path: string };

const ID = /^[0-9A-Za-z-]{1,64}$/;

const SEARCH = /^search\/?(?:\?(.*))?$/s;

/** A schema's name and version, as the registry allows them (src/domain/schema-ref.ts). */
const SCHEMA_NAME = /^[a-z][a-z0-9._-]{0,99}$/;
const SCHEMA_VERSION = /^\d{1,9}\.\d{1,9}\.\d{1,9}(?:-[0-9A-Za-z.-]{1,100})?$/;

function schemaRoute(path: string): Route {
  const [, name, version, ...rest] = path.split('/');
  if (rest.length || (name !== undefined && !SCHEMA_NAME.test(name))) return { view: 'unknown', path };
  if (version !== undefined && !SCHEMA_VERSION.test(version)) return { view: 'unknown', path };
  return { view: 'schemas', ...(name ? { name } : {}), ...(version ? { version } : {}) };
}

export function parseRoute(hash: string): Route {
  const searched = SEARCH.exec(hash.replace(/^#\/?/, ''));
  if (searched) return { view: 'search', q: new URLSearchParams(searched[1] ?? '').get('q') ?? '' };
  const path = hash.replace(/^#\/?/, '').replace(/\/+$/, '');
  if (path === 'schemas' || path.startsWith('schemas/')) return schemaRoute(path);
  const [section, id, ...rest] = path.split('/');
  if (rest.length || (id !== undefined && !ID.test(id))) return { view: 'unknown', path };
  switch (section) {
    case '':
    case undefined:
      return id === undefined ? { view: 'overview' } : { view: 'unknown', path };
    case 'threads':
      return id === undefined ? { view: 'threads' } : { view: 'threads', id };
    case 'tasks':
      return id === undefined ? { view: 'tasks' } : { view: 'task', id };
    case 'instances':
      return id === undefined ? { view: 'instances' } : { view: 'unknown', path };
    case 'runs':
      return id === undefined ? { view: 'runs' } : { view: 'run', id };
    default:
      return { view: 'unknown', path };
  }
}

const subscribe = (listener: () => void) => {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
};

/** The route of the page's address; the component renders again when it changes. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}

export const href = {
  overview: '#/',
  threads: '#/threads',
  thread: (id: string) => `#/threads/${id}`,
  tasks: '#/tasks',
  task: (id: string) => `#/tasks/${id}`,
  instances: '#/instances',
  runs: '#/runs',
  run: (id: string) => `#/runs/${id}`,
  schemas: '#/schemas',
  schema: (name: string, version?: string) =>
    `#/schemas/${encodeURIComponent(name)}${version ? `/${encodeURIComponent(version)}` : ''}`,
  search: (q: string) => `#/search?${new URLSearchParams({ q })}`,
};
