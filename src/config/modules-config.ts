/**
 * Module definitions from `config.yaml` in the data home, checked with the module settings schema
 * (domain/module-settings.ts). A wrong key or type is reported with its path and line
 * (`config.yaml:7: modules.marker.concurency: unknown key`), never as a stack trace. An old name of a setting
 * (`maxTurns`) is read as its new one and warned of, with its line.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { HubError } from '../domain/errors.js';
import { BACKEND_KEYS, type ModuleSettings, moduleSettingsSchema } from '../domain/module-settings.js';
import { DEPRECATED_KEYS } from '../domain/settings-summary.js';
import { moduleNameProblem } from '../domain/validate.js';

// Module names are checked on the document itself (see `nameProblems`), where each has its line.
/** A program workflows may run by name (`command: { name }` steps): its fixed argv, where, and for how long. */
const commandSchema = z.strictObject({
  argv: z.array(z.string().min(1)).min(1).describe('the program and its arguments'),
  cwd: z.string().optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});

const configSchema = z.strictObject({
  modules: z.record(z.string(), moduleSettingsSchema).default({}),
  commands: z.record(z.string(), commandSchema).default({}),
});

/** The whole configuration: each module's settings, with defaults filled in and `cwd` absolute. */
export interface HubConfig {
  modules: Record<string, ModuleSettings>;
  /** Programs workflow `command` steps may run by name (`cwd` absolute). */
  commands: Record<string, { argv: string[]; cwd?: string; timeoutMs?: number }>;
  /**
   * What is read but should change, one line each with file and line (`config.yaml:9: modules.marker.maxTurns:
   * deprecated, read as maxIterations; rename it`).
   */
  warnings: string[];
}

/** Parses configuration text; `file` names it in errors and anchors relative paths. */
export function parseConfig(text: string, file: string): HubConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number | undefined) => (offset === undefined ? file : `${file}:${lines.linePos(offset).line}`);
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new HubError('validation', `${where(e?.pos[0])}: not valid YAML: ${e?.message.split('\n')[0]}`);
  }
  // An empty file (or one of comments only) is a mistake far more often than a wish to serve nothing, and
  // serving nothing marks every module of the config removed and fails its waiting replies: say so instead.
  if (doc.contents === null) {
    throw new HubError(
      'validation',
      `${file}: empty: it defines no modules (to serve none on purpose, write "modules: {}")`,
      { details: { file } },
    );
  }
  const problems = nameProblems(doc).map(({ offset, label, problem }) => `${where(offset)}: ${label}: ${problem}`);
  // A name problem first: `__proto__` would not even reach the schema (it sets the prototype, or is dropped).
  const result = problems.length ? undefined : configSchema.safeParse(doc.toJS() ?? {});
  for (const issue of result?.success === false ? result.error.issues : []) {
    const path = issue.path.map(String);
    // An unknown key is reported at the key itself; a missing one at its module's key; others at the value.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const missing = !keys.length && path.length > 1 && !doc.hasIn(path);
    const at = keys.length
      ? findKey(doc.getIn(path, true), keys[0] as string)
      : missing
        ? findKey(doc.getIn(path.slice(0, -2), true), path.at(-2) as string)
        : (doc.getIn(path, true) as { range?: [number, number] } | undefined)?.range?.[0];
    const label = [...path, ...(keys.length ? [keys.join(', ')] : [])].join('.') || '(top level)';
    const backend = path.length === 2 ? doc.getIn([...path, 'backend']) : undefined;
    // A missing key's message, from the schema, says what the key is for.
    const problem = keys.length ? unknownKeys(keys, backend) : issue.message;
    problems.push(`${where(at)}: ${label}: ${problem}`);
  }
  if (problems.length || !result?.success) {
    throw new HubError('validation', `invalid configuration:\n  ${problems.join('\n  ')}`, { details: { file } });
  }
  const base = resolve(file, '..');
  const modules: Record<string, ModuleSettings> = {};
  for (const [moduleName, m] of Object.entries(result.data.modules)) {
    const cwd = m.cwd.startsWith('~/') ? join(homedir(), m.cwd.slice(2)) : m.cwd;
    modules[moduleName] = { ...m, cwd: isAbsolute(cwd) ? cwd : resolve(base, cwd) };
  }
  const commands: HubConfig['commands'] = {};
  for (const [name, c] of Object.entries(result.data.commands)) {
    const cwd = c.cwd === undefined ? base : c.cwd.startsWith('~/') ? join(homedir(), c.cwd.slice(2)) : c.cwd;
    commands[name] = { ...c, cwd: isAbsolute(cwd) ? cwd : resolve(base, cwd) };
  }
  return { modules, commands, warnings: deprecations(doc, where) };
}

/** A warning for each old name of a setting (see DEPRECATED_KEYS), at its line. */
function deprecations(doc: ReturnType<typeof parseDocument>, where: (offset: number | undefined) => string): string[] {
  const warnings: string[] = [];
  const modules = doc.get('modules', true);
  for (const pair of isMap(modules) ? modules.items : []) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '?';
    for (const [old, current] of Object.entries(DEPRECATED_KEYS)) {
      const at = findKey(pair.value, old);
      if (at !== undefined) {
        warnings.push(`${where(at)}: modules.${name}.${old}: deprecated, read as ${current}; rename it to ${current}`);
      }
    }
  }
  return warnings;
}

/**
 * Keys the configuration cannot hold, each at its offset: `__proto__` anywhere, and module names the hub cannot
 * serve (see `moduleNameProblem`; `a/b` could not be routed by the API, `constructor` is every object's).
 */
function nameProblems(doc: ReturnType<typeof parseDocument>): { offset?: number; label: string; problem: string }[] {
  const found: { offset?: number; label: string; problem: string }[] = [];
  visit(doc, {
    Pair(_key, pair, ancestors) {
      if (isScalar(pair.key) && pair.key.value === '__proto__') {
        const label = [
          ...ancestors.filter(isPair).map((p) => (isScalar(p.key) ? String(p.key.value) : '?')),
          '__proto__',
        ];
        found.push({ offset: pair.key.range?.[0], label: label.join('.'), problem: 'is not allowed as a key' });
      }
    },
  });
  const modules = doc.get('modules', true);
  for (const pair of isMap(modules) ? modules.items : []) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key === '__proto__') continue;
    const problem = typeof key === 'string' ? moduleNameProblem(key) : 'must be a module name';
    if (problem) {
      const offset = (pair.key as { range?: [number, number] } | null)?.range?.[0];
      found.push({ offset, label: `modules.${String(key)}`, problem });
    }
  }
  return found;
}

/** Says so when the keys unknown to a module's backend are the other backend's (`model` on a command module). */
function unknownKeys(keys: string[], backend: unknown): string {
  for (const [other, known] of Object.entries(BACKEND_KEYS)) {
    if (typeof backend === 'string' && other !== backend && keys.every((k) => known.includes(k))) {
      return `unknown key for backend ${String(backend)} (a setting of backend ${other})`;
    }
  }
  return 'unknown key';
}

/** The offset of key `key` in a YAML map node, if it is there. */
function findKey(map: unknown, key: string): number | undefined {
  const items = (map as { items?: { key?: { value?: unknown; range?: [number, number] } }[] } | undefined)?.items;
  return items?.find((pair) => pair.key?.value === key)?.key?.range?.[0];
}

/** Reads `file` (`not_found` when it does not exist: that is not a configuration without modules). */
export function loadConfig(file: string): HubConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HubError('not_found', `configuration file ${file} does not exist`);
    }
    throw new HubError('unavailable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, file);
}
