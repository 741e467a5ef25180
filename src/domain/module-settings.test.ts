import { describe, expect, it } from 'vitest';
import { isHubError } from './errors.js';
import { moduleSettingsSchema, readModuleSettings } from './module-settings.js';
import { budgetDefaults, settingsSummary } from './settings-summary.js';

const claudeCode = {
  backend: 'claude-code',
  cwd: '/repo/marker',
  model: 'claude-sonnet-5',
  systemPrompt: 'You extract PDFs.',
  appendSystemPrompt: 'Be brief.',
  allowedTools: ['Read', 'Grep'],
  permissionMode: 'acceptEdits',
  maxIterations: 8,
  maxCostUsd: 0.5,
  executable: '/usr/local/bin/claude',
  timeoutMs: 600_000,
  idleTimeoutMs: 60_000,
  env: { ARANGO_URL: 'http://localhost:8529' },
  capabilities: ['pdf'],
  concurrency: 2,
  description: 'PDF extractor',
};
const command = { backend: 'command', cwd: '/repo/arangodb', command: 'node', args: ['agent.mjs'] };
const a2a = { backend: 'a2a', cwd: '/repo/remote', url: 'https://agents.example.com/', tokenEnv: 'REMOTE_TOKEN' };

/** The message `readModuleSettings` refuses `settings` with. */
function refusal(settings: Record<string, unknown>): string {
  try {
    readModuleSettings('marker', settings);
  } catch (err) {
    expect(isHubError(err, 'validation')).toBe(true);
    return (err as Error).message;
  }
  return 'accepted';
}

