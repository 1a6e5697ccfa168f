/** Per-command latency of a load generator: count and summed time by command name. */
export class Latencies {
  private readonly byCommand = new Map<string, { n: number; ms: number }>();

  /** Runs `fn`, charging its wall-clock time to `command`. */
  async time<T>(command: string, fn: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.add(command, Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }

  add(command: string, ms: number): void {
    const e = this.byCommand.get(command);
    if (e) {
      e.n++;
      e.ms += ms;
    } else this.byCommand.set(command, { n: 1, ms });
  }

  count(command?: string): number {
    if (command) return this.byCommand.get(command)?.n ?? 0;
    let n = 0;
    for (const e of this.byCommand.values()) n += e.n;
    return n;
  }

  /** Average milliseconds of `command`, NaN if it never ran. */
  averageMs(command: string): number {
    const e = this.byCommand.get(command);
    return e ? e.ms / e.n : NaN;
  }

  commands(): string[] {
    return [...this.byCommand.keys()];
  }
}
