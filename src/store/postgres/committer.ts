import type pg from 'pg';
import { runPgBatch } from './apply.js';
import type { BatchResult, WriteBatch, WriteOp } from '../batch.js';
import type { BlobStore } from '../blobs.js';

/**
 * Runs batches (apply.ts) and, once one is committed, removes the bodies whose rows it dropped
 * (never before: a crash in between leaves unused bytes, never a row without a body), and tells
 * `onCommitted` what it changed (the user directory follows user.create/user.delete).
 */
export class PgCommitter {
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly pool: pg.Pool, private readonly blobs: BlobStore, private readonly onCommitted: (batch: WriteBatch) => void) {}

  async commit(batch: WriteBatch): Promise<BatchResult> {
    if (this.closed) throw new Error('the store is closed');
    const run = runPgBatch(this.pool, batch);
    this.inFlight.add(run);
    try {
      const r = await run;
      for (const id of r.removedBlobs) await this.blobs.remove(id).catch(() => undefined);
      this.onCommitted(batch);
      return { parts: r.parts };
    } finally {
      this.inFlight.delete(run);
    }
  }

  async one<T>(op: WriteOp, durability: WriteBatch['durability'] = 'full'): Promise<T> {
    const r = (await this.commit({ durability, parts: [{ ops: [op] }] })).parts[0];
    if (!r.ok) throw r.error;
    return r.results[0] as T;
  }

  /** Waits for the batches under way; later ones are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
