/**
 * What the module view and the instance limit read of a module's settings: its backend, concurrency and
 * capabilities, each by the same rule as the settings schema (module-settings.ts), without loading that schema —
 * every hub reads these, while the schema (and zod, about 10 MB) is needed only where settings are checked.
 * src/domain/module-settings.test.ts checks that both rules agree.
 */

/** What the module view shows of a module's settings. */
export interface SettingsSummary {
  /** As registered, so a wrong one is seen for what it is (its health error names it). */
  backend: string | null;
  concurrency: number;
  capabilities: string[];
}

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
