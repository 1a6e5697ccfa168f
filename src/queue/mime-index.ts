import type { BlobStore } from '../store/blobs.js';
import type { MailboxStore } from '../store/mailboxes.js';
import type { QueueStore } from '../store/queue.js';
import type { WriteOp } from '../store/batch.js';
import type { IndexedText } from '../store/search.js';
import type { Logger } from '../log/logger.js';
import { parseMessage } from '../mime/parse.js';
import { indexText } from '../mime/search-text.js';

/** Bodies up to this size are parsed in the delivery's own batch (SMTP fast path); larger ones after it. */
export const INLINE_INDEX_MAX = 256 * 1024;

/**
 * The write ops that record what is derived from a body: its MIME tree (DESIGN.md: parsed once,
 * at delivery) and its full-text index entry (src/store/search.ts; null when the text cannot
 * be extracted, which keeps the body a candidate of every search).
 */
export function bodyIndexOps(blobId: string, raw: Buffer): WriteOp[] {
  const tree = parseMessage(raw);
  let text: IndexedText | null = null;
  try {
    text = indexText(tree, raw);
  } catch {
    text = null;
  }
  return [{ op: 'blob.mime', items: [[blobId, JSON.stringify(tree)]] }, { op: 'blob.text', items: [[blobId, text]] }];
}

/**
 * DESIGN.md: MIME is parsed once, at delivery; the tree is stored with the body so that IMAP
 * FETCH of ENVELOPE/BODYSTRUCTURE reads no file and BODY[part] is a slice of one. The same pass
 * extracts the body's text for the full-text index. Many bodies go in one relaxed batch (a lost
 * tree is parsed again on first use; a lost text entry leaves the body a candidate of every
 * search until the background indexer redoes it).
 */
export class MimeIndexer {
  private pending: WriteOp[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = Promise.resolve();

  constructor(private readonly blobs: BlobStore, private readonly mailboxes: MailboxStore, private readonly queue: QueueStore, private readonly log: Logger) {}

  /**
   * Parses the bodies not indexed yet, in the background. `sizes` (each body's size, when the
   * caller knows it) lets a small body be read in one synchronous call (BlobStore.read).
   */
  index(blobIds: string[], sizes?: number[]): void {
    this.running = this.running.then(() => this.parse(blobIds, sizes)).catch(() => undefined);
  }

  /**
   * The index ops of a small body for its delivery's own batch (the SMTP fast path), so that
   * the message is searchable through the index from its first moment; [] for a large body
   * (indexed after the commit) or one that cannot be read or parsed.
   */
  async inlineOps(blobId: string, size: number): Promise<WriteOp[]> {
    if (size > INLINE_INDEX_MAX) return [];
    try {
      return bodyIndexOps(blobId, await this.blobs.read(blobId, size));
    } catch {
      return [];
    }
  }

  /** The same, for callers that want the trees stored before they go on (the queue run). */
  async indexNow(blobIds: string[]): Promise<void> {
    await this.parse(blobIds);
    await this.flush();
  }

  private async parse(blobIds: string[], sizes?: number[]): Promise<void> {
    const known = await this.mailboxes.getMime([...new Set(blobIds)]);
    for (const [id, mime] of known) {
      if (mime !== null) continue;
      try {
        const size = sizes?.[blobIds.indexOf(id)];
        this.pending.push(...bodyIndexOps(id, await this.blobs.read(id, size)));
      } catch (e) {
        // IMAP parses it on first use instead; delivery does not wait for it.
        this.log.warn(null, `cannot index MIME of blob ${id}: ${(e as Error).message}`);
      }
    }
    if (this.pending.length && !this.timer) {
      this.timer = setTimeout(() => void this.flush(), 20);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ops = this.pending;
    this.pending = [];
    if (!ops.length) return;
    try {
      await this.queue.commit({ durability: 'relaxed', parts: [{ ops }] });
    } catch (e) {
      this.log.warn(null, `cannot store the index of ${ops.length / 2} bodies (IMAP parses them on first use): ${(e as Error).message}`);
    }
  }

  /** Stores what is pending; for shutdown. */
  async stop(): Promise<void> {
    await this.running;
    await this.flush();
  }
}
