/**
 * A module's health as the worker keeps it: runs that fail in a way that says the backend itself is broken count
 * up, and `unhealthyAfter` of them in a row (one, for a program that is not installed) mark the module unhealthy —
 * its work then waits — until a check of the backend passes. Checks run with growing back-off; one passing makes
 * the module healthy, but one more backend failure marks it unhealthy again, with a longer wait.
 */
import type { Logger } from 'pino';
import type { RunDone } from '../agents/types.js';
import type { ModuleStore } from '../store/modules.js';
import type { WorkerModule } from './backends.js';

/** A module's run of failures and its health-check back-off. */
interface Health {
  failures: number;
  level: number;
  timer?: NodeJS.Timeout;
}

/** Failures that say the backend itself is broken (rather than the question being hard). */
const BACKEND_FAILURES = new Set(['agent_error', 'no_result', 'idle']);

/** How module health is kept. */
export interface HealthSettings {
  /** Backend failures in a row that mark a module unhealthy. */
  unhealthyAfter: number;
  /** Wait before the first check, doubled after each further one up to `max`, in ms. */
  backoff: { first: number; max: number };
}

/** Keeps the health of the modules one worker serves. */
export class ModuleHealth {
  private readonly health = new Map<string, Health>();
  private stopped = false;

  /** `checked`: a check ended (the module may take work again). */
  constructor(
    private readonly moduleStore: ModuleStore,
    private readonly logger: Logger,
    private readonly settings: HealthSettings,
    private readonly checked: () => void,
  ) {}

  /** Stops checking. */
  stop(): void {
    this.stopped = true;
    for (const h of this.health.values()) clearTimeout(h.timer);
  }

  /**
   * Counts a run towards its module's health: a success clears the count; `unhealthyAfter` backend failures in
   * a row (one, for a program that is not installed) mark the module unhealthy until a check passes.
   */
  async afterRun(module: WorkerModule, done: RunDone, taskId: string | undefined): Promise<void> {
    const h = this.healthOf(module.name);
    if (done.ok) {
      h.failures = 0;
      h.level = 0;
      return;
    }
    if (done.reason === 'not_installed') h.failures = Math.max(h.failures + 1, this.settings.unhealthyAfter);
    else if (BACKEND_FAILURES.has(done.reason ?? 'agent_error')) h.failures++;
    else return;
    if (h.failures < this.settings.unhealthyAfter || this.stopped) return;
    // A module's health is public (every token sees the module list and its events), so it names the failure but
    // never quotes a run's output, which may quote the question: that stays on the run's task, for those who may
    // see it. A program that is not installed is a matter of configuration, named as it is.
    const runs = `${h.failures} failed run${h.failures === 1 ? '' : 's'} in a row`;
    const why =
      done.reason === 'not_installed'
        ? `${done.error ?? 'not installed'} (${runs})`
        : `runs keep failing (${done.reason ?? 'agent_error'}): ${runs}${taskId ? `; the last error is on task ${taskId}` : ''}`;
    await this.moduleStore
      .setHealth(module.name, 'unhealthy', why.slice(0, 4000))
      .catch((err: unknown) => this.logger.warn({ err, module: module.name }, 'recording module health failed'));
    this.logger.warn({ module: module.name, error: why }, 'module marked unhealthy; its work waits for a health check');
    this.scheduleCheck(module);
  }

  /**
   * Checks a module's backend (program and directory present). Passing makes it healthy — but one more backend
   * failure marks it unhealthy again, with a longer wait — and failing schedules the next check.
   */
  async check(module: WorkerModule, atStart = false): Promise<void> {
    if (this.stopped) return;
    const problem = await module.check().catch((err: unknown) => String(err));
    try {
      if (problem) {
        await this.moduleStore.setHealth(module.name, 'unhealthy', problem);
        this.scheduleCheck(module);
        return;
      }
      const h = this.healthOf(module.name);
      const current = await this.moduleStore.get(module.name);
      if (current.health === 'unhealthy') {
        if (!atStart) h.failures = this.settings.unhealthyAfter - 1;
        await this.moduleStore.setHealth(module.name, 'healthy');
      }
    } catch (err) {
      this.logger.warn({ err, module: module.name }, 'recording module health failed');
      if (!atStart) this.scheduleCheck(module);
    }
    this.checked();
  }

  /** Checks `module` after the current back-off (once: a check already due is not added again). */
  scheduleCheck(module: WorkerModule): void {
    const h = this.healthOf(module.name);
    if (h.timer || this.stopped) return;
    const wait = Math.min(this.settings.backoff.max, this.settings.backoff.first * 2 ** h.level);
    h.level++;
    h.timer = setTimeout(() => {
      h.timer = undefined;
      void this.check(module);
    }, wait);
    h.timer.unref();
  }

  private healthOf(module: string): Health {
    let h = this.health.get(module);
    if (!h) {
      h = { failures: 0, level: 0 };
      this.health.set(module, h);
    }
    return h;
  }
}
