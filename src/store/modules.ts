/** Modules: the agents (each in its own repository) that ask and answer. */
import { capabilityName, declaresCapability } from '../domain/capability.js';
import { HubError } from '../domain/errors.js';
import type { RegisterModuleInput } from '../domain/inputs.js';
import { settingsSummary } from '../domain/settings-summary.js';
import type { Module } from '../domain/types.js';
import { jsonObject, moduleName, noNul, wellFormed } from '../domain/validate.js';
import type { Database, WriteTx } from './database.js';
import { rowLock } from './row-lock.js';
import type { ModulesTable } from './schema.js';

export type { RegisterModuleInput } from '../domain/inputs.js';

/** How loaded a module is now: its busy instances, and its replies waiting for an instance (pending). */
export interface ModuleLoad {
  module: string;
  busy: number;
  queued: number;
}

function fromRow(r: ModulesTable): Module {
  return {
    name: r.name,
    description: r.description,
    paused: Number(r.paused) === 1,
    config: JSON.parse(r.config),
    health: r.health === 'unhealthy' ? 'unhealthy' : 'healthy',
    healthError: r.health_error ?? null,
    healthCheckedAt: r.health_checked_at ?? null,
    configFile: r.config_file ?? null,
    removedAt: r.removed_at ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Reads and writes modules. */
export class ModuleStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates a module, or updates the fields given of an existing one (event `module.registered` or
   * `module.updated`). Two processes registering the same new module at once cannot collide.
   */
  async register(input: RegisterModuleInput): Promise<Module> {
    const name = moduleName(input.name, 'name');
    if (input.description !== undefined && (typeof input.description !== 'string' || input.description.length > 4000)) {
      throw new HubError('validation', 'description must be a string of at most 4000 characters');
    }
    const description =
      input.description === undefined ? undefined : wellFormed(noNul(input.description, 'description'), 'description');
    const config = input.config === undefined ? undefined : jsonObject(input.config, 'config', 65_536);
    return this.db.write((tx) => this.upsert(tx, { name, description, config }));
  }

  /**
   * `register` inside the caller's write transaction, with its input already checked (`config` as JSON text).
   * With `configFile`, the module is recorded as that file's (config sync may later mark it removed) and, if it
   * was removed, is served again (event `module.updated` with `removed: false`).
   */
  async upsert(
    tx: WriteTx,
    { name, description, config }: { name: string; description?: string | undefined; config?: string | undefined },
    configFile?: string,
  ): Promise<Module> {
    const now = new Date().toISOString();
    // Insert-or-nothing first: of racing registrations exactly one inserts; the others wait for it and update.
    const inserted = await tx.run(
      `INSERT INTO modules (name, description, paused, config, config_file, created_at, updated_at)
       VALUES (?, ?, 0, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      [name, description ?? '', config ?? '{}', configFile ?? null, now, now],
    );
    // An update that changes nothing writes nothing (registering the same config at every start is quiet).
    const changed =
      inserted ||
      (await tx.run(
        `UPDATE modules SET description = COALESCE(?, description), config = COALESCE(?, config), updated_at = ?
         WHERE name = ? AND (description <> COALESCE(?, description) OR config <> COALESCE(?, config))`,
        [description ?? null, config ?? null, now, name, description ?? null, config ?? null],
      ));
    const restored =
      !inserted &&
      configFile !== undefined &&
      (await tx.get<ModulesTable>(
        `UPDATE modules SET removed_at = NULL, updated_at = ? WHERE name = ? AND removed_at IS NOT NULL RETURNING *`,
        [now, name],
      )) !== undefined;
    if (configFile !== undefined && !inserted) {
      await tx.run('UPDATE modules SET config_file = ? WHERE name = ? AND (config_file IS NULL OR config_file <> ?)', [
        configFile,
        name,
        configFile,
      ]);
    }
    const row = await tx.get<ModulesTable>('SELECT * FROM modules WHERE name = ?', [name]);
    const module = fromRow(row as ModulesTable);
    if (changed) {
      tx.emit({
        type: inserted ? 'module.registered' : 'module.updated',
        module: name,
        data: { description: module.description },
      });
    }
    if (restored) tx.emit({ type: 'module.updated', module: name, data: { removed: false } });
    return module;
  }

  /**
   * Marks a module removed from its config.yaml (event `module.updated` with `removed: true`); asking it is then
   * refused. Inside the caller's transaction (config sync also fails the module's unanswered replies in it).
   */
  async markRemoved(tx: WriteTx, name: string, at: string): Promise<void> {
    await tx.run('UPDATE modules SET removed_at = ?, updated_at = ? WHERE name = ?', [at, at, name]);
    tx.emit({ type: 'module.updated', module: name, data: { removed: true, removedAt: at } });
  }

  /** The config files the modules still served were registered from (empty for a hub never configured). */
  async configFiles(): Promise<string[]> {
    const rows = await this.db.read.all<{ config_file: string }>(
      'SELECT DISTINCT config_file FROM modules WHERE config_file IS NOT NULL AND removed_at IS NULL ORDER BY config_file',
    );
    return rows.map((r) => r.config_file);
  }

  /**
   * Pauses (the module takes no new questions; asking it is refused) or resumes it (event `module.updated`
   * with `paused`). A module removed from its config.yaml is neither (`conflict`): it serves nothing until it is
   * put back.
   */
  async setPaused(name: string, paused: boolean): Promise<Module> {
    moduleName(name, 'name');
    return this.db.write(async (tx) => {
      const row = await tx.get<ModulesTable>(
        'UPDATE modules SET paused = ?, updated_at = ? WHERE name = ? AND removed_at IS NULL RETURNING *',
        [paused ? 1 : 0, new Date().toISOString(), name],
      );
      if (!row) {
        const removed = await tx.get<ModulesTable>('SELECT * FROM modules WHERE name = ?', [name]);
        if (removed) {
          throw new HubError(
            'conflict',
            `module ${name} was removed from ${removed.config_file ?? 'config.yaml'} on ${removed.removed_at}; it cannot be ${paused ? 'paused' : 'resumed'} (add it back to serve it)`,
          );
        }
        throw new HubError('not_found', `no module named ${name}`);
      }
      tx.emit({ type: 'module.updated', module: name, data: { paused } });
      return fromRow(row);
    });
  }

  /**
   * Records the result of a health check or of a run of the module's backend (event `module.updated` with
   * `health` and `error` when it changes). Workers do not claim an unhealthy module's work.
   */
  async setHealth(name: string, health: 'healthy' | 'unhealthy', error?: string): Promise<Module> {
    moduleName(name, 'name');
    const healthError = health === 'healthy' ? null : (error ?? 'unhealthy');
    return this.db.write(async (tx) => {
      const now = new Date().toISOString();
      const before = await tx.get<ModulesTable>(`SELECT * FROM modules WHERE name = ?${rowLock(this.db)}`, [name]);
      if (!before) throw new HubError('not_found', `no module named ${name}`);
      const row = (await tx.get<ModulesTable>(
        'UPDATE modules SET health = ?, health_error = ?, health_checked_at = ? WHERE name = ? RETURNING *',
        [health, healthError, now, name],
      )) as ModulesTable;
      if (before.health !== health || (before.health_error ?? null) !== healthError) {
        tx.emit({
          type: 'module.updated',
          module: name,
          data: { health, ...(healthError ? { error: healthError } : {}) },
        });
      }
      return fromRow(row);
    });
  }

  /** The module, or `not_found`. */
  async get(name: string): Promise<Module> {
    moduleName(name, 'name');
    const row = await this.db.read.get<ModulesTable>('SELECT * FROM modules WHERE name = ?', [name]);
    if (!row) throw new HubError('not_found', `no module named ${name}`);
    return fromRow(row);
  }

  /**
   * Every module, by name; with `capability`, those whose settings declare it (exact after trimming, see
   * domain/capability.ts). Removed, paused and unhealthy modules are listed too: each says so.
   */
  async list(options: { capability?: string } = {}): Promise<Module[]> {
    const capability = options.capability === undefined ? undefined : capabilityName(options.capability);
    const modules = (await this.db.read.all<ModulesTable>('SELECT * FROM modules ORDER BY name')).map(fromRow);
    // Capabilities live in the settings' JSON, read the same way on both databases: a row per module, no index.
    if (capability === undefined) return modules;
    return modules.filter((m) => declaresCapability(settingsSummary(m.config).capabilities, capability));
  }

  /**
   * The load of each of `names`, in their order: busy instances, and pending replies (asked, no instance has taken
   * them yet). Unknown names answer zeros. Both counts are read from partial indexes holding only live instances
   * (`instances_live`) and unfinished replies (`messages_queue`), so they cost what the queues hold, not the
   * history (test/integration/query-plans.test.ts).
   */
  async load(names: readonly string[]): Promise<ModuleLoad[]> {
    const modules = names.map((n) => moduleName(n, 'module'));
    if (!modules.length) return [];
    // Each partial index's condition is repeated so that SQLite's planner sees the query implies it. The queue is
    // counted one module at a time: given `author IN (…)`, or `GROUP BY author`, SQLite walks messages_author
    // instead, every message the module ever wrote.
    const [busy, ...queued] = await Promise.all([
      this.db.read.all<{ module: string; n: number | string }>(
        `SELECT module, count(*) AS n FROM instances WHERE status <> 'terminated' AND status = 'busy'
         AND module IN (${modules.map(() => '?').join(', ')}) GROUP BY module`,
        modules,
      ),
      ...modules.map((module) =>
        this.db.read.get<{ n: number | string }>(
          `SELECT count(*) AS n FROM messages WHERE status IN ('pending', 'processing') AND status = 'pending'
           AND role = 'assistant' AND author = ?`,
          [module],
        ),
      ),
    ]);
    return modules.map((module, i) => ({
      module,
      busy: Number(busy.find((r) => r.module === module)?.n ?? 0),
      queued: Number(queued[i]?.n ?? 0),
    }));
  }
}
