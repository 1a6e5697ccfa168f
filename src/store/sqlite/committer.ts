import type { BatchResult, WriteBatch, WriteOp } from '../batch.js';
import type { BlobStore } from '../blobs.js';
import type { Writer } from './writer.js';

/**
 * Sends batches to the writer and, once a batch is committed, removes the body files whose rows
 * it dropped (never before: a crash in between leaves an unused file, never a row without one).
 */
export class Committer {
  constructor(private readonly writer: Writer, private readonly blobs: BlobStore) {}

  async commit(batch: WriteBatch): Promise<BatchResult> {
    const r = await this.writer.submit(batch);
    for (const id of r.removedBlobs) await this.blobs.remove(id).catch(() => undefined);
    return { parts: r.parts };
  }

  /** One op in a batch of its own; its result, or its error thrown. */
  async one<T>(op: WriteOp, durability: WriteBatch['durability'] = 'full'): Promise<T> {
    const r = (await this.commit({ durability, parts: [{ ops: [op] }] })).parts[0];
    if (!r.ok) throw r.error;
    return r.results[0] as T;
  }
}
