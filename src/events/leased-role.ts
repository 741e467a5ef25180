/**
 * A role that runs in one place at a time among every service sharing a database — delivering hooks today, the
 * workflow engine next. The service that holds the role's lease runs it and renews the lease every third of its
 * length; the others stand by and try to take it every second (or every third of the lease, if that is shorter).
 * When the holder stops cleanly it releases the lease and a standby takes over within that second; when it dies,
 * once its lease has run out — or, for a service on this host, as soon as its process is gone.
 *
 * The work a role does must tolerate a handover in the middle: what it had not yet stored as done is done again
 * by the next holder (at least once), which is what the hooks' stored cursors give.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isHubError } from '../domain/errors.js';
import type { Lease, LeaseStore } from '../store/leases.js';

/** How often a standby tries to take the role, at most. */
const STANDBY_RETRY_MS = 1000;

/** What a role does when it gains and loses its lease. */
export interface RoleHandlers {
  /** The lease was taken: start the work. */
  held(): Promise<void> | void;
  /** The lease was lost (another service took it after it ran out) or is being released: stop the work. */
  lost(): Promise<void> | void;
}

/** An id for this process's holders: host, pid and a random part (several hubs may share a process). */
export function newHolderId(): string {
  return `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

/** Whether `holder` names a process on this host that no longer runs. */
function holderIsGone(holder: string): boolean {
  const [host, pid] = holder.split('/');
  const n = Number(pid);
  if (host !== hostname() || !Number.isInteger(n) || n <= 0 || n === process.pid) return false;
  try {
    process.kill(n, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Holds (or waits for) one role's lease and runs the role while it is held. */
export class LeasedRole {
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly leases: LeaseStore,
    private readonly name: string,
    private readonly holder: string,
    private readonly leaseMs: number,
    private readonly handlers: RoleHandlers,
    private readonly logger: Logger,
  ) {}

  /** True while this service holds the role. */
  get holding(): boolean {
    return this.lease !== undefined;
  }

  /**
   * Whether this service may act for the role now: it holds the lease and, by its own clock, the lease has not run
   * out. A process frozen past its lease (stopped, or paused for long) wakes still holding it in memory while
   * another service may have taken it: a lease near its end is renewed first, and one that cannot be renewed is not
   * acted on (the role's next turn finds it lost and stops the work).
   */
  async confirm(): Promise<boolean> {
    const held = this.lease;
    if (!held) return false;
    if (Date.parse(held.until) - Date.now() > this.leaseMs / 6) return true;
    const renewed = await this.leases.renew(held, this.leaseMs).catch(() => undefined);
    if (renewed && this.lease === held) this.lease = renewed;
    return renewed !== undefined && this.lease !== undefined;
  }

  /** Tries to take the role at once (so a lone service starts its work before this resolves), then keeps at it. */
  async start(): Promise<void> {
    await this.step();
  }

  /** Stops trying; a held role's work is stopped and its lease released for a standby to take. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    const held = this.lease;
    if (!held) return;
    this.lease = undefined;
    await this.handlers.lost();
    await this.leases.release(held).catch((err: unknown) => {
      if (!isHubError(err, 'closed')) this.logger.warn({ err, role: this.name }, 'releasing a lease failed');
    });
  }

  private step(): Promise<void> {
    this.tick = this.turn()
      .catch((err: unknown) => this.logger.warn({ err, role: this.name }, 'keeping a lease failed'))
      .finally(() => {
        if (!this.stopped) {
          // A holder renews at a third of the lease; a standby tries more often, so a release or the death of a
          // holder on this host is taken up within a second (one write that changes nothing, per standby).
          const wait = this.lease ? this.leaseMs / 3 : Math.min(this.leaseMs / 3, STANDBY_RETRY_MS);
          this.timer = setTimeout(() => void this.step(), wait);
          this.timer.unref();
        }
      });
    return this.tick;
  }

  private async turn(): Promise<void> {
    if (this.stopped) return;
    if (this.lease) return this.renew(this.lease);
    let lease = await this.leases.acquire(this.name, this.holder, this.leaseMs);
    if (!lease) {
      const current = await this.leases.get(this.name);
      if (current && holderIsGone(current.holder)) {
        lease = await this.leases.acquire(this.name, this.holder, this.leaseMs, current);
        if (lease) this.logger.info({ role: this.name, from: current.holder }, 'took over from a service that died');
      }
    }
    if (!lease || this.stopped) {
      if (lease) await this.leases.release(lease);
      return;
    }
    this.lease = lease;
    try {
      await this.handlers.held();
    } catch (err) {
      // Not started: give the lease back so that this service, or another, tries again.
      this.lease = undefined;
      await this.handlers.lost();
      await this.leases.release(lease);
      throw err;
    }
  }

  private async renew(held: Lease): Promise<void> {
    let renewed: Lease | undefined;
    try {
      renewed = await this.leases.renew(held, this.leaseMs);
      if (renewed) {
        this.lease = renewed;
        return;
      }
    } catch (err) {
      // The database could not be reached: the lease still stands until its end, so keep working until close
      // to it (a sixth of the lease before), then stop, as a standby may take it right after.
      if (Date.parse(held.until) - Date.now() > this.leaseMs / 6) {
        this.logger.warn({ err, role: this.name }, 'renewing a lease failed; trying again');
        return;
      }
    }
    this.logger.warn({ role: this.name, holder: this.holder }, 'lost a lease; stopping its work');
    this.lease = undefined;
    await this.handlers.lost();
  }
}
