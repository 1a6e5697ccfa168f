import type { BlobStore } from '../store/blobs.js';
import type { MailboxStore } from '../store/mailboxes.js';
import type { QueueStore } from '../store/queue.js';
import type { SearchIndex, IndexedText } from '../store/search.js';
import type { WriteOp } from '../store/batch.js';
import type { Logger } from '../log/logger.js';
import { BackgroundWorker } from './worker.js';
import { parseMessage, storedTree } from '../mime/parse.js';
import { indexText } from '../mime/search-text.js';
import type { MimeTree } from '../mime/types.js';

/** Bodies per batch: small enough that IMAP and delivery commits interleave with the backfill. */
const BATCH = 100;

/**
 * The background indexer: fills the full-text index (src/store/search.ts) for bodies that have
 * none, i.e. every message of a store made before schema v5 (issue 10: "existing stores are
 * indexed on upgrade in the background"), and bodies a crash left without one. Until a body is
 * indexed it is a candidate of every search, so answers are exact meanwhile, only slower.
 * Runs at start-up until nothing is left, one relaxed batch of BATCH bodies at a time.
 */
export class TextBackfill {
  private readonly worker: BackgroundWorker;
  private done = 0;

  constructor(
    private readonly search: SearchIndex,
    private readonly mailboxes: MailboxStore,
    private readonly blobs: BlobStore,
    private readonly queue: QueueStore,
    private readonly log: Logger,
  ) {
    this.worker = new BackgroundWorker('full-text indexer', () => this.run(), log, 30_000);
  }

  start(): void {
    this.worker.kick();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private async run(): Promise<number | null> {
    const todo = await this.search.unindexedBodies(BATCH);
    if (!todo.length) {
      if (this.done) this.log.notice(null, `full-text index: ${this.done} message bodies indexed in the background`);
      this.done = 0;
      return null;
    }
    const trees = await this.mailboxes.getMime(todo.map((t) => t.blobId));
    const items: [string, IndexedText | null][] = [];
    const mimes: [string, string][] = [];
    for (const { blobId, size } of todo) {
      items.push([blobId, await this.textOf(blobId, size, trees.get(blobId) ?? null, mimes)]);
      // Yield between bodies: the event loop serves IMAP and SMTP meanwhile.
      await new Promise((r) => setImmediate(r));
    }
    const ops: WriteOp[] = [{ op: 'blob.text', items }];
    if (mimes.length) ops.push({ op: 'blob.mime', items: mimes });
    await this.queue.commit({ durability: 'relaxed', parts: [{ ops }] });
    this.done += items.length;
    return Date.now();
  }

  /** null: the body cannot be read or parsed (it stays a candidate of every search, and is not retried). */
  private async textOf(blobId: string, size: number, json: string | null, mimes: [string, string][]): Promise<IndexedText | null> {
    try {
      const raw = await this.blobs.read(blobId, size);
      let tree: MimeTree | null = json ? storedTree(json) : null;
      if (!tree) {
        tree = parseMessage(raw);
        mimes.push([blobId, JSON.stringify(tree)]);
      }
      return indexText(tree, raw);
    } catch (e) {
      this.log.warn(null, `full-text index: body ${blobId} not indexed (searched without the index): ${(e as Error).message}`);
      return null;
    }
  }
}
