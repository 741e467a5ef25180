/**
 * A module's settings — the keys of a module in config.yaml, and what `modules.register` stores as `config` — in one
 * schema: config.yaml is checked with it (with file and line, see config/modules-config.ts), the worker reads the
 * stored settings with it once (runtime/backends.ts) and hands each backend its typed settings, and the module view
 * and the instance limit read their keys by its rules. Limits a backend needs to start a program at all (no NUL in a
 * command, an argument or the environment; environment names without `=`) are here too, so they are named up front.
 */
import { z } from 'zod';
import { MAX_COST_LIMIT_USD, MAX_ITERATIONS_LIMIT } from './budget.js';
import { HubError } from './errors.js';
import { DEPRECATED_KEYS, MAX_CONCURRENCY } from './settings-summary.js';
import { MAX_TIMER_MS } from './validate.js';

/** A string schema whose message, when the key is missing, says what it is for. */
function required(missing: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? missing : undefined) });
}

/** The strings a program is started with (command, arguments, environment): spawn refuses a NUL in any of them. */
const programText = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters (\\u0000)');

/** A run's limits and environment, which both backends take. */
const runShape = {
  /**
   * The default cost limit of the module's tasks, in dollars per run (an ask may give its own): a run past it is
   * stopped and fails with `budget_exceeded` (see domain/budget.ts).
   */
  maxCostUsd: z.number().min(0).max(MAX_COST_LIMIT_USD).optional(),
  /** The default iteration (turn) limit of the module's tasks, likewise. */
  maxIterations: z.int().min(1).max(MAX_ITERATIONS_LIMIT).optional(),
  /** Ends the run after this long, whatever the agent is doing. */
  timeoutMs: z.int().min(1000).max(MAX_TIMER_MS).optional(),
  /** Ends the run when the agent writes nothing for this long (claude-code default: 10 minutes). */
  idleTimeoutMs: z.int().min(1000).max(MAX_TIMER_MS).optional(),
  /** Extra environment, over the hub's and under the request's. */
  env: z
    .record(
      z.string().refine((name) => name !== '' && !name.includes('=') && !name.includes('\u0000')),
      programText(),
      {
        error: (issue) => (issue.code === 'invalid_key' ? 'a name must be non-empty, without = or NUL' : undefined),
      },
    )
    .default({}),
};

/** What the claude-code backend takes. */
const claudeCodeShape = {
  ...runShape,
  /** Path of the `claude` executable (default: the one the Agent SDK ships). */
  executable: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  /** Replaces Claude Code's own system prompt (the hub's module prompt is still appended). */
  systemPrompt: z.string().optional(),
  appendSystemPrompt: z.string().optional(),
  allowedTools: z.array(z.string().min(1)).optional(),
  permissionMode: z.enum(['default', 'acceptEdits', 'bypassPermissions', 'plan', 'dontAsk']).optional(),
  /** False: the agent is not given the hub's MCP tools (ask another module, report progress); default true. */
  hubTools: z.boolean().optional(),
  /** The old name of `maxIterations` (see DEPRECATED_KEYS). */
  maxTurns: z.int().min(1).max(MAX_ITERATIONS_LIMIT).optional(),
  /** The old name of `maxCostUsd` (see DEPRECATED_KEYS). */
  maxBudgetUsd: z.number().min(0).max(MAX_COST_LIMIT_USD).optional(),
};

/** What the command backend takes. */
const commandShape = {
  ...runShape,
  /** The program, looked up on PATH; it is run without a shell. */
  command: required("a module with backend 'command' needs `command`")
    .min(1)
    .max(4096)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters (\\u0000)'),
  /** Its arguments. */
  args: z.array(programText()).max(10_000).default([]),
};

/**
 * What an interactive module takes: no program of its own — its questions wait in its inbox for the module's own
 * interactive session to answer them with the MCP tool `answer` (see store/inbox.ts).
 */
const sessionShape = {
  /** How long a question waits in the inbox before it fails with `timeout` (default 30 minutes). */
  timeoutMs: z.int().min(1000).max(MAX_TIMER_MS).optional(),
};

/** An http(s) URL, as the A2A backend fetches it. */
function isHttpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * What a remote agent reached over A2A takes (agents/a2a-backend.ts): where its card is, how to authenticate and
 * which of its skills to ask. A bearer token is given as it is (`token`) or, so that config.yaml holds no secret,
 * by the name of the worker's environment variable that holds it (`tokenEnv`), read at each run.
 */
const a2aShape = {
  /** The agent's card (a URL ending in `.json`) or its base URL (its card at `.well-known/agent-card.json` there). */
  url: required("a module with backend 'a2a' needs `url` (the agent's card or base URL)")
    .max(4096)
    .refine(isHttpUrl, 'must be an http or https URL'),
  /** A bearer token sent with every request to the agent. */
  token: z.string().min(1).max(16_384).optional(),
  /** The name of the environment variable holding the bearer token (instead of `token`). */
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** The id of the agent's skill asked (sent as the message's `metadata.skill`; checked against its card). */
  skill: z.string().min(1).max(256).optional(),
  /** Ends the run (and cancels the remote task) after this long. */
  timeoutMs: runShape.timeoutMs,
  /** Ends the run when the agent sends nothing for this long (default: 10 minutes). */
  idleTimeoutMs: runShape.idleTimeoutMs,
};

