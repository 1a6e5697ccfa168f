import type { Store } from '../store/types.js';
import type { BlobStore } from '../store/blobs.js';
import type { LocalAppend, WriteOp } from '../store/batch.js';
import type { DueRecipient } from '../store/queue.js';
import type { Logger } from '../log/logger.js';
import type { SieveDelivery, SieveOutcome } from '../delivery/sieve-delivery.js';
import type { MessageEnvelope } from './types.js';
import { newQueueId } from './ids.js';

/** Sieve's decision for one local user of a due recipient, with its folders found (or made). */
export interface SievePlan {
  outcome: SieveOutcome;
  folders: { name: string; mailboxId: number; flags: string[]; body?: { id: string; size: number } }[];
  /** Bodies written for edited copies (editheader): removed again when the batch fails. */
  bodies: string[];
}

/** What the queue run adds to a recipient's batch part for one user's Sieve outcome. */
export interface SieveOps {
  appends: (LocalAppend & { folder: string })[];
  ops: WriteOp[];
  /** The user's mail was dealt with without a mailbox copy (discard, redirect): the recipient is done. */
  handled: boolean;
  reject: string | null;
}

/**
 * The queue run's side of Sieve (src/delivery/sieve-delivery.ts): run the scripts on the
 * stored message before the batch, find or create the folders, then put the appends, the
 * staged replies' queue records and Sieve's memory into the recipient's one part.
 */
export class SieveRunner {
  constructor(private readonly o: { sieve: SieveDelivery; store: Store; blobs: BlobStore; log: Logger }) {}

  async plan(row: DueRecipient, user: string, inbox: number | null): Promise<SievePlan | null> {
    const account = await this.o.store.getUser(user);
    if (!account || inbox === null) return null;
    const env = JSON.parse(row.envelope) as MessageEnvelope;
    const message = await this.o.blobs.read(row.blobId, row.size);
    const outcome = await this.o.sieve.evaluate({
      user, rcpt: row.rcpt, orcpt: row.orcpt, sender: row.sender, ...(env.authUser ? { authUser: env.authUser } : {}),
      message, traceSkip: row.traceSkip,
      mailboxExists: async (name) => name.toUpperCase() === 'INBOX' || (await this.o.store.getMailbox(account.id, name)) !== null,
    });
    if (!outcome) return null;
    const folders: SievePlan['folders'] = [];
    const bodies: string[] = [];
    for (const f of outcome.folders) {
      const body = f.message ? await this.writeBody(f.message) : undefined;
      if (body) bodies.push(body.id);
      const extra = body ? { body } : {};
      if (f.mailbox.toUpperCase() === 'INBOX') {
        folders.push({ name: 'INBOX', mailboxId: inbox, flags: f.flags, ...extra });
        continue;
      }
      let box = await this.o.store.getMailbox(account.id, f.mailbox);
      if (!box && f.create) {
        // RFC 5490 3.2 fileinto :create. Made before the batch: an empty folder left by a crash is harmless.
        box = await this.o.store.createMailbox(account.id, f.mailbox, null, { parents: true }).catch(() => this.o.store.getMailbox(account.id, f.mailbox));
      }
      if (!box) {
        // RFC 5228 4.1: a fileinto that cannot be done keeps the message instead.
        outcome.logs.push(`sieve: fileinto "${f.mailbox}": no such mailbox; kept in INBOX`);
        folders.push({ name: 'INBOX', mailboxId: inbox, flags: f.flags, ...extra });
        continue;
      }
      folders.push({ name: box.name, mailboxId: box.id, flags: f.flags, ...extra });
    }
    const seen = new Set<number>();
    return { outcome, bodies, folders: folders.filter((f) => (seen.has(f.mailboxId) ? false : (seen.add(f.mailboxId), true))) };
  }

  /** An edited copy's own body file (fsync'd); its row comes with the append (LocalAppend.newBlob). */
  private async writeBody(message: Buffer): Promise<{ id: string; size: number }> {
    const id = newQueueId();
    const w = await this.o.blobs.create(id);
    try {
      await w.write([message]);
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    return { id, size: message.length };
  }

  /** The ops of one user's Sieve outcome; idempotency keys per folder ("ID:user" for INBOX, as without Sieve). */
  ops(row: DueRecipient, user: string, p: SievePlan): SieveOps {
    const now = Date.now();
    const out: SieveOps = { appends: [], ops: [], handled: false, reject: p.outcome.reject };
    if (p.outcome.reject !== null) return out;
    for (const f of p.folders) {
      out.appends.push({
        user, mailboxId: f.mailboxId, blobId: f.body?.id ?? row.blobId, size: f.body?.size ?? row.size, internalDate: now, folder: f.name,
        ...(f.body ? { newBlob: true } : {}),
        idempotencyKey: f.name === 'INBOX' ? `${row.queueId}:${user}` : `${row.queueId}:${user}:${f.name}`,
        ...(f.flags.length ? { flags: f.flags } : {}),
      });
    }
    for (const m of p.outcome.outgoing) out.ops.push(m.op);
    for (const r of p.outcome.remember) out.ops.push({ op: 'sieve.remember', user, key: r.key, expires: r.expires, now });
    out.handled = !out.appends.length;
    return out;
  }

  /** The part that carried staged replies did not commit: their body files go (the retry stages new ones). */
  async dropStaged(p: SievePlan): Promise<void> {
    for (const id of [...p.outcome.outgoing.map((m) => m.id), ...p.bodies]) await this.o.blobs.remove(id).catch(() => undefined);
  }
}
