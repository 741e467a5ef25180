/** Modules: the agents (each in its own repository) that ask and answer. */
import { HubError } from '../domain/errors.js';
import type { Module } from '../domain/types.js';
import { moduleName, text } from '../domain/validate.js';
import type { Database } from './database.js';
import type { ModulesTable } from './schema.js';

function fromRow(r: ModulesTable): Module {
  return {
    name: r.name,
    description: r.description,
    paused: Number(r.paused) === 1,
    config: JSON.parse(r.config),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** What registering a module sets. */
export interface RegisterModuleInput {
  name: string;
  description?: string;
  /** Backend settings and anything else the runtime needs, stored as JSON. */
  config?: Record<string, unknown>;
}

/** Reads and writes modules. */
export class ModuleStore {
  constructor(private readonly db: Database) {}

  /** Creates or updates a module (event `module.registered` or `module.updated`). */
  async register(input: RegisterModuleInput): Promise<Module> {
    const name = moduleName(input.name, 'name');
    const description = input.description === undefined ? '' : text(input.description, 'description', 4000);
    const config = JSON.stringify(input.config ?? {});
    return this.db.write(async (tx) => {
      const existing = await tx.get<ModulesTable>(`SELECT * FROM modules WHERE name = ?${this.db.forUpdate}`, [name]);
      const now = new Date().toISOString();
      if (existing) {
        await tx.run('UPDATE modules SET description = ?, config = ?, updated_at = ? WHERE name = ?', [
          description,
          config,
          now,
          name,
        ]);
      } else {
        await tx.run(
          'INSERT INTO modules (name, description, paused, config, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?)',
          [name, description, config, now, now],
        );
      }
      tx.emit({ type: existing ? 'module.updated' : 'module.registered', module: name, data: { description } });
      const row = await tx.get<ModulesTable>('SELECT * FROM modules WHERE name = ?', [name]);
      return fromRow(row as ModulesTable);
    });
  }

  /** The module, or `not_found`. */
  async get(name: string): Promise<Module> {
    moduleName(name, 'name');
    const row = await this.db.read.get<ModulesTable>('SELECT * FROM modules WHERE name = ?', [name]);
    if (!row) throw new HubError('not_found', `no module named ${name}`);
    return fromRow(row);
  }

  /** Every module, by name. */
  async list(): Promise<Module[]> {
    return (await this.db.read.all<ModulesTable>('SELECT * FROM modules ORDER BY name')).map(fromRow);
  }
}
