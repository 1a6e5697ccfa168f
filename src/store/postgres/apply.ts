import type pg from 'pg';
import { PgMailboxOps } from './ops-mailbox.js';
import { PgQueueOps } from './ops-queue.js';
import { PgSieveOps } from './ops-sieve.js';
import type { BatchResult, PartResult, WriteBatch, WriteOp } from '../batch.js';

/** A batch's outcome: per part, and the bodies whose rows went (their bytes are removed after the commit). */
export interface PgAppliedBatch extends BatchResult {
  removedBlobs: string[];
}

/** Deadlock, serialisation failure: the whole batch is run again (nothing of it was kept). */
const RETRYABLE = new Set(['40P01', '40001']);
const TRIES = 5;

/**
 * Runs one write batch as one transaction on a pooled connection, each part in a savepoint
 * (batch.ts: a failing `mayFail` part is undone alone). Batches of different sessions run in
 * parallel on different connections; PostgreSQL groups their WAL flushes itself (group commit).
 * A relaxed batch commits with synchronous_commit off: on the server's disk within a moment,
 * not waited for (docs/DECISIONS.md, the same promise as SQLite's relaxed commits).
 */
export async function runPgBatch(pool: pg.Pool, batch: WriteBatch): Promise<PgAppliedBatch> {
  for (let attempt = 1; ; attempt++) {
    const c = await pool.connect();
    let broken = false;
    try {
      await c.query(batch.durability === 'relaxed' ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
      const r = await runParts(c, batch);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => { broken = true; });
      if (attempt < TRIES && RETRYABLE.has((e as { code?: string }).code ?? '')) continue;
      throw e;
    } finally {
      c.release(broken);
    }
  }
}

async function runParts(c: pg.PoolClient, batch: WriteBatch): Promise<PgAppliedBatch> {
  const mailboxes = new PgMailboxOps(c);
  const queue = new PgQueueOps(c, mailboxes);
  const sieve = new PgSieveOps(c);
  const removedBlobs: string[] = [];
  const parts: PartResult[] = [];
  for (const part of batch.parts) {
    const removed: string[] = [];
    await c.query('SAVEPOINT part');
    try {
      const results: unknown[] = [];
      for (const op of part.ops) results.push(await apply(mailboxes, queue, sieve, op, (ids) => removed.push(...ids)));
      await c.query('RELEASE SAVEPOINT part');
      removedBlobs.push(...removed);
      parts.push({ ok: true, results });
    } catch (e) {
      // A lost connection or a deadlock is no failure of the part: the whole batch fails (or is retried).
      if (!part.mayFail || RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
      await c.query('ROLLBACK TO SAVEPOINT part');
      parts.push({ ok: false, error: e as Error });
    }
  }
  return { parts, removedBlobs };
}

function apply(m: PgMailboxOps, q: PgQueueOps, s: PgSieveOps, o: WriteOp, collect: (ids: string[]) => void): Promise<unknown> {
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
    case 'blob.text': return m.setText(o);
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
    case 'sieve.put': return s.put(o);
    case 'sieve.activate': return s.activate(o);
    case 'sieve.delete': return s.delete(o);
    case 'sieve.rename': return s.rename(o);
    case 'sieve.remember': return s.remember(o);
  }
}
