/**
 * The workflow engine's position in the log: where its next pass reads from (in memory, moved at every event it
 * handles) and the position stored for the next holder, written at most once a second while events pass that need
 * no step. Each answered ask moves its reply's status a few times, and storing the position at each was two write
 * transactions per ask on a service with no workflow at all; events after the stored position are only read again
 * (and passed over) after a restart.
 */
import type { Logger } from 'pino';

/** How often a position that moved is stored. */
const STORE_EVERY_MS = 1000;

export class LogPosition {
  private current = '';
  private stored = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: (cursor: string) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Where the next pass reads from. */
  get cursor(): string {
    return this.current;
  }

  /** Starts from `cursor`, as it is stored. */
  startAt(cursor: string): void {
    this.current = cursor;
    this.stored = cursor;
  }

  /** The engine has handled the events up to `cursor`. */
  reached(cursor: string): void {
    this.current = cursor;
  }

  /** A pass read to `cursor` with nothing to do: stored within a second. */
  caughtUp(cursor: string): void {
    this.current = cursor;
    this.timer ??= setTimeout(() => void this.flush(), STORE_EVERY_MS);
    this.timer.unref?.();
  }

  /** Stores the position reached, when it moved since it was last stored. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const cursor = this.current;
    if (!cursor || cursor === this.stored) return;
    try {
      await this.store(cursor);
      this.stored = cursor;
    } catch (err) {
      this.logger.warn({ err }, 'the workflow engine could not store its position in the log; it tries again');
    }
  }
}
