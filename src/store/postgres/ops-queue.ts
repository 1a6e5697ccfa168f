import type pg from 'pg';
import type { PgMailboxOps } from './ops-mailbox.js';
import type { AppendOutcome, WriteOp } from '../batch.js';

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

/** Counters are spread over this many rows per key: one hot row would serialise every intake commit on its lock. */
const STAT_SHARDS = 16;

/**
 * The queue operations of a write batch on PostgreSQL, inside the batch's transaction; the same
 * semantics as sqlite/ops-queue.ts. A status change ends the recipient's lease (the node that
 * claimed it is done with it, queue.ts).
 */
export class PgQueueOps {
  constructor(private readonly c: pg.ClientBase, private readonly mailboxes: PgMailboxOps) {}

  async insert(o: Op<'queue.insert'>): Promise<void> {
    await this.c.query('INSERT INTO blobs (id, size) VALUES ($1, $2)', [o.id, o.size]);
    await this.c.query('INSERT INTO queue (id, blob_id, sender, envelope, size, trace_skip, created) VALUES ($1, $1, $2, $3, $4, $5, $6)',
      [o.id, o.sender, o.envelope, o.size, o.traceSkip, o.created]);
    if (o.recipients.length) {
      await this.c.query(
        `INSERT INTO queue_rcpt (queue_id, rcpt, orcpt, notify) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
        [o.id, o.recipients.map((r) => r.rcpt), o.recipients.map((r) => r.orcpt), o.recipients.map((r) => r.notify)]);
    }
    await this.addStats([[`received.${o.via}.msgs`, 1], [`received.${o.via}.bytes`, o.size]]);
  }

  async deliverLocal(o: Op<'queue.deliverLocal'>): Promise<AppendOutcome[]> {
    const out: AppendOutcome[] = new Array(o.appends.length);
    // In mailbox order: two transactions delivering to the same users take their locks in the
    // same order, so they wait for each other instead of deadlocking.
    const order = o.appends.map((a, i) => ({ a, i })).sort((x, y) => x.a.mailboxId - y.a.mailboxId);
    let ok = 0;
    let bytes = 0;
    for (const { a, i } of order) {
      // A savepoint of its own: one mailbox over quota does not undo the others.
      await this.c.query('SAVEPOINT append');
      try {
        const record = await this.mailboxes.append({
          mailboxId: a.mailboxId, blobId: a.blobId, size: a.size, internalDate: a.internalDate, idempotencyKey: a.idempotencyKey, ...(a.flags?.length ? { flags: a.flags } : {}), ...(a.newBlob ? { newBlob: { mime: null } } : {}),
        });
        await this.c.query('RELEASE SAVEPOINT append');
        out[i] = { ok: true, record };
        ok++;
        bytes += a.size;
      } catch (e) {
        await this.c.query('ROLLBACK TO SAVEPOINT append');
        out[i] = { ok: false, error: e as Error };
      }
    }
    if (ok) await this.addStats([['delivered.local.msgs', ok], ['delivered.local.bytes', bytes]]);
    if (ok || o.doneAnyway) await this.setStatus({ op: 'rcpt.status', queueId: o.queueId, rcpt: o.rcpt, status: 'done', from: null, attempt: true });
    return out;
  }

  async setStatus(o: Op<'rcpt.status'>): Promise<boolean> {
    const args: unknown[] = [o.status, o.queueId, o.rcpt];
    const sets = ['status = $1', 'lease_owner = NULL', 'lease_until = 0'];
    if (o.attempt) sets.push('attempts = attempts + 1');
    if (o.lastError !== undefined) {
      args.push(o.lastError);
      sets.push(`last_error = $${args.length}`);
    }
    let where = 'queue_id = $2 AND rcpt = $3';
    if (o.from) {
      args.push(o.from);
      where += ` AND status = ANY($${args.length}::text[])`;
    }
    return ((await this.c.query(`UPDATE queue_rcpt SET ${sets.join(', ')} WHERE ${where}`, args)).rowCount ?? 0) > 0;
  }

  async addRecipient(o: Op<'rcpt.add'>): Promise<void> {
    await this.c.query(`INSERT INTO queue_rcpt (queue_id, rcpt, orcpt, notify, status) VALUES ($1, $2, $3, $4, $5)
                          ON CONFLICT (queue_id, rcpt) DO UPDATE SET status = excluded.status, lease_owner = NULL, lease_until = 0
                          WHERE queue_rcpt.status = $6`, [o.queueId, o.rcpt, o.orcpt, o.notify, o.status, o.upgradeFrom]);
  }

  async defer(o: Op<'rcpt.defer'>): Promise<void> {
    await this.c.query(`UPDATE queue_rcpt SET next_attempt = $1, attempts = attempts + 1, last_error = $2, lease_owner = NULL, lease_until = 0
                         WHERE queue_id = $3 AND rcpt = $4 AND status = $5`, [o.next, o.lastError, o.queueId, o.rcpt, o.status]);
  }

  async retryAt(o: Op<'rcpt.retryAt'>): Promise<number> {
    const args: unknown[] = [o.next, o.status];
    const where = ['status = ANY($2::text[])'];
    if (o.queueId !== null) {
      args.push(o.queueId);
      where.push(`queue_id = $${args.length}`);
    }
    if (o.rcpt !== null) {
      args.push(o.rcpt);
      where.push(`rcpt = $${args.length}`);
    }
    return (await this.c.query(`UPDATE queue_rcpt SET next_attempt = $1 WHERE ${where.join(' AND ')}`, args)).rowCount ?? 0;
  }

  async warned(o: Op<'rcpt.warned'>): Promise<boolean> {
    return ((await this.c.query('INSERT INTO queue_warned (queue_id, rcpt) VALUES ($1, $2) ON CONFLICT DO NOTHING', [o.queueId, o.rcpt])).rowCount ?? 0) > 0;
  }

  async finish(o: Op<'queue.finish'>, collect: (ids: string[]) => void): Promise<void> {
    const ids = [...new Set(o.queueIds)].sort();
    if (!ids.length) return;
    const gone = (await this.c.query<{ blob_id: string }>(
      `DELETE FROM queue q WHERE q.id = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM queue_rcpt r WHERE r.queue_id = q.id AND r.status IN ('pending', 'remote'))
        RETURNING q.blob_id`, [ids])).rows.map((r) => r.blob_id);
    if (gone.length) await this.mailboxes.collect(gone, collect);
  }

  async delete(o: Op<'queue.delete'>, collect: (ids: string[]) => void): Promise<boolean> {
    const r = (await this.c.query<{ blob_id: string }>('DELETE FROM queue WHERE id = $1 RETURNING blob_id', [o.id])).rows[0];
    if (r) await this.mailboxes.collect([r.blob_id], collect);
    return !!r;
  }

  async hold(o: Op<'queue.hold'>): Promise<boolean> {
    return ((await this.c.query('UPDATE queue SET held = $1 WHERE id = $2', [o.held, o.id])).rowCount ?? 0) > 0;
  }

  /** The one place the counters of `correo stats` change. */
  async addStats(counts: [string, number][]): Promise<void> {
    const sums = new Map<string, number>();
    for (const [k, n] of counts) if (n) sums.set(k, (sums.get(k) ?? 0) + n);
    const live = [...sums];
    if (!live.length) return;
    const shard = Math.floor(Math.random() * STAT_SHARDS);
    await this.c.query(
      `INSERT INTO stats (key, shard, value) SELECT k, $1, v FROM unnest($2::text[], $3::bigint[]) AS t(k, v)
       ON CONFLICT (key, shard) DO UPDATE SET value = stats.value + excluded.value`,
      [shard, live.map(([k]) => k), live.map(([, n]) => n)]);
  }
}
