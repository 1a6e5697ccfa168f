import type { DB } from './schema.js';
import { MailboxOps } from './ops-mailbox.js';
import { QueueOps } from './ops-queue.js';
import { SieveOps } from './ops-sieve.js';
import type { BatchResult, PartResult, WriteBatch, WriteOp } from '../batch.js';

/** A batch's outcome as the writer returns it: per part, and the body files to remove now. */
export interface AppliedBatch extends BatchResult {
  removedBlobs: string[];
}

/**
 * Runs write batches on the writing connection: a group of batches in one transaction (one
 * fsync of the WAL for all of them), each batch in a savepoint and each part of it in another,
 * so that one failure undoes exactly what it should (batch.ts). Used by the writer thread and
 * by the in-thread writer alike.
 */
export class BatchApplier {
  private readonly mailboxes: MailboxOps;
  private readonly queue: QueueOps;
  private readonly sieve: SieveOps;

  constructor(private readonly db: DB) {
    this.mailboxes = new MailboxOps(db);
    this.sieve = new SieveOps(db);
    this.queue = new QueueOps(db, this.mailboxes);
  }

  /** Runs the group; a failure of the commit itself fails every batch of it. */
  runGroup(batches: WriteBatch[]): (AppliedBatch | Error)[] {
    const relaxed = batches.every((b) => b.durability === 'relaxed');
    // Flag changes and the like do not wait for fsync (docs/DECISIONS.md); the next FULL
    // commit fsyncs the whole WAL and makes them durable too.
    if (relaxed) this.db.pragma('synchronous = NORMAL');
    try {
      return this.db.transaction(() => batches.map((b) => this.runBatch(b)))();
    } catch (e) {
      return batches.map(() => e as Error);
    } finally {
      if (relaxed) this.db.pragma('synchronous = FULL');
    }
  }

  private runBatch(b: WriteBatch): AppliedBatch | Error {
    const removedBlobs: string[] = [];
    try {
      const parts = this.db.transaction(() => b.parts.map((part): PartResult => {
        const removed: string[] = [];
        try {
          const results = this.db.transaction(() => part.ops.map((op) => this.apply(op, (ids) => removed.push(...ids))))();
          removedBlobs.push(...removed);
          return { ok: true, results };
        } catch (e) {
          if (!part.mayFail) throw e;
          return { ok: false, error: e as Error };
        }
      }))();
      return { parts, removedBlobs };
    } catch (e) {
      return e as Error;
    }
  }

  private apply(o: WriteOp, collect: (ids: string[]) => void): unknown {
    const m = this.mailboxes;
    const q = this.queue;
    switch (o.op) {
      case 'user.create': return m.createUser(o);
      case 'user.delete': return m.deleteUser(o, collect);
      case 'user.setPassword': return m.setPassword(o);
      case 'secrets.write': return m.writeSecrets(o);
      case 'mailbox.create': return m.createMailbox(o);
      case 'mailbox.rename': return m.renameMailbox(o);
      case 'mailbox.delete': return m.deleteMailbox(o, collect);
      case 'subscription.set': return m.setSubscribed(o);
      case 'message.append': return m.append(o.req);
      case 'message.expunge': return m.expunge(o, collect);
      case 'message.flags': return m.updateFlags(o);
      case 'message.copy': return m.copy(o);
      case 'blob.mime': return m.setMime(o);
      case 'blob.text': return m.text.index(o.items);
      case 'blob.collect': return m.collect(o.blobIds, collect);
      case 'acl.set': return m.setAcl(o);
      case 'acl.modify': return m.modifyAcl(o);
      case 'quota.set': return m.setQuota(o);
      case 'queue.insert': return q.insert(o);
      case 'queue.deliverLocal': return q.deliverLocal(o);
      case 'rcpt.status': return q.setStatus(o);
      case 'rcpt.add': return q.addRecipient(o);
      case 'rcpt.defer': return q.defer(o);
      case 'rcpt.retryAt': return q.retryAt(o);
      case 'rcpt.warned': return q.warned(o);
      case 'queue.finish': return q.finish(o, collect);
      case 'queue.delete': return q.delete(o, collect);
      case 'queue.hold': return q.hold(o);
      case 'stats.add': return q.addStats(o.counts);
      case 'sieve.put': return this.sieve.put(o);
      case 'sieve.activate': return this.sieve.activate(o);
      case 'sieve.delete': return this.sieve.delete(o);
      case 'sieve.rename': return this.sieve.rename(o);
      case 'sieve.remember': return this.sieve.remember(o);
    }
  }
}
