/**
 * Counting events per key (a client address, an authenticated user) over a sliding window,
 * approximated by two fixed windows weighted by overlap: constant memory per key, no list of
 * timestamps, good to within one window's edge effect.
 */
export class RateCounter {
  private readonly keys = new Map<string, { start: number; count: number; previous: number }>();
  private lastSweep = 0;

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  /** The count over the last window, this event not included. */
  current(key: string): number {
    const t = this.now();
    const e = this.roll(key, t);
    if (!e) return 0;
    const overlap = 1 - (t - e.start) / this.windowMs;
    return e.count + Math.max(0, overlap) * e.previous;
  }

  /**
   * Records `n` events for the key if that keeps it within `limit`; false (nothing recorded)
   * when it would not. A limit of 0 means unlimited.
   */
  take(key: string, limit: number, n = 1): boolean {
    if (!limit) return true;
    if (this.current(key) + n > limit) return false;
    this.add(key, n);
    return true;
  }

  add(key: string, n = 1): void {
    const t = this.now();
    const e = this.roll(key, t) ?? { start: t - (t % this.windowMs), count: 0, previous: 0 };
    e.count += n;
    this.keys.set(key, e);
    this.sweep(t);
  }

  private roll(key: string, t: number): { start: number; count: number; previous: number } | undefined {
    const e = this.keys.get(key);
    if (!e) return undefined;
    const elapsed = Math.floor((t - e.start) / this.windowMs);
    if (elapsed === 1) {
      e.previous = e.count;
      e.count = 0;
      e.start += this.windowMs;
    } else if (elapsed > 1) {
      e.previous = 0;
      e.count = 0;
      e.start = t - (t % this.windowMs);
    }
    return e;
  }

  /** Forgets keys idle for two windows, at most once a window. */
  private sweep(t: number): void {
    if (t - this.lastSweep < this.windowMs) return;
    this.lastSweep = t;
    for (const [k, e] of this.keys) if (t - e.start >= 2 * this.windowMs) this.keys.delete(k);
  }

  get size(): number {
    return this.keys.size;
  }
}
