/**
 * Instances: a module's agents. A worker takes an idle instance (or creates one, up to the module's
 * `concurrency`) for each reply it claims, and gives it back when the run ends. People pause, resume and
 * terminate them; every change is an `instance.created` / `instance.updated` event.
 */
import { HubError } from '../domain/errors.js';
import type { EventData } from '../domain/event-data.js';
import { assertId, newId } from '../domain/ids.js';
import type { ListInstancesOptions } from '../domain/inputs.js';
import { settingsSummary } from '../domain/settings-summary.js';
import type { Instance, InstanceState } from '../domain/types.js';
import { moduleName, oneOf, optionalText } from '../domain/validate.js';
import type { Database, WriteTx } from './database.js';
import type { MessageStore } from './messages.js';
import { rowLock } from './row-lock.js';
import type { InstancesTable } from './schema.js';

export type { ListInstancesOptions } from '../domain/inputs.js';

const STATES: readonly InstanceState[] = ['idle', 'busy', 'paused', 'terminated'];

function stateOf(r: Pick<InstancesTable, 'status' | 'paused'>): InstanceState {
  if (r.status === 'terminated' || r.status === 'busy') return r.status;
  return Number(r.paused) === 1 ? 'paused' : 'idle';
}

function fromRow(r: InstancesTable): Instance {
  return {
    id: r.id,
    module: r.module,
    state: stateOf(r),
    paused: Number(r.paused) === 1,
    workerId: r.worker_id,
    messageId: r.message_id,
    sessionId: r.session_id,
    runs: Number(r.runs),
    reason: r.reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastActiveAt: r.last_active_at,
    terminatedAt: r.terminated_at,
  };
}

/** Reads and changes instances. */
export class InstanceStore {
  constructor(
    private readonly db: Database,
    private readonly messages: MessageStore,
  ) {}

  /**
   * Creates an idle instance of `module` ahead of work (workers create them on demand too). `not_found` for
   * an unknown module, `conflict` when it already has as many live instances as its concurrency allows.
   */
  create(module: string): Promise<Instance> {
    const name = moduleName(module, 'module');
    return this.db.write(async (tx) => {
      const row = await tx.get<{ config: string }>(`SELECT config FROM modules WHERE name = ?${rowLock(this.db)}`, [
        name,
      ]);
      if (!row) throw new HubError('not_found', `no module named ${name}`);
      const limit = settingsSummary(JSON.parse(row.config)).concurrency;
      const live = await this.liveCount(tx, name);
      if (live >= limit) {
        throw new HubError(
          'conflict',
          `module ${name} already has ${live} live instance${live === 1 ? '' : 's'}, its concurrency; terminate one or raise concurrency`,
        );
      }
      return this.insert(tx, name, 'idle');
    });
  }

  /** The instance, or `not_found`. */
  async get(id: string): Promise<Instance> {
    assertId(id, 'instance id');
    const row = await this.db.read.get<InstancesTable>('SELECT * FROM instances WHERE id = ?', [id]);
    if (!row) throw new HubError('not_found', `no instance with id ${id}`);
    return fromRow(row);
  }

  /** Instances by module and age; live ones unless `all` (or `state: 'terminated'`). */
  async list(options: ListInstancesOptions = {}): Promise<Instance[]> {
    const module = options.module === undefined ? undefined : moduleName(options.module, 'module');
    const state = options.state === undefined ? undefined : oneOf(options.state, 'state', STATES);
    const where: string[] = [];
    const params: unknown[] = [];
    if (module) {
      where.push('module = ?');
      params.push(module);
    }
    if (!options.all && state !== 'terminated') where.push("status <> 'terminated'");
    const rows = await this.db.read.all<InstancesTable>(
      `SELECT * FROM instances${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY module, created_at, id`,
      params,
    );
    return rows.map(fromRow).filter((i) => state === undefined || i.state === state);
  }

  /**
   * Pauses an instance: it takes no new reply (one it is answering runs to its end); work queued for its
   * module waits for another instance. Pausing a paused instance changes nothing.
   */
  pause(id: string): Promise<Instance> {
    return this.setPaused(id, true);
  }

  /** Lets a paused instance take work again. */
  resume(id: string): Promise<Instance> {
    return this.setPaused(id, false);
  }