/** What every module has, whatever its backend. */
const moduleShape = {
  description: z.string().max(4000).default(''),
  /** The module's repository; in config.yaml `~` is expanded and relative paths are relative to the file. */
  cwd: required("required (the module's repository)").min(1),
  capabilities: z.array(z.string().min(1)).default([]),
  /** How many questions it answers at once; more wait in order. */
  concurrency: z.int().min(1).max(MAX_CONCURRENCY).default(1),
};

/** The backends, by the keys only they take (a key of the other backend is named as such in config.yaml). */
export const BACKEND_KEYS: Record<'claude-code' | 'command' | 'session' | 'a2a', string[]> = {
  'claude-code': Object.keys(claudeCodeShape).filter((k) => !(k in runShape)),
  command: Object.keys(commandShape).filter((k) => !(k in runShape)),
  session: [],
  a2a: Object.keys(a2aShape).filter((k) => !(k in runShape)),
};

/** `backend` missing or not one of the backends: said as config.yaml's reader has always said it. */
const backendError = {
  error: (issue: { code?: string; input?: unknown }) =>
    issue.code !== 'invalid_union'
      ? undefined
      : typeof issue.input === 'object' && issue.input !== null && !('backend' in issue.input)
        ? 'required (claude-code, command, session or a2a)'
        : 'Invalid option: expected one of "claude-code"|"command"|"session"|"a2a"',
};

const claudeCodeModule = { ...moduleShape, backend: z.literal('claude-code'), ...claudeCodeShape };
const commandModule = { ...moduleShape, backend: z.literal('command'), ...commandShape };
const sessionModule = { ...moduleShape, backend: z.literal('session'), ...sessionShape };
const a2aModule = { ...moduleShape, backend: z.literal('a2a'), ...a2aShape };

/** One way of giving the A2A token: `token` and `tokenEnv` together are refused, naming both. */
function oneToken(settings: { token?: string; tokenEnv?: string }, ctx: z.RefinementCtx) {
  if (settings.token !== undefined && settings.tokenEnv !== undefined)
    ctx.addIssue({ code: 'custom', path: ['tokenEnv'], message: 'give the token either as `token` or as `tokenEnv`' });
}

/** Settings without the old names of keys. */
type Renamed<T> = T extends unknown ? Omit<T, keyof typeof DEPRECATED_KEYS> : never;

/**
 * Reads each old name (`maxTurns`) as its new one (`maxIterations`): one setting, whichever name it is given by,
 * and the code past this point knows only the new name. Giving both is refused, naming the old one.
 */
function currentNames<T extends object>(settings: T, ctx: z.RefinementCtx<T>): Renamed<T> {
  const out: Record<string, unknown> = { ...(settings as Record<string, unknown>) };
  for (const [old, current] of Object.entries(DEPRECATED_KEYS)) {
    if (out[old] !== undefined) {
      if (out[current] === undefined) out[current] = out[old];
      else
        ctx.addIssue({
          code: 'custom',
          path: [old],
          message: `the old name of ${current}: give only ${current}`,
        });
    }
    delete out[old];
  }
  return out as Renamed<T>;
}

/** A module's settings as config.yaml must give them: every key known, each with its backend. */
export const moduleSettingsSchema = z
  .discriminatedUnion(
    'backend',
    [
      z.strictObject(claudeCodeModule),
      z.strictObject(commandModule),
      z.strictObject(sessionModule),
      z.strictObject(a2aModule).superRefine(oneToken),
    ],
    backendError,
  )
  .transform(currentNames);

/**
 * The same settings as a module stored them. Keys the schema does not know are passed over, as they always were:
 * settings registered through the library may carry the caller's own, and a claude-code module synced from an
 * older config.yaml reader holds `args: []`.
 */
const storedSettingsSchema = z
  .discriminatedUnion(
    'backend',
    [
      z.object(claudeCodeModule),
      z.object(commandModule),
      z.object(sessionModule),
      z.object(a2aModule).superRefine(oneToken),
    ],
    backendError,
  )
  .transform(currentNames);

/** A module's settings, with defaults filled in. */
export type ModuleSettings = z.output<typeof moduleSettingsSchema>;

/** What the claude-code backend takes (defaults may be left out; the old names are read as the new ones). */
export type ClaudeCodeSettings = Renamed<z.input<z.ZodObject<typeof claudeCodeShape>>>;

/** What the command backend takes (defaults may be left out). */
export type CommandSettings = z.input<z.ZodObject<typeof commandShape>>;

/** What the A2A backend takes. */
export type A2aSettings = z.input<z.ZodObject<typeof a2aShape>>;

/**
 * A module's stored settings, checked; `validation` naming each key that is wrong
 * (`module marker has invalid settings: concurrency: Too big: expected number to be <=64`).
 */
export function readModuleSettings(module: string, settings: Record<string, unknown>): ModuleSettings {
  const result = storedSettingsSchema.safeParse(settings);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(settings)'}: ${issue.message}`,
  );
  throw new HubError('validation', `module ${module} has invalid settings: ${problems.join('; ')}`);
}
