/**
 * Counts authentication failures per key (client address, account) in a sliding window.
 * Past the limit the key is "throttled": services answer a temporary failure without even
 * checking the password, which makes guessing slow and keeps the CPU free.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  fail(key: string, now = Date.now()): void {
    const list = this.recent(key, now);
    list.push(now);
    this.failures.set(key, list);
    if (this.failures.size > 100_000) this.prune(now);
  }

  throttled(key: string, now = Date.now()): boolean {
    return this.recent(key, now).length >= this.limit;
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private prune(now: number): void {
    for (const k of [...this.failures.keys()]) this.recent(k, now);
  }
}