  /**
   * Terminates an instance for good. A reply it is answering is cancelled (its worker stops the agent).
   * `invalid_transition` when it already is terminated.
   */
  terminate(id: string, reason?: string): Promise<Instance> {
    assertId(id, 'instance id');
    const why = optionalText(reason, 'reason', 2000) ?? 'terminated by request';
    return this.db.write(async (tx) => {
      const row = await this.lock(tx, id);
      return this.end(tx, row, why);
    });
  }

  /**
   * For a worker, inside its claim transaction: an idle instance of `module` made busy with `messageId`, a new
   * one when all are busy or paused and fewer than `limit` are live, or undefined when the module is full.
   */
  async acquire(
    tx: WriteTx,
    module: string,
    limit: number,
    claim: { workerId: string; messageId: string; leaseUntil: string },
  ): Promise<Instance | undefined> {
    const now = new Date().toISOString();
    // The most recently used idle instance, taken in one statement; the outer conditions hold it to still being
    // idle and unpaused once its lock is granted.
    const row = await tx.get<InstancesTable>(
      `UPDATE instances SET status = 'busy', worker_id = ?, message_id = ?, lease_until = ?, updated_at = ?
       WHERE id = (SELECT id FROM instances WHERE module = ? AND status = 'idle' AND paused = 0
                   ORDER BY last_active_at DESC, id LIMIT 1${rowLock(this.db)})
       AND status = 'idle' AND paused = 0 RETURNING *`,
      [claim.workerId, claim.messageId, claim.leaseUntil, now, module],
    );
    if (!row) {
      if ((await this.liveCount(tx, module)) >= limit) return undefined;
      return this.insert(tx, module, 'busy', claim);
    }
    this.changed(tx, row, 'idle', { messageId: claim.messageId });
    return fromRow(row);
  }

  /**
   * For a worker, inside the transaction that ends a run: the instance is idle again (unless it was terminated
   * meanwhile), keeping `sessionId` when one is given.
   */
  async releaseIn(tx: WriteTx, id: string, sessionId?: string): Promise<void> {
    const now = new Date().toISOString();
    const row = await tx.get<InstancesTable>(
      `UPDATE instances SET status = 'idle', worker_id = NULL, message_id = NULL, lease_until = NULL,
       runs = runs + 1, session_id = COALESCE(?, session_id), last_active_at = ?, updated_at = ?
       WHERE id = ? AND status = 'busy' RETURNING *`,
      [sessionId ?? null, now, now, id],
    );
    if (row) this.changed(tx, row, 'busy');
  }

  /** For a worker renewing its claims: pushes the lease of its busy instances. */
  renew(tx: WriteTx, workerId: string, leaseUntil: string): Promise<number> {
    return tx.run("UPDATE instances SET lease_until = ? WHERE worker_id = ? AND status = 'busy'", [
      leaseUntil,
      workerId,
    ]);
  }

  /** Busy instances whose worker stopped renewing (it died) become idle; answers how many. */
  async recover(now: string): Promise<number> {
    const lost = await this.db.read.all<{ id: string }>(
      "SELECT id FROM instances WHERE status = 'busy' AND lease_until < ?",
      [now],
    );
    for (const { id } of lost) {
      await this.db.write(async (tx) => {
        const row = await tx.get<InstancesTable>(
          `UPDATE instances SET status = 'idle', worker_id = NULL, message_id = NULL, lease_until = NULL,
           reason = 'its worker stopped responding', updated_at = ? WHERE id = ? AND status = 'busy' AND lease_until < ?
           RETURNING *`,
          [now, id, now],
        );
        if (row) this.changed(tx, row, 'busy', { reason: 'its worker stopped responding' });
      });
    }
    return lost.length;
  }

  /** Terminates the idle (not paused) instances of `modules` unused since `before`; answers how many. */
  async cleanUp(modules: readonly string[], before: string, reason: string): Promise<number> {
    if (!modules.length) return 0;
    const idle = await this.db.read.all<{ id: string }>(
      `SELECT id FROM instances WHERE status = 'idle' AND paused = 0 AND last_active_at < ?
       AND module IN (${modules.map(() => '?').join(', ')})`,
      [before, ...modules],
    );
    let n = 0;
    for (const { id } of idle) {
      await this.db.write(async (tx) => {
        const row = await tx.get<InstancesTable>(
          `SELECT * FROM instances WHERE id = ? AND status = 'idle' AND paused = 0 AND last_active_at < ?${rowLock(this.db)}`,
          [id, before],
        );
        if (!row) return;
        await this.end(tx, row, reason);
        n++;
      });
    }
    return n;
  }

