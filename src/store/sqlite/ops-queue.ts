import type { Statement } from 'better-sqlite3';
import type { DB } from './schema.js';
import type { MailboxOps } from './ops-mailbox.js';
import type { AppendOutcome, WriteOp } from '../batch.js';

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

const inList = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The queue operations of a write batch, run by the writer inside its transaction. */
export class QueueOps {
  private readonly q;
  private readonly shaped = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: DB, private readonly mailboxes: MailboxOps) {
    this.q = {
      blob: db.prepare('INSERT INTO blobs (id, size) VALUES (?, ?)'),
      queue: db.prepare('INSERT INTO queue (id, blob_id, sender, envelope, size, trace_skip, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      rcpt: db.prepare('INSERT OR IGNORE INTO queue_rcpt (queue_id, rcpt, orcpt, notify) VALUES (?, ?, ?, ?)'),
      stat: db.prepare('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value'),
      addRcpt: db.prepare(`INSERT INTO queue_rcpt (queue_id, rcpt, orcpt, notify, status) VALUES (?, ?, ?, ?, ?)
                             ON CONFLICT (queue_id, rcpt) DO UPDATE SET status = excluded.status WHERE status = ?`),
      defer: db.prepare(`UPDATE queue_rcpt SET next_attempt = ?, attempts = attempts + 1, last_error = ? WHERE queue_id = ? AND rcpt = ? AND status = ?`),
      warnedIns: db.prepare('INSERT OR IGNORE INTO queue_warned (queue_id, rcpt) VALUES (?, ?)'),
      left: db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM queue_rcpt WHERE queue_id = ? AND status IN ('pending', 'remote')`),
      del: db.prepare<[string], { blob_id: string }>('DELETE FROM queue WHERE id = ? RETURNING blob_id'),
      hold: db.prepare('UPDATE queue SET held = ? WHERE id = ?'),
    };
  }

  insert(o: Op<'queue.insert'>): void {
    this.q.blob.run(o.id, o.size);
    this.q.queue.run(o.id, o.id, o.sender, o.envelope, o.size, o.traceSkip, o.created);
    for (const r of o.recipients) this.q.rcpt.run(o.id, r.rcpt, r.orcpt, r.notify);
    this.addStats([[`received.${o.via}.msgs`, 1], [`received.${o.via}.bytes`, o.size]]);
  }

  deliverLocal(o: Op<'queue.deliverLocal'>): AppendOutcome[] {
    const out: AppendOutcome[] = [];
    let ok = 0;
    for (const a of o.appends) {
      try {
        // A savepoint of its own: one mailbox over quota does not undo the others.
        const record = this.db.transaction(() => this.mailboxes.append({
          mailboxId: a.mailboxId, blobId: a.blobId, size: a.size, internalDate: a.internalDate, idempotencyKey: a.idempotencyKey, ...(a.flags?.length ? { flags: a.flags } : {}), ...(a.newBlob ? { newBlob: { mime: null } } : {}),
        }))();
        out.push({ ok: true, record });
        ok++;
      } catch (e) {
        out.push({ ok: false, error: e as Error });
      }
    }
    if (ok) this.addStats([['delivered.local.msgs', ok], ['delivered.local.bytes', o.appends.filter((_, i) => out[i].ok).reduce((n, a) => n + a.size, 0)]]);
    if (ok || o.doneAnyway) this.setStatus({ op: 'rcpt.status', queueId: o.queueId, rcpt: o.rcpt, status: 'done', from: null, attempt: true });
    return out;
  }

  setStatus(o: Op<'rcpt.status'>): boolean {
    const sets = ['status = ?'];
    const args: unknown[] = [o.status];
    if (o.attempt) sets.push('attempts = attempts + 1');
    if (o.lastError !== undefined) {
      sets.push('last_error = ?');
      args.push(o.lastError);
    }
    const where = o.from ? ` AND status IN (${inList(o.from.length)})` : '';
    const sql = `UPDATE queue_rcpt SET ${sets.join(', ')} WHERE queue_id = ? AND rcpt = ?${where}`;
    return this.prep(sql).run(...args, o.queueId, o.rcpt, ...(o.from ?? [])).changes > 0;
  }

  addRecipient(o: Op<'rcpt.add'>): void {
    this.q.addRcpt.run(o.queueId, o.rcpt, o.orcpt, o.notify, o.status, o.upgradeFrom);
  }

  defer(o: Op<'rcpt.defer'>): void {
    this.q.defer.run(o.next, o.lastError, o.queueId, o.rcpt, o.status);
  }

  retryAt(o: Op<'rcpt.retryAt'>): number {
    const where: string[] = [`status IN (${inList(o.status.length)})`];
    const args: unknown[] = [o.next, ...o.status];
    if (o.queueId !== null) {
      where.push('queue_id = ?');
      args.push(o.queueId);
    }
    if (o.rcpt !== null) {
      where.push('rcpt = ?');
      args.push(o.rcpt);
    }
    return this.prep(`UPDATE queue_rcpt SET next_attempt = ? WHERE ${where.join(' AND ')}`).run(...args).changes;
  }

  warned(o: Op<'rcpt.warned'>): boolean {
    return this.q.warnedIns.run(o.queueId, o.rcpt).changes > 0;
  }

  finish(o: Op<'queue.finish'>, collect: (ids: string[]) => void): void {
    const gone: string[] = [];
    for (const id of new Set(o.queueIds)) {
      if (this.q.left.get(id)!.n !== 0) continue;
      const r = this.q.del.get(id);
      if (r) gone.push(r.blob_id);
    }
    if (gone.length) this.mailboxes.collect(gone, collect);
  }

  delete(o: Op<'queue.delete'>, collect: (ids: string[]) => void): boolean {
    const r = this.q.del.get(o.id);
    if (r) this.mailboxes.collect([r.blob_id], collect);
    return !!r;
  }

  hold(o: Op<'queue.hold'>): boolean {
    return this.q.hold.run(o.held ? 1 : 0, o.id).changes > 0;
  }

  /** The one place the counters of `correo stats` change. */
  addStats(counts: [string, number][]): void {
    for (const [k, n] of counts) if (n) this.q.stat.run(k, n);
  }

  /** Statements whose shape depends on the op's arguments, prepared once per shape. */
  private prep(sql: string): Statement<unknown[]> {
    let st = this.shaped.get(sql);
    if (!st) this.shaped.set(sql, (st = this.db.prepare<unknown[]>(sql)));
    return st;
  }
}
