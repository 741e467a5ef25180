/**
 * Config sync: makes the registered modules match a config.yaml, in one transaction. Its modules are registered
 * (or updated, or served again after a removal); a module registered from a config that is no longer in this one
 * is marked removed and its unanswered replies fail with the reason, so nothing waits for an answer that cannot
 * come. Modules registered through the library (no config file) are never touched.
 */
import { jsonObject, noNul, wellFormed } from '../domain/validate.js';
import type { Database } from './database.js';
import type { StatusRow } from './message-content.js';
import type { MessageStore } from './messages.js';
import type { ModuleStore } from './modules.js';
import { rowLock } from './row-lock.js';
import type { TaskStore } from './tasks.js';

/** A module as the config file defines it: its description, and the settings the runtime needs. */
export interface ConfiguredModule {
  description: string;
  settings: Record<string, unknown>;
}

/** What a sync changed. */
export interface ConfigSyncResult {
  /** The modules of the file, in its order. */
  modules: string[];
  /** Modules marked removed now (they were registered from a config and are not in this one). */
  removed: string[];
  /** How many unanswered replies of the removed modules failed. */
  failedReplies: number;
}

/** Applies configurations to the module registry. */
export class ConfigSync {
  constructor(
    private readonly db: Database,
    private readonly modules: ModuleStore,
    private readonly messages: MessageStore,
    private readonly tasks: TaskStore,
  ) {}

  /**
   * Makes the registry match `configured`, read from `file` (recorded on each module as where it came from; the
   * error of a removed module's replies names it).
   */
  async apply(file: string, configured: Record<string, ConfiguredModule>): Promise<ConfigSyncResult> {
    const names = Object.keys(configured);
    const checked = Object.entries(configured).map(([name, m]) => ({
      name,
      description: wellFormed(noNul(m.description, `modules.${name}.description`), `modules.${name}.description`),
      config: jsonObject(m.settings, `modules.${name}`, 65_536),
    }));
    return this.db.write(async (tx) => {
      for (const m of checked) await this.modules.upsert(tx, m, file);
      const gone = (
        await tx.all<{ name: string; config_file: string }>(
          `SELECT name, config_file FROM modules WHERE config_file IS NOT NULL AND removed_at IS NULL ORDER BY name${rowLock(this.db)}`,
        )
      ).filter((m) => !names.includes(m.name));
      const at = new Date().toISOString();
      let failedReplies = 0;
      for (const m of gone) {
        await this.modules.markRemoved(tx, m.name, at);
        const error = `module ${m.name} was removed from ${m.config_file} on ${at}; add it back to serve it`;
        // Processing too: a live worker finishing one later finds it failed and drops its outcome; one whose
        // worker died would otherwise go back to the queue of a module nobody serves.
        const replies = await tx.all<StatusRow & { id: string }>(
          `SELECT id, status, thread_id, author FROM messages WHERE status IN ('pending', 'processing')
           AND role = 'assistant' AND author = ? ORDER BY created_at, id${rowLock(this.db)}`,
          [m.name],
        );
        for (const reply of replies) {
          // The task first, as a worker's finish does: whoever sees the reply final finds its task final too.
          const task = await tx.get<{ status: StatusRow['status'] }>(
            `SELECT status FROM tasks WHERE message_id = ? LIMIT 1${rowLock(this.db)}`,
            [reply.id],
          );
          if (task?.status === 'pending' || task?.status === 'processing') {
            await this.tasks.moveFrom(tx, { messageId: reply.id }, task.status, 'failed', {
              reason: 'module_removed',
              error,
            });
          }
          await this.messages.moveStatus(tx, reply.id, 'failed', { reason: 'module_removed', error, current: reply });
          failedReplies++;
        }
      }
      return { modules: names, removed: gone.map((m) => m.name), failedReplies };
    });
  }
}