describe('module settings', () => {
  it('reads a claude-code module with every key of its backend', () => {
    expect(moduleSettingsSchema.parse(claudeCode)).toEqual(claudeCode);
  });

  it('reads a command module, filling in the defaults', () => {
    expect(readModuleSettings('arangodb', command)).toEqual({
      ...command,
      description: '',
      capabilities: [],
      concurrency: 1,
      env: {},
    });
    expect(readModuleSettings('arangodb', { ...command, args: undefined })).toMatchObject({ args: [] });
  });

  it.each([
    ["cwd: required (the module's repository)", { ...command, cwd: undefined }],
    ['cwd: Too small', { ...command, cwd: '' }],
    ['backend: required (claude-code, command, session or a2a)', { cwd: '/r' }],
    [
      'backend: Invalid option: expected one of "claude-code"|"command"|"session"|"a2a"',
      { ...command, backend: 'gpt' },
    ],
    ["command: a module with backend 'command' needs `command`", { ...command, command: undefined }],
    ['command: Too small', { ...command, command: '' }],
    ['command: must not contain NUL', { ...command, command: 'a\u0000b' }],
    ['command: Too big', { ...command, command: 'x'.repeat(4097) }],
    ['args.1: Invalid input: expected string', { ...command, args: ['ok', 3] }],
    ['args.0: must not contain NUL', { ...command, args: ['a\u0000'] }],
    ['concurrency: Too small', { ...command, concurrency: 0 }],
    ['concurrency: Invalid input: expected int', { ...command, concurrency: 2.5 }],
    ['concurrency: Too big', { ...command, concurrency: 65 }],
    ['capabilities: Invalid input: expected array', { ...command, capabilities: 'pdf' }],
    ['capabilities.0: Too small', { ...command, capabilities: [''] }],
    ['timeoutMs: Too small', { ...command, timeoutMs: 999 }],
    ['idleTimeoutMs: Invalid input: expected int', { ...command, idleTimeoutMs: 1500.5 }],
    ['timeoutMs: Too big', { ...command, timeoutMs: 2 ** 31 }],
    ['env.A: Invalid input: expected string', { ...command, env: { A: 1 } }],
    ['env.A=B: a name must be non-empty, without = or NUL', { ...command, env: { 'A=B': 'x' } }],
    ['env.A: must not contain NUL', { ...command, env: { A: 'x\u0000' } }],
    ['model: Too small', { ...claudeCode, model: '' }],
    ['permissionMode: Invalid option', { ...claudeCode, permissionMode: 'yolo' }],
    ['maxIterations: Too big', { ...command, maxIterations: 1_000_001 }],
    ['maxIterations: Too small', { ...command, maxIterations: 0 }],
    ['maxIterations: Invalid input: expected int', { ...command, maxIterations: 2.5 }],
    ['maxCostUsd: Too small', { ...command, maxCostUsd: -0.01 }],
    ['maxCostUsd: Too big', { ...command, maxCostUsd: 1e7 }],
    ['maxCostUsd: Invalid input: expected number', { ...command, maxCostUsd: '0.5' }],
    ['maxTurns: Too big', { ...claudeCode, maxIterations: undefined, maxTurns: 1_000_001 }],
    ['maxBudgetUsd: Too small', { ...claudeCode, maxCostUsd: undefined, maxBudgetUsd: -1 }],
    ['maxTurns: the old name of maxIterations: give only maxIterations', { ...claudeCode, maxTurns: 8 }],
    ['maxBudgetUsd: the old name of maxCostUsd: give only maxCostUsd', { ...claudeCode, maxBudgetUsd: 0.5 }],
    ['allowedTools.0: Too small', { ...claudeCode, allowedTools: [''] }],
    ['executable: Too small', { ...claudeCode, executable: '' }],
    ['systemPrompt: Invalid input: expected string', { ...claudeCode, systemPrompt: 3 }],
    ['description: Too big', { ...claudeCode, description: 'x'.repeat(4001) }],
    ["url: a module with backend 'a2a' needs `url` (the agent's card or base URL)", { ...a2a, url: undefined }],
    ['url: must be an http or https URL', { ...a2a, url: 'ftp://agents.example.com/' }],
    ['url: must be an http or https URL', { ...a2a, url: 'agents.example.com' }],
    ['tokenEnv: must be an environment variable name', { ...a2a, tokenEnv: 'A-B' }],
    ['tokenEnv: give the token either as `token` or as `tokenEnv`', { ...a2a, token: 'x' }],
    ['token: Too small', { ...a2a, tokenEnv: undefined, token: '' }],
    ['skill: Too small', { ...a2a, skill: '' }],
    ['idleTimeoutMs: Too small', { ...a2a, idleTimeoutMs: 10 }],
  ])('names %s', (problem, settings) => {
    expect(refusal(settings)).toContain(`module marker has invalid settings: ${problem}`);
  });

  it('reads a remote A2A agent’s module: its URL, token (or the variable holding it), skill and limits', () => {
    const remote = { ...a2a, skill: 'answer', timeoutMs: 60_000, idleTimeoutMs: 5_000 };
    expect(readModuleSettings('remote', remote)).toEqual({
      ...remote,
      description: '',
      capabilities: [],
      concurrency: 1,
    });
    // A program's settings are not a remote agent's.
    expect(moduleSettingsSchema.safeParse({ ...a2a, env: {} }).error?.issues).toMatchObject([
      { code: 'unrecognized_keys', keys: ['env'] },
    ]);
  });

  it('names every wrong key at once', () => {
    expect(refusal({ ...command, concurrency: 0, timeoutMs: 1 })).toMatch(/concurrency: .*; timeoutMs: /);
  });

  it('takes each backend’s own keys only in config.yaml, and passes over unknown stored keys', () => {
    const mixed = { ...command, model: 'claude-sonnet-5' };
    expect(moduleSettingsSchema.safeParse(mixed).error?.issues).toMatchObject([
      { code: 'unrecognized_keys', keys: ['model'] },
    ]);
    expect(moduleSettingsSchema.safeParse({ ...claudeCode, args: [] }).success).toBe(false);
    // Stored settings may carry the caller's own keys, or `args: []` on a claude-code module synced from config.yaml.
    expect(readModuleSettings('marker', { ...claudeCode, args: [], note: 'mine' })).toEqual(claudeCode);
  });

  it('reads the old names maxTurns and maxBudgetUsd as maxIterations and maxCostUsd', () => {
    const { maxIterations: _i, maxCostUsd: _c, ...rest } = claudeCode;
    const old = { ...rest, maxTurns: 8, maxBudgetUsd: 0.5 };
    expect(moduleSettingsSchema.parse(old)).toEqual(claudeCode);
    expect(readModuleSettings('marker', old)).toEqual(claudeCode);
    // Only claude-code modules ever had them.
    expect(moduleSettingsSchema.safeParse({ ...command, maxTurns: 8 }).error?.issues).toMatchObject([
      { code: 'unrecognized_keys', keys: ['maxTurns'] },
    ]);
  });

  it('takes a budget on a command module too', () => {
    expect(readModuleSettings('arangodb', { ...command, maxCostUsd: 0, maxIterations: 5 })).toMatchObject({
      maxCostUsd: 0,
      maxIterations: 5,
    });
  });

  it('reads a module’s default limits by the same rules as the schema, old names included', () => {
    expect(budgetDefaults(claudeCode)).toEqual({ maxCostUsd: 0.5, maxIterations: 8 });
    const old = { backend: 'claude-code', maxTurns: 3, maxBudgetUsd: 0.25 };
    expect(budgetDefaults(old)).toEqual({ maxCostUsd: 0.25, maxIterations: 3 });
    // Only claude-code modules had the old names (the schema passes them over on a stored command module).
    expect(budgetDefaults({ ...old, backend: 'command' })).toEqual({ maxCostUsd: null, maxIterations: null });
    expect(budgetDefaults({})).toEqual({ maxCostUsd: null, maxIterations: null });
    const values = [undefined, 0, 1, 0.5, 2.5, 1e6, 1e6 + 1, -1, '2', null, Number.NaN, Number.POSITIVE_INFINITY];
    for (const value of values) {
      const cost = moduleSettingsSchema.safeParse({ ...command, maxCostUsd: value });
      expect(budgetDefaults({ maxCostUsd: value }).maxCostUsd, `maxCostUsd ${value}`).toBe(
        cost.success ? ((cost.data as { maxCostUsd?: number }).maxCostUsd ?? null) : null,
      );
      const iterations = moduleSettingsSchema.safeParse({ ...command, maxIterations: value });
      expect(budgetDefaults({ maxIterations: value }).maxIterations, `maxIterations ${value}`).toBe(
        iterations.success ? ((iterations.data as { maxIterations?: number }).maxIterations ?? null) : null,
      );
    }
  });

  it('summarizes a module for its view by the same rules, whatever else is wrong', () => {
    expect(settingsSummary(claudeCode)).toEqual({ backend: 'claude-code', concurrency: 2, capabilities: ['pdf'] });
    expect(settingsSummary({})).toEqual({ backend: null, concurrency: 1, capabilities: [] });
    for (const concurrency of [0, 2.5, 65, '2']) {
      expect(settingsSummary({ backend: 'gpt', concurrency, capabilities: [3] })).toEqual({
        backend: 'gpt',
        concurrency: 1,
        capabilities: [],
      });
    }
    // The summary reads concurrency and capabilities as the schema does (it does so without loading it).
    const values = [undefined, 1, 2, 64, 65, 0, -1, 2.5, '2', null, 2 ** 53, Number.NaN];
    for (const concurrency of values) {
      const checked = moduleSettingsSchema.safeParse({ ...claudeCode, concurrency });
      expect(settingsSummary({ concurrency }).concurrency, String(concurrency)).toBe(
        checked.success ? checked.data.concurrency : 1,
      );
    }
    for (const capabilities of [undefined, [], ['pdf', 'graph'], [''], ['pdf', 3], 'pdf', null]) {
      const checked = moduleSettingsSchema.safeParse({ ...claudeCode, capabilities });
      expect(settingsSummary({ capabilities }).capabilities, JSON.stringify(capabilities)).toEqual(
        checked.success ? checked.data.capabilities : [],
      );
    }
  });
});
