/**
 * Workflow definitions: a DAG of steps, from a YAML or JSON file or from the builder (builder.ts), checked when
 * loaded — against `workflow@1.0.0` (workflow-schema.ts; from a file, each error names the file, line and path),
 * then what a schema cannot say: ids unique, dependencies that exist, no cycle, template references only to
 * steps upstream, one kind per step, conditions (`when`, conditions.ts) that parse, `item` and `index` only in
 * `forEach` steps. Pure.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { HubError } from '../domain/errors.js';
import { assertDepth } from '../domain/validate.js';
import type { ValidationIssue } from '../domain/validation-issue.js';
import { canonicalJson } from '../exchange/canonical.js';
import { validateValue } from '../exchange/validator.js';
import { WORKFLOW_SCHEMA } from '../exchange/workflow-schema.js';
import { conditionReferences, parseCondition } from './conditions.js';
import { referencesIn } from './paths.js';

export const STEP_KINDS = ['ask', 'validate', 'convert', 'command', 'approve'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface RetryPolicy {
  attempts?: number;
  backoffMs?: number;
  factor?: number;
  notOn?: string[];
}

export interface AskSpec {
  /** The module asked; or `capability`, and the least busy module that declares it is. */
  to?: string;
  capability?: string;
  prompt?: string;
  schema?: string | Record<string, unknown>;
  template?: string;
  params?: Record<string, unknown>;
  maxRepairs?: number;
  maxCostUsd?: number;
  maxIterations?: number;
}
export interface ValidateSpec {
  schema: string | Record<string, unknown>;
  value: unknown;
}
export interface ConvertSpec {
  function: string;
  args?: Record<string, unknown>;
}
export interface CommandSpec {
  name?: string;
  run?: string[];
  input?: unknown;
  cwd?: string;
  /** Runs in this module's directory (its `cwd` in config.yaml). */
  module?: string;
}

/** A person or a module approves (or rejects) before the run goes on. */
export interface ApproveSpec {
  message?: string;
  timeoutMs?: number;
  /** Modules whose tokens may decide, besides unscoped callers; none: the module that started the run. */
  approvers?: string[];
}

/** A step run once per item of a list. */
export interface ForEachSpec {
  items: unknown;
  concurrency?: number;
  continueOnError?: boolean;
}

export interface StepDefinition {
  id: string;
  description?: string;
  after?: string[];
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** A condition (conditions.ts): the step is skipped when it does not hold. */
  when?: string;
  /** Runs even when a step it depends on was skipped (by default it is skipped too). */
  runIfSkipped?: boolean;
  forEach?: ForEachSpec;
  ask?: AskSpec;
  validate?: ValidateSpec;
  convert?: ConvertSpec;
  command?: CommandSpec;
  approve?: ApproveSpec;
}

export interface WorkflowDefinition {
  name: string;
  version?: string;
  description?: string;
  inputs?: Record<string, unknown>;
  output?: unknown;
  maxCostUsd?: number;
  concurrency?: number;
  steps: StepDefinition[];
}

/** The kind of a step (the one kind key it has). */
export function kindOf(step: StepDefinition): StepKind {
  return STEP_KINDS.find((k) => step[k] !== undefined) as StepKind;
}

