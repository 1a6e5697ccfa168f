import type { Logger } from '../log/logger.js';

/**
 * One background worker shape for the queue manager, the outbound scheduler and the sendmail
 * pickup (after mox's queue: a one-slot wake-up, a loop, a timer for the next due time).
 *
 * - kick(): run soon. Never blocks; kicks while a run is under way fold into one more run.
 * - wakeAt(t): run at time t (ms since the epoch) unless something earlier is set.
 * - stop(): no new runs; resolves when the current one ended.
 *
 * `run` returns when it wants to run next (ms since the epoch), or null for "when kicked".
 * A run that throws is logged and retried after `retryMs`.
 */
export class BackgroundWorker {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(
    private readonly name: string,
    private readonly run: () => Promise<number | null>,
    private readonly log: Logger,
    private readonly retryMs = 5000,
  ) {}

  kick(): void {
    if (this.stopped) return;
    this.again = true;
    if (!this.running) this.running = new Promise<void>((r) => setImmediate(r)).then(() => this.loop());
  }

  wakeAt(t: number): void {
    if (this.stopped || t >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = t;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.kick();
    }, Math.max(0, t - Date.now()));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.again && !this.stopped) {
        this.again = false;
        let next: number | null;
        try {
          next = await this.run();
        } catch (e) {
          this.log.error(null, `${this.name} failed: ${(e as Error).stack ?? e}`);
          next = Date.now() + this.retryMs;
        }
        if (next !== null) this.wakeAt(next);
      }
    } finally {
      this.running = null;
    }
  }
}
