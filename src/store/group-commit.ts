import type { DB } from './db.js';

/**
 * Group commit: work submitted in the same turn of the event loop runs in one SQLite
 * transaction, so one fsync of the WAL covers many messages. Each caller's promise settles
 * when its own work is durable, or fails on its own if it threw.
 */
export class GroupCommit {
  private pending: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly db: DB) {}

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const results: { ok: boolean; v: unknown }[] = [];
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          // A savepoint per item, so that one failing piece of work does not undo the others.
          try {
            results.push({ ok: true, v: this.db.transaction(item.fn)() });
          } catch (e) {
            results.push({ ok: false, v: e });
          }
        }
      })();
    } catch (e) {
      for (const item of batch) item.reject(e);
      return;
    }
    batch.forEach((item, i) => (results[i].ok ? item.resolve(results[i].v) : item.reject(results[i].v)));
  }
}
