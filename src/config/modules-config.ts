/**
 * Module definitions from `config.yaml` in the data home, validated with zod. A wrong key or type is reported
 * with its path and line (`config.yaml:7: modules.marker.concurency: unknown key`), never as a stack trace.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { HubError } from '../domain/errors.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a module name');

/** One module as the configuration describes it. */
const moduleSchema = z
  .strictObject({
    description: z.string().max(4000).default(''),
    /** The module's repository; `~` is expanded, relative paths are relative to the config file. */
    cwd: z.string().min(1),
    backend: z.enum(['claude-code', 'command']),
    capabilities: z.array(z.string().min(1)).default([]),
    /** How many questions it answers at once; more wait in order. */
    concurrency: z.int().min(1).max(64).default(1),
    // claude-code
    model: z.string().min(1).optional(),
    systemPrompt: z.string().optional(),
    appendSystemPrompt: z.string().optional(),
    allowedTools: z.array(z.string().min(1)).optional(),
    permissionMode: z.enum(['default', 'acceptEdits', 'bypassPermissions', 'plan', 'dontAsk']).optional(),
    maxTurns: z.int().min(1).max(1000).optional(),
    maxBudgetUsd: z.number().positive().optional(),
    /** Path of the `claude` executable (default: the one the Agent SDK ships). */
    executable: z.string().min(1).optional(),
    // command
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    // both
    timeoutMs: z.int().min(1000).max(2_147_483_647).optional(),
    idleTimeoutMs: z.int().min(1000).max(2_147_483_647).optional(),
    env: z.record(z.string(), z.string()).default({}),
  })
  .refine((m) => m.backend !== 'command' || m.command !== undefined, {
    message: "a module with backend 'command' needs `command`",
    path: ['command'],
  });

const configSchema = z.strictObject({
  modules: z.record(name, moduleSchema).default({}),
});

/** A module's definition, with defaults filled in and `cwd` absolute. */
export type ModuleConfig = z.infer<typeof moduleSchema>;

/** The whole configuration. */
export interface HubConfig {
  modules: Record<string, ModuleConfig>;
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
  const result = configSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String);
      // An unknown key is reported at the key itself; other problems at the value.
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const node = doc.getIn(keys.length ? [...path, keys[0]] : path, true) as { range?: [number, number] } | undefined;
      const keyNode = keys.length ? findKey(doc.getIn(path, true), keys[0] as string) : undefined;
      const at = where(keyNode ?? node?.range?.[0]);
      const label = [...path, ...(keys.length ? [keys.join(', ')] : [])].join('.') || '(top level)';
      const problem = keys.length
        ? 'unknown key'
        : issue.code === 'invalid_key'
          ? "is not a module name (letters, digits, '.', '_' or '-', at most 64)"
          : issue.message;
      return `${at}: ${label}: ${problem}`;
    });
    throw new HubError('validation', `invalid configuration:\n  ${problems.join('\n  ')}`, { details: { file } });
  }
  const base = resolve(file, '..');
  const modules: Record<string, ModuleConfig> = {};
  for (const [moduleName, m] of Object.entries(result.data.modules)) {
    const cwd = m.cwd.startsWith('~/') ? join(homedir(), m.cwd.slice(2)) : m.cwd;
    modules[moduleName] = { ...m, cwd: isAbsolute(cwd) ? cwd : resolve(base, cwd) };
  }
  return { modules };
}

/** The offset of key `key` in a YAML map node, if it is there. */
function findKey(map: unknown, key: string): number | undefined {
  const items = (map as { items?: { key?: { value?: unknown; range?: [number, number] } }[] } | undefined)?.items;
  return items?.find((pair) => pair.key?.value === key)?.key?.range?.[0];
}

/** Reads `file`; a missing file is an empty configuration (no modules). */
export function loadConfig(file: string): HubConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { modules: {} };
    throw new HubError('unavailable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, file);
}