/** sha256 of the definition's canonical JSON: a run keeps the definition, and this, it started with. */
export function definitionHash(definition: WorkflowDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** A definition's issues as one `validation` error, each line `where: message`. */
function refuse(source: string, lines: string[], issues?: ValidationIssue[]): HubError {
  return new HubError('validation', `workflow ${source} is not valid:\n${lines.map((l) => `- ${l}`).join('\n')}`, {
    details: issues ? { issues } : {},
  });
}

/**
 * Checks a definition (already parsed); `where(pointer)` names the place of a JSON pointer (`file:line` for a
 * file). Answers it, typed, or throws `validation` listing every problem.
 */
export function checkDefinition(
  raw: unknown,
  source = 'definition',
  where: (pointer: string) => string = (p) => p || '(root)',
): WorkflowDefinition {
  assertDepth(raw, `workflow ${source}`);
  const shape = validateValue(WORKFLOW_SCHEMA, raw, 'the workflow schema');
  if (!shape.valid) {
    const lines = shape.issues
      // The branch of `oneOf` each step failed says nothing a person can use: the count of kinds says it.
      .filter((i) => !(i.rule === 'required' && /\/steps\/\d+\/(ask|validate|convert|command|approve)$/.test(i.path)))
      // The same for an ask's `to` or `capability`: the line below says it.
      .filter(
        (i) => !/\/steps\/\d+\/ask(\/to|\/capability)?$/.test(i.path) || !['required', 'oneOf'].includes(i.rule ?? ''),
      )
      .map((i) => `${where(i.path)}: ${i.message.replace(/^the value/, i.path || 'the definition')}`);
    const kinds = Array.isArray((raw as { steps?: unknown })?.steps)
      ? ((raw as { steps: Record<string, unknown>[] }).steps ?? []).flatMap((s, i) => {
          const n = s && typeof s === 'object' ? STEP_KINDS.filter((k) => k in s).length : 0;
          const ask = s && typeof s === 'object' ? (s.ask as Record<string, unknown> | undefined) : undefined;
          const targets = ask && typeof ask === 'object' ? ['to', 'capability'].filter((k) => k in ask).length : 1;
          return [
            ...(n === 1
              ? []
              : [`${where(`/steps/${i}`)}: a step has exactly one of ${STEP_KINDS.join(', ')} (it has ${n})`]),
            ...(targets === 1
              ? []
              : [
                  `${where(`/steps/${i}/ask`)}: an ask step names either to (a module) or capability (it has ${targets ? 'both' : 'neither'})`,
                ]),
          ];
        })
      : [];
    throw refuse(source, [...new Set([...lines, ...kinds])], shape.issues);
  }
  const def = raw as WorkflowDefinition;
  const problems: string[] = [];
  const index = new Map<string, number>();
  def.steps.forEach((s, i) => {
    if (index.has(s.id)) problems.push(`${where(`/steps/${i}/id`)}: duplicate step id ${s.id}`);
    else index.set(s.id, i);
    if (s.command && !s.command.name === !s.command.run)
      problems.push(
        `${where(`/steps/${i}/command`)}: a command step has either name (declared in config.yaml) or run (argv)`,
      );
  });
  def.steps.forEach((s, i) => {
    for (const [j, dep] of (s.after ?? []).entries())
      if (!index.has(dep))
        problems.push(
          `${where(`/steps/${i}/after/${j}`)}: unknown step ${dep} (steps: ${[...index.keys()].join(', ')})`,
        );
      else if (dep === s.id) problems.push(`${where(`/steps/${i}/after/${j}`)}: step ${s.id} depends on itself`);
  });
  if (problems.length) throw refuse(source, problems);
  const cycle = findCycle(def);
  if (cycle)
    throw refuse(source, [`${where(`/steps/${index.get(cycle[0] as string)}/after`)}: a cycle: ${cycle.join(' → ')}`]);
  const upstream = ancestors(def);
  def.steps.forEach((s, i) => {
    const kind = kindOf(s);
    if (s.forEach && s.approve)
      problems.push(`${where(`/steps/${i}/forEach`)}: an approve step runs once; it cannot have forEach`);
    const parts: [string, () => { text: string; root: string; step?: string }[], boolean][] = [
      [kind, () => referencesIn(s[kind]), Boolean(s.forEach)],
      ['forEach', () => referencesIn(s.forEach?.items), false],
      // Parsed with item and index allowed, so that using them is refused below by name rather than as a typo.
      [
        'when',
        () => (s.when === undefined ? [] : conditionReferences(parseCondition(s.when, { itemRoots: true }))),
        false,
      ],
    ];
    for (const [part, read, items] of parts) {
      let refs: { text: string; root: string; step?: string }[];
      try {
        refs = read();
      } catch (err) {
        problems.push(`${where(`/steps/${i}/${part}`)}: ${(err as Error).message}`);
        continue;
      }
      for (const ref of refs) {
        if ((ref.root === 'item' || ref.root === 'index') && !items)
          problems.push(
            `${where(`/steps/${i}/${part}`)}: {{ ${ref.text} }}: ${ref.root} is known only ${
              s.forEach ? `in the ${kind} of a forEach step, not in its ${part}` : 'in a forEach step'
            }`,
          );
        if (ref.root !== 'steps') continue;
        if (!index.has(ref.step as string))
          problems.push(`${where(`/steps/${i}/${part}`)}: {{ ${ref.text} }} names no step`);
        else if (!upstream.get(s.id)?.has(ref.step as string))
          problems.push(
            `${where(`/steps/${i}/${part}`)}: {{ ${ref.text} }} uses step ${ref.step}, which is not upstream of ${s.id} (add it to after)`,
          );
      }
    }
  });
  try {
    for (const ref of referencesIn(def.output))
      if (ref.root === 'steps' && !index.has(ref.step as string))
        problems.push(`${where('/output')}: {{ ${ref.text} }} names no step`);
  } catch (err) {
    problems.push(`${where('/output')}: ${(err as Error).message}`);
  }
  if (def.inputs !== undefined) {
    try {
      validateValue(def.inputs, {}, 'inputs');
    } catch (err) {
      problems.push(`${where('/inputs')}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw refuse(source, problems);
  return def;
}

/** A cycle of step ids (first repeated at the end), or undefined. */
function findCycle(def: WorkflowDefinition): string[] | undefined {
  const deps = new Map(def.steps.map((s) => [s.id, s.after ?? []]));
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'open');
    path.push(id);
    for (const next of deps.get(id) ?? []) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of deps.keys())
    if (!state.has(id)) {
      const found = visit(id);
      if (found) return found.reverse();
    }
  return undefined;
}

/** Each step's upstream steps (every step it depends on, directly or not). */
export function ancestors(def: WorkflowDefinition): Map<string, Set<string>> {
  const deps = new Map(def.steps.map((s) => [s.id, s.after ?? []]));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const set = new Set<string>();
    memo.set(id, set);
    for (const d of deps.get(id) ?? []) {
      set.add(d);
      for (const a of of(d)) set.add(a);
    }
    return set;
  };
  for (const id of deps.keys()) of(id);
  return memo;
}

/** A definition from a YAML or JSON text, checked; errors name `file:line` and the path. */
export function parseDefinition(text: string, file = 'definition'): WorkflowDefinition {
  // The YAML parser is loaded when a definition is read as text: a hub that never does so does not hold it.
  const { LineCounter, parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0] as { message: string; pos: [number, number] };
    throw new HubError('validation', `${file}:${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  }
  const where = (pointer: string) => {
    const path = pointer
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
    // The deepest node that exists along the path: its line.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node?.range) return `${file}:${lines.linePos(node.range[0]).line}: ${pointer || '(root)'}`;
    }
    return `${file}: ${pointer || '(root)'}`;
  };
  return checkDefinition(doc.toJS(), file, where);
}
