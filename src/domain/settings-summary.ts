/**
 * What the module view and the instance limit read of a module's settings: its backend, concurrency and
 * capabilities, each by the same rule as the settings schema (module-settings.ts), without loading that schema —
 * every hub reads these, while the schema (and zod, about 10 MB) is needed only where settings are checked.
 * src/domain/module-settings.test.ts checks that both rules agree.
 */

import { MAX_COST_LIMIT_USD, MAX_ITERATIONS_LIMIT } from './budget.js';

/** What the module view shows of a module's settings. */
export interface SettingsSummary {
  /** As registered, so a wrong one is seen for what it is (its health error names it). */
  backend: string | null;
  concurrency: number;
  capabilities: string[];
}

/**
 * Old names of settings, each with the name that replaced it. Claude Code modules had `maxTurns` and
 * `maxBudgetUsd`; both backends now take `maxIterations` and `maxCostUsd`, the names of a task's limits. The old
 * names are read as the new ones, and config.yaml's reader warns of them (config/modules-config.ts).
 */
export const DEPRECATED_KEYS = { maxTurns: 'maxIterations', maxBudgetUsd: 'maxCostUsd' } as const;

/** The most answers a module may give at once (the schema's `concurrency` limit). */
export const MAX_CONCURRENCY = 64;

/**
 * The keys the module view and the instance limit read, each by its rule even when other keys are wrong; a value
 * the rule refuses reads as the default (such a module is not served: its health error names the key).
 */
export function settingsSummary(settings: Record<string, unknown>): SettingsSummary {
  const { backend, concurrency, capabilities } = settings;
  return {
    backend: typeof backend === 'string' ? backend : null,
    concurrency:
      Number.isSafeInteger(concurrency) && (concurrency as number) >= 1 && (concurrency as number) <= MAX_CONCURRENCY
        ? (concurrency as number)
        : 1,
    capabilities:
      Array.isArray(capabilities) && capabilities.every((c) => typeof c === 'string' && c.length > 0)
        ? [...(capabilities as string[])]
        : [],
  };
}

/**
 * The limits a module gives its tasks unless an ask gives its own (`maxCostUsd`, `maxIterations`, or on a
 * claude-code module their old names), read by the settings schema's rules: a value the schema refuses is no limit
 * (such a module is not served: its health error names the key). Null for none.
 */
export function budgetDefaults(settings: Record<string, unknown>): {
  maxCostUsd: number | null;
  maxIterations: number | null;
} {
  const read = (key: 'maxCostUsd' | 'maxIterations') => {
    const old = Object.entries(DEPRECATED_KEYS).find(([, current]) => current === key)?.[0] as string;
    const value = settings[key] ?? (settings.backend === 'claude-code' ? settings[old] : undefined);
    const whole = key === 'maxIterations';
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= (whole ? 1 : 0) &&
      value <= (whole ? MAX_ITERATIONS_LIMIT : MAX_COST_LIMIT_USD) &&
      (!whole || Number.isInteger(value));
    return ok ? value : null;
  };
  return { maxCostUsd: read('maxCostUsd'), maxIterations: read('maxIterations') };
}
