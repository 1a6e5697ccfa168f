import type { DB } from './schema.js';
import type { Committer } from './committer.js';
import type { BatchResult, WriteBatch } from '../batch.js';
import type { DueRecipient, QueueEntry, QueueRecipient, QueueStore, RecipientKey, RecipientStatus } from '../queue.js';
import type { WriteOp } from '../batch.js';

interface DueRow {
  queue_id: string; rcpt: string; orcpt: string | null; notify: string | null; attempts: number; last_error: string | null;
  sender: string; envelope: string; blob_id: string; size: number; trace_skip: number; created: number;
}
interface EntryRow { id: string; blob_id: string; sender: string; envelope: string; size: number; trace_skip: number; created: number; held: number }
interface RcptRow { rcpt: string; orcpt: string | null; notify: string | null; status: RecipientStatus; attempts: number; next_attempt: number; last_error: string | null }

const toDue = (r: DueRow): DueRecipient => ({
  queueId: r.queue_id, rcpt: r.rcpt, orcpt: r.orcpt, notify: r.notify, attempts: r.attempts, lastError: r.last_error,
  sender: r.sender, envelope: r.envelope, blobId: r.blob_id, size: r.size, traceSkip: r.trace_skip, created: r.created,
});
const toEntry = (r: EntryRow): QueueEntry => ({
  id: r.id, blobId: r.blob_id, sender: r.sender, envelope: r.envelope, size: r.size, traceSkip: r.trace_skip, created: r.created, held: !!r.held,
});

const DUE_COLUMNS = `r.queue_id, r.rcpt, r.orcpt, r.notify, r.attempts, r.last_error,
                     q.sender, q.envelope, q.blob_id, q.size, q.trace_skip, q.created`;

/** The queue on SQLite: reads on this thread's read connection, changes as write batches. */
export class SqliteQueue implements QueueStore {
  private readonly q;

  constructor(db: DB, private readonly w: Committer) {
    this.q = {
      pending: db.prepare<[number, number], DueRow>(
        `SELECT ${DUE_COLUMNS} FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
          WHERE r.status = 'pending' AND r.next_attempt <= ? AND q.held = 0 ORDER BY q.created LIMIT ?`),
      remote: db.prepare<[number, number, number], DueRow>(
        `SELECT * FROM (
           SELECT ${DUE_COLUMNS},
                  row_number() OVER (PARTITION BY lower(substr(r.rcpt, instr(r.rcpt, '@') + 1)) ORDER BY q.created) AS n
             FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
            WHERE r.status = 'remote' AND r.next_attempt <= ? AND q.held = 0)
          WHERE n <= ? ORDER BY created LIMIT ?`),
      next: db.prepare<[string, number], { t: number | null }>(
        `SELECT min(r.next_attempt) AS t FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
          WHERE r.status = ? AND r.next_attempt > ? AND q.held = 0`),
      entry: db.prepare<[string], EntryRow>('SELECT * FROM queue WHERE id = ?'),
      entries: db.prepare<[], EntryRow>('SELECT * FROM queue ORDER BY created'),
      rcpts: db.prepare<[string], RcptRow>('SELECT rcpt, orcpt, notify, status, attempts, next_attempt, last_error FROM queue_rcpt WHERE queue_id = ? ORDER BY rcpt'),
      stats: db.prepare<[], { key: string; value: number }>('SELECT key, value FROM stats'),
    };
  }

  async duePending(now: number, limit: number): Promise<DueRecipient[]> {
    return this.q.pending.all(now, limit).map(toDue);
  }

  async dueRemote(now: number, perDomain: number, limit: number): Promise<DueRecipient[]> {
    return this.q.remote.all(now, perDomain, limit).map(toDue);
  }

  /**
   * Leases live in memory: one process works a SQLite store, so a lease only has to outlive
   * the runner's own work, and a restart (the only way this node "dies") rightly forgets them.
   * No write per claim: the SQLite path stays as fast as it was (docs/DECISIONS.md).
   */
  private readonly leases = new Map<string, number>();

  async claimPending(now: number, limit: number, leaseMs: number): Promise<DueRecipient[]> {
    return this.lease(this.q.pending.all(now, limit + this.liveLeases(now)).map(toDue), now, limit, leaseMs);
  }

  async claimRemote(now: number, perDomain: number, limit: number, leaseMs: number): Promise<DueRecipient[]> {
    const held = this.liveLeases(now);
    // Leased rows take places in the query's per-domain share: ask for more, cap after.
    const free = this.q.remote.all(now, perDomain + held, limit + held).map(toDue).filter((r) => !this.leases.has(leaseKey(r)));
    const perDom = new Map<string, number>();
    const capped = free.filter((r) => {
      const d = r.rcpt.slice(r.rcpt.indexOf('@') + 1).toLowerCase();
      const n = (perDom.get(d) ?? 0) + 1;
      perDom.set(d, n);
      return n <= perDomain;
    });
    return this.lease(capped, now, limit, leaseMs);
  }

  async renewLeases(keys: RecipientKey[], leaseMs: number): Promise<void> {
    const until = Date.now() + leaseMs;
    for (const k of keys) if (this.leases.has(leaseKey(k))) this.leases.set(leaseKey(k), until);
  }

  private liveLeases(now: number): number {
    for (const [k, until] of this.leases) if (until <= now) this.leases.delete(k);
    return this.leases.size;
  }

  private lease(rows: DueRecipient[], now: number, limit: number, leaseMs: number): DueRecipient[] {
    const out = rows.filter((r) => !this.leases.has(leaseKey(r))).slice(0, limit);
    for (const r of out) this.leases.set(leaseKey(r), now + leaseMs);
    return out;
  }

  async nextAttempt(status: 'pending' | 'remote', after: number): Promise<number | null> {
    return this.q.next.get(status, after)?.t ?? null;
  }

  async entry(id: string): Promise<QueueEntry | null> {
    const r = this.q.entry.get(id);
    return r ? toEntry(r) : null;
  }

  async entries(): Promise<QueueEntry[]> {
    return this.q.entries.all().map(toEntry);
  }

  async recipients(queueId: string): Promise<QueueRecipient[]> {
    return this.q.rcpts.all(queueId).map((r) => ({
      rcpt: r.rcpt, orcpt: r.orcpt, notify: r.notify, status: r.status, attempts: r.attempts, nextAttempt: r.next_attempt, lastError: r.last_error,
    }));
  }

  async stats(): Promise<Map<string, number>> {
    return new Map(this.q.stats.all().map((r) => [r.key, r.value]));
  }

  async commit(batch: WriteBatch): Promise<BatchResult> {
    const r = await this.w.commit(batch);
    if (this.leases.size) for (const part of batch.parts) for (const op of part.ops) endLease(this.leases, op);
    return r;
  }
}

const leaseKey = (k: RecipientKey) => `${k.queueId}\0${k.rcpt}`;

/** A status change ends the recipient's lease (queue.ts). */
function endLease(leases: Map<string, number>, op: WriteOp): void {
  switch (op.op) {
    case 'rcpt.status': case 'rcpt.defer': case 'rcpt.add': case 'queue.deliverLocal':
      leases.delete(leaseKey(op));
      break;
    case 'queue.delete':
      for (const k of leases.keys()) if (k.startsWith(`${op.id}\0`)) leases.delete(k);
      break;
    default:
  }
}