  private async setPaused(id: string, paused: boolean): Promise<Instance> {
    assertId(id, 'instance id');
    return this.db.write(async (tx) => {
      const row = await this.lock(tx, id);
      if (row.status === 'terminated') {
        throw new HubError(
          'invalid_transition',
          `instance ${id} is terminated; it cannot be ${paused ? 'paused' : 'resumed'}`,
        );
      }
      if (Number(row.paused) === (paused ? 1 : 0)) return fromRow(row);
      const updated = (await tx.get<InstancesTable>(
        'UPDATE instances SET paused = ?, updated_at = ? WHERE id = ? RETURNING *',
        [paused ? 1 : 0, new Date().toISOString(), id],
      )) as InstancesTable;
      this.changed(tx, updated, stateOf(row), { paused });
      return fromRow(updated);
    });
  }

  private async lock(tx: WriteTx, id: string): Promise<InstancesTable> {
    const row = await tx.get<InstancesTable>(`SELECT * FROM instances WHERE id = ?${rowLock(this.db)}`, [id]);
    if (!row) throw new HubError('not_found', `no instance with id ${id}`);
    return row;
  }

  private async end(tx: WriteTx, row: InstancesTable, reason: string): Promise<Instance> {
    if (row.status === 'terminated') {
      throw new HubError('invalid_transition', `instance ${row.id} is already terminated`);
    }
    if (row.status === 'busy' && row.message_id) {
      const reply = await tx.get<{ status: string }>('SELECT status FROM messages WHERE id = ?', [row.message_id]);
      if (reply?.status === 'processing' || reply?.status === 'pending') {
        await this.messages.moveStatus(tx, row.message_id, 'cancelled', {
          reason: `its instance was terminated: ${reason}`,
        });
      }
    }
    const now = new Date().toISOString();
    const updated = (await tx.get<InstancesTable>(
      `UPDATE instances SET status = 'terminated', worker_id = NULL, lease_until = NULL, reason = ?,
       terminated_at = ?, updated_at = ? WHERE id = ? RETURNING *`,
      [reason, now, now, row.id],
    )) as InstancesTable;
    this.changed(tx, updated, stateOf(row), { reason });
    return fromRow(updated);
  }

  private async insert(
    tx: WriteTx,
    module: string,
    status: 'idle' | 'busy',
    claim?: { workerId: string; messageId: string; leaseUntil: string },
  ): Promise<Instance> {
    const now = new Date().toISOString();
    const row = (await tx.get<InstancesTable>(
      `INSERT INTO instances (id, module, status, paused, worker_id, lease_until, message_id, runs, created_at,
       updated_at, last_active_at) VALUES (?, ?, ?, 0, ?, ?, ?, 0, ?, ?, ?) RETURNING *`,
      [
        newId(),
        module,
        status,
        claim?.workerId ?? null,
        claim?.leaseUntil ?? null,
        claim?.messageId ?? null,
        now,
        now,
        now,
      ],
    )) as InstancesTable;
    tx.emit({
      type: 'instance.created',
      module,
      ...(claim ? { messageId: claim.messageId } : {}),
      data: { instanceId: row.id, state: stateOf(row) },
    });
    return fromRow(row);
  }

  private liveCount(tx: WriteTx, module: string): Promise<number> {
    return tx
      .get<{ n: number }>("SELECT count(*) AS n FROM instances WHERE module = ? AND status <> 'terminated'", [module])
      .then((r) => Number(r?.n ?? 0));
  }

  private changed(
    tx: WriteTx,
    row: InstancesTable,
    from: InstanceState,
    extra: Pick<EventData['instance.updated'], 'reason' | 'paused' | 'messageId'> = {},
  ): void {
    tx.emit({
      type: 'instance.updated',
      module: row.module,
      ...(row.message_id ? { messageId: row.message_id } : {}),
      data: { instanceId: row.id, from, state: stateOf(row), ...extra },
    });
  }
}
