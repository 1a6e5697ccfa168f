import type { MailboxStore } from '../store/mailboxes.js';
import type { ChangeNotifier, QueueSignal } from '../store/notify.js';
import type { MessageRecord } from '../store/types.js';
import type { WriteOp } from '../store/batch.js';
import type { AddressResolver } from '../delivery/resolve.js';
import type { Logger } from '../log/logger.js';
import type { MimeIndexer } from './mime-index.js';
import type { SieveDelivery } from '../delivery/sieve-delivery.js';
import type { MessageEnvelope } from './types.js';

export interface FastPathOptions {
  resolver: AddressResolver;
  mailboxes: MailboxStore;
  changes: ChangeNotifier;
  signal: QueueSignal;
  mime: MimeIndexer;
  log: Logger;
  /** Whether an outbound scheduler runs to take remote recipients. */
  remote: boolean;
  /** Users with Sieve scripts are left to the queue run, which runs them on the stored message. */
  sieve?: SieveDelivery | null;
}

export interface FastPathPlan {
  /** The delivery part of the intake batch (store/batch.ts): appends and recipient updates. */
  ops: WriteOp[];
  /** After the commit: log lines, IDLE notifications, the MIME index, the outbound wake-up. */
  announce(results: unknown[]): void;
}

/**
 * The SMTP fast path: when every recipient resolves to local users (or stays as it is for
 * outbound delivery), the message is appended to their mailboxes in the same commit that
 * records the queue entry, and the entry is gone before the client hears 250: one commit
 * instead of three, still all-or-nothing per part (store/batch.ts).
 */
export class FastPath {
  constructor(private readonly o: FastPathOptions) {}

  /** The delivery ops for a new entry, or null to leave it to the queue run. */
  async plan(queueId: string, envelope: MessageEnvelope, size: number): Promise<FastPathPlan | null> {
    const local: { rcpt: string; user: string; mailboxId: number }[] = [];
    // Recipients that go out by SMTP as they are (a user's submitted mail): marked for the
    // outbound scheduler in this same commit rather than by a later queue run.
    const remote: string[] = [];
    for (const r of envelope.recipients) {
      if (r.notify?.some((n) => n.toUpperCase() === 'SUCCESS')) return null; // needs a success DSN
      const res = this.o.resolver.resolveSync(r.address);
      if (res.problems.length || !res.targets.length || res.external.length) return null;
      for (const t of res.targets) {
        if (t.kind === 'remote') {
          if (t.address !== r.address || !this.o.remote) return null;
          remote.push(r.address);
          continue;
        }
        if (this.o.sieve && (await this.o.sieve.applies(t.user))) return null;
        const mailboxId = await this.o.mailboxes.deliveryMailbox(t.user, !!envelope.quarantine);
        if (!mailboxId) return null;
        local.push({ rcpt: r.address, user: t.user, mailboxId });
      }
    }
    const ops: WriteOp[] = [];
    const appended: { rcpt: string; user: string; mailboxId: number; index: number }[] = [];
    const now = Date.now();
    for (const p of local) {
      if (appended.some((a) => a.user === p.user)) continue;
      appended.push({ ...p, index: ops.length });
      ops.push({ op: 'message.append', req: { mailboxId: p.mailboxId, blobId: queueId, size, internalDate: now, idempotencyKey: `${queueId}:${p.user}` } });
    }
    if (appended.length) ops.push({ op: 'stats.add', counts: [['delivered.local.msgs', appended.length], ['delivered.local.bytes', size * appended.length]] });
    const localOnly = new Set(local.map((p) => p.rcpt));
    for (const r of remote) localOnly.delete(r);
    for (const rcpt of localOnly) ops.push({ op: 'rcpt.status', queueId, rcpt, status: 'done', from: ['pending'], attempt: true });
    for (const rcpt of remote) ops.push({ op: 'rcpt.status', queueId, rcpt, status: 'remote', from: ['pending'] });
    ops.push({ op: 'queue.finish', queueIds: [queueId] });
    // The MIME tree and the full-text entry commit with the appends (announce() then finds
    // the tree stored and parses nothing).
    if (appended.length) ops.push(...(await this.o.mime.inlineOps(queueId, size)));
    return { ops, announce: (results) => this.announce(queueId, size, envelope, now, appended.map((a) => ({ ...a, uid: (results[a.index] as MessageRecord).uid })), remote) };
  }

  private announce(queueId: string, size: number, envelope: MessageEnvelope, created: number, done: { rcpt: string; user: string; mailboxId: number; uid: number }[], remote: string[]): void {
    // After the commit, off the client's path: MIME parsed once, stored for IMAP FETCH.
    if (done.length) this.o.mime.index([queueId], [size]);
    for (const d of done) {
      this.o.log.info(queueId, `to=<${d.user}>${d.user !== d.rcpt ? `, orig_to=<${d.rcpt}>` : ''}, relay=local, delay=${((Date.now() - created) / 1000).toFixed(2)}, status=sent (delivered to ${envelope.quarantine ? 'Junk' : 'INBOX'}, uid ${d.uid})`);
      this.o.changes.publish(d.mailboxId);
    }
    for (const r of remote) this.o.log.info(queueId, `to=<${r}>, status=queued for remote delivery`);
    if (remote.length) this.o.signal.wake('remote');
  }
}
