/** A mail server under benchmark: started, listening on loopback, delivering into one local mailbox. */
export interface BenchTarget {
  /** As shown in the results table. */
  name: string;
  host: string;
  port: number;
  /** The process whose tree holds every process of the server (for CPU and memory). */
  rootPid(): number;
  /** Messages in the benchmark user's mailbox now (exact; may cost a directory scan). */
  delivered(): number;
  /**
   * Resolves with the time (process.hrtime.bigint()) at which the mailbox first held `count`
   * messages, watching cheaply enough not to steal CPU from the server being measured.
   * Rejects when `deadline` (Date.now() ms) passes or `failed()` returns an error.
   */
  deliveredBy(count: number, deadline: number, failed: () => Error | null): Promise<bigint>;
  /** Lines of the server's log that say a message was not delivered (bounced, deferred, errors). */
  problems(): string[];
  /** Stops the server; safe to call twice and after a failed start. */
  stop(): Promise<void>;
}

/** The benchmark's recipient and sender, the same for every server. */
export const RECIPIENT = 'user@example.test';
export const SENDER = 'sender@bench.test';
export const DOMAIN = 'example.test';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `delivered()` every `intervalMs` until it reaches `count`; for counts that are cheap to take. */
export async function pollDelivered(t: BenchTarget, count: number, deadline: number, failed: () => Error | null, intervalMs: number): Promise<bigint> {
  for (;;) {
    if (t.delivered() >= count) return process.hrtime.bigint();
    const e = failed();
    if (e) throw e;
    if (Date.now() > deadline) throw notDelivered(t, count);
    await sleep(intervalMs);
  }
}

export function notDelivered(t: BenchTarget, count: number): Error {
  return new Error(`${t.name}: only ${t.delivered()} of ${count} messages delivered before the time limit\n${t.problems().slice(-10).join('\n')}`);
}
