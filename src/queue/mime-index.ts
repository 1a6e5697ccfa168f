import type { BlobStore } from '../store/blobs.js';
import type { MailboxStore } from '../store/mailboxes.js';
import type { QueueStore } from '../store/queue.js';
import type { Logger } from '../log/logger.js';
import { parseMessage } from '../mime/parse.js';

/**
 * DESIGN.md: MIME is parsed once, at delivery; the tree is stored with the body so that IMAP
 * FETCH of ENVELOPE/BODYSTRUCTURE reads no file and BODY[part] is a slice of one. Trees of many
 * messages go in one relaxed batch (a lost tree is parsed again on first use).
 */
export class MimeIndexer {
  private pending: [string, string][] = [];
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

  /** The same, for callers that want the trees stored before they go on (the queue run). */
  async indexNow(blobIds: string[]): Promise<void> {
    await this.parse(blobIds);
  }

  private async parse(blobIds: string[], sizes?: number[]): Promise<void> {
    const known = await this.mailboxes.getMime([...new Set(blobIds)]);
    for (const [id, mime] of known) {
      if (mime !== null) continue;
      try {
        const size = sizes?.[blobIds.indexOf(id)];
        this.pending.push([id, JSON.stringify(parseMessage(await this.blobs.read(id, size)))]);
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
    const items = this.pending;
    this.pending = [];
    if (!items.length) return;
    try {
      await this.queue.commit({ durability: 'relaxed', parts: [{ ops: [{ op: 'blob.mime', items }] }] });
    } catch (e) {
      this.log.warn(null, `cannot store ${items.length} MIME trees (IMAP parses them on first use): ${(e as Error).message}`);
    }
  }

  /** Stores what is pending; for shutdown. */
  async stop(): Promise<void> {
    await this.running;
    await this.flush();
  }
}
