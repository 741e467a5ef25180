/** Loading a resource again when events say it changed: one load at a time, at most one per interval. */

/**
 * Runs `load` one call at a time, at most once per `gapMs`. Asked while a call runs, it runs once more after it,
 * so every ask is answered by a load that started after the ask.
 */
export class Refresher {
  /** The last load succeeded. */
  ok = false;
  private running = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = 0;

  constructor(
    private readonly load: () => Promise<void>,
    private readonly gapMs: number,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = Math.max(0, this.last + this.gapMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, wait);
  }

  private async run(): Promise<void> {
    this.running = true;
    this.last = Date.now();
    try {
      await this.load();
      this.ok = true;
    } catch {
      this.ok = false; // the loader has put the error where its view shows it
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }
}
