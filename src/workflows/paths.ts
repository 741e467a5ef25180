/**
 * The path language of workflow templates: `{{ inputs.pdf }}`, `{{ steps.requirements.value.fields[0] }}` — a
 * root (`inputs` or `steps`; in a `forEach` step also `item`, the item it runs for, and `index`, its place in the
 * list from 0), then names after dots and whole numbers in brackets. Nothing else: no expressions,
 * no calls, never `eval`. A string that is exactly one `{{ … }}` stands for the value itself (an object stays an
 * object); `{{ … }}` inside other text is replaced by the value as text (JSON for what is not a string). Pure.
 */
import { HubError } from '../domain/errors.js';

/** One step of a path: a property name or an array index. */
export type Segment = string | number;

export interface Reference {
  /** The text between the braces, trimmed. */
  text: string;
  root: 'inputs' | 'steps' | 'item' | 'index';
  /** For `steps`: the step it names. */
  step?: string;
  /** The segments after the root (after the step id for `steps`). */
  path: Segment[];
}

// No two parts can match the same text, so a long run of blanks after `{{` cannot make matching backtrack.
const PLACE = /\{\{([^{}]*)\}\}/g;
const WHOLE = /^\{\{([^{}]*)\}\}$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The segments of `text` (`steps.a.b[2]` → ['steps', 'a', 'b', 2]), or a `validation` error saying why not. */
export function parsePath(text: string): Reference {
  const segments: Segment[] = [];
  let rest = text;
  const fail = (why: string) =>
    new HubError(
      'validation',
      `{{ ${text} }}: ${why} (a path is names after dots and whole-number indexes, like steps.extract.output.pages[0])`,
    );
  while (rest.length) {
    const name = /^([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    const index = /^\[(\d{1,9})\]/.exec(rest);
    if (segments.length && rest.startsWith('.')) {
      rest = rest.slice(1);
      const next = /^([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
      if (!next) throw fail(`expected a name after "."`);
      segments.push(next[1] as string);
      rest = rest.slice((next[1] as string).length);
    } else if (index && segments.length) {
      segments.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else if (name && !segments.length) {
      segments.push(name[1] as string);
      rest = rest.slice((name[1] as string).length);
    } else throw fail(`unexpected ${JSON.stringify(rest.slice(0, 10))}`);
  }
  const [root, ...path] = segments;
  if (root === 'inputs' || root === 'item') return { text, root, path };
  if (root === 'index') {
    if (path.length) throw fail('index is a number: nothing follows it');
    return { text, root, path };
  }
  if (root === 'steps') {
    const [step, ...inner] = path;
    if (typeof step !== 'string' || !NAME.test(step)) throw fail('steps. is followed by a step id');
    return { text, root, step, path: inner };
  }
  throw fail(`a path starts with inputs, steps, item or index, not ${JSON.stringify(root ?? '')}`);
}

/** Every reference in a value's strings, anywhere inside it. */
export function referencesIn(value: unknown): Reference[] {
  const found: Reference[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') for (const m of v.matchAll(PLACE)) found.push(parsePath((m[1] as string).trim()));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}

/** What references are resolved against: the run's inputs and each finished step's output. */
export interface Scope {
  inputs: Record<string, unknown>;
  steps: Record<string, unknown>;
  /** In a `forEach` step: the item it runs for, and its index. */
  item?: unknown;
  index?: number;
  /** Steps skipped: what names one says so; in a run's output, it stands for null (`skippedAsNull`). */
  skipped?: ReadonlySet<string>;
  skippedAsNull?: boolean;
}

function lookup(ref: Reference, scope: Scope): unknown {
  let at: unknown;
  let where: string;
  if (ref.root === 'inputs') {
    at = scope.inputs;
    where = 'inputs';
  } else if (ref.root === 'item' || ref.root === 'index') {
    if (scope.index === undefined)
      throw new HubError('validation', `{{ ${ref.text} }}: ${ref.root} is known only in a forEach step`);
    at = ref.root === 'item' ? scope.item : scope.index;
    where = ref.root;
  } else {
    if (!Object.hasOwn(scope.steps, ref.step as string)) {
      if (scope.skipped?.has(ref.step as string)) {
        if (scope.skippedAsNull) return null;
        throw new HubError(
          'validation',
          `{{ ${ref.text} }}: step ${ref.step} was skipped, so it has no output (a condition can test exists steps.${ref.step})`,
        );
      }
      throw new HubError('validation', `{{ ${ref.text} }}: step ${ref.step} has no output (it has not finished)`);
    }
    at = scope.steps[ref.step as string];
    where = `steps.${ref.step}`;
  }
  for (const seg of ref.path) {
    const next =
      typeof seg === 'number'
        ? Array.isArray(at) && seg < at.length
          ? at[seg]
          : undefined
        : at !== null && typeof at === 'object' && !Array.isArray(at) && Object.hasOwn(at, seg)
          ? (at as Record<string, unknown>)[seg]
          : undefined;
    if (next === undefined) {
      const what = typeof seg === 'number' ? `index ${seg}` : `"${seg}"`;
      const has =
        at !== null && typeof at === 'object'
          ? Array.isArray(at)
            ? `it is a list of ${at.length}`
            : `it has ${Object.keys(at).slice(0, 12).join(', ') || 'nothing'}`
          : `it is ${JSON.stringify(at)?.slice(0, 40)}`;
      throw new HubError('validation', `{{ ${ref.text} }}: ${where} has no ${what} (${has})`);
    }
    at = next;
    where += typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
  }
  return at;
}

/** `value` with every `{{ … }}` resolved; a reference to nothing is a `validation` error naming it. */
export function resolveTemplates<T>(value: T, scope: Scope): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) return lookup(parsePath((whole[1] as string).trim()), scope);
      return v.replace(PLACE, (_m, text: string) => {
        const found = lookup(parsePath(text.trim()), scope);
        return typeof found === 'string' ? found : JSON.stringify(found);
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
