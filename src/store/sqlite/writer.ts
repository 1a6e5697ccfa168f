import type { WriteBatch } from '../batch.js';
import type { AppliedBatch } from './apply.js';
import { BatchApplier } from './apply.js';
import type { DB } from './schema.js';

/** Where write batches go: the writer thread (serve) or this thread (CLI commands). */
export interface Writer {
  /** Settles when the batch is committed (fsync'd unless relaxed); rejects when the whole batch failed. */
  submit(batch: WriteBatch): Promise<AppliedBatch>;
  close(): Promise<void>;
}

/**
 * Group commit on this thread: batches submitted in the same turn of the event loop share one
 * transaction. For short-lived commands (the CLI), where a thread would cost more than it saves.
 */
export class InlineWriter implements Writer {
  private pending: { batch: WriteBatch; resolve: (r: AppliedBatch) => void; reject: (e: Error) => void }[] = [];
  private scheduled = false;
  private readonly applier: BatchApplier;

  constructor(db: DB) {
    this.applier = new BatchApplier(db);
  }

  submit(batch: WriteBatch): Promise<AppliedBatch> {
    return new Promise((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.pending;
    this.pending = [];
    const results = this.applier.runGroup(group.map((g) => g.batch));
    group.forEach((g, i) => {
      const r = results[i];
      if (r instanceof Error) g.reject(r);
      else g.resolve(r);
    });
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
  }
}
