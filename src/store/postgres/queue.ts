import type pg from 'pg';
import type { PgCommitter } from './committer.js';
import type { BatchResult, WriteBatch } from '../batch.js';
import type { DueRecipient, QueueEntry, QueueRecipient, QueueStore, RecipientKey, RecipientStatus } from '../queue.js';

interface DueRow {
  queue_id: string; rcpt: string; orcpt: string | null; notify: string | null; attempts: number; last_error: string | null;
  sender: string; envelope: string; blob_id: string; size: number; trace_skip: number; created: number;
}
interface EntryRow { id: string; blob_id: string; sender: string; envelope: string; size: number; trace_skip: number; created: number; held: boolean }
interface RcptRow { rcpt: string; orcpt: string | null; notify: string | null; status: RecipientStatus; attempts: number; next_attempt: number; last_error: string | null }

const toDue = (r: DueRow): DueRecipient => ({
  queueId: r.queue_id, rcpt: r.rcpt, orcpt: r.orcpt, notify: r.notify, attempts: r.attempts, lastError: r.last_error,
  sender: r.sender, envelope: r.envelope, blobId: r.blob_id, size: r.size, traceSkip: r.trace_skip, created: r.created,
});
const toEntry = (r: EntryRow): QueueEntry => ({
  id: r.id, blobId: r.blob_id, sender: r.sender, envelope: r.envelope, size: r.size, traceSkip: r.trace_skip, created: r.created, held: r.held,
});

const DUE_COLUMNS = `r.queue_id, r.rcpt, r.orcpt, r.notify, r.attempts, r.last_error,
                     q.sender, q.envelope, q.blob_id, q.size, q.trace_skip, q.created`;

/** Due recipients of `status`, oldest first, at most $3 per recipient domain ($3 null: no limit), $4 in all. */
const DUE = `SELECT * FROM (
               SELECT ${DUE_COLUMNS},
                      row_number() OVER (PARTITION BY lower(split_part(r.rcpt, '@', -1)) ORDER BY q.created, r.queue_id, r.rcpt) AS n
                 FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
                WHERE r.status = $1 AND r.next_attempt <= $2 AND NOT q.held AND r.lease_until <= $2) d
             WHERE $3::bigint IS NULL OR n <= $3 ORDER BY created, queue_id, rcpt LIMIT $4`;

/**
 * The queue on PostgreSQL. Several nodes work it at once: a runner claims the recipients it
 * will deliver (claim*), which leases them to its node; a claim skips rows another node is
 * claiming this instant (FOR UPDATE SKIP LOCKED) and rows whose lease still runs, so each due
 * recipient goes to one node. A status change ends the lease; a node that dies holds its rows
 * until the lease runs out, then any node takes them again.
 */
export class PgQueue implements QueueStore {
  constructor(private readonly pool: pg.Pool, private readonly w: PgCommitter, private readonly node: string) {}

  private async rows<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, args)).rows;
  }

  async duePending(now: number, limit: number): Promise<DueRecipient[]> {
    return (await this.rows<DueRow>(DUE, ['pending', now, null, limit])).map(toDue);
  }

  async dueRemote(now: number, perDomain: number, limit: number): Promise<DueRecipient[]> {
    return (await this.rows<DueRow>(DUE, ['remote', now, perDomain, limit])).map(toDue);
  }

  claimPending(now: number, limit: number, leaseMs: number): Promise<DueRecipient[]> {
    return this.claim('pending', now, null, limit, leaseMs);
  }

  claimRemote(now: number, perDomain: number, limit: number, leaseMs: number): Promise<DueRecipient[]> {
    return this.claim('remote', now, perDomain, limit, leaseMs);
  }

  /**
   * Candidates first (the per-domain window cannot be computed under FOR UPDATE), then the
   * lease on those still free, skipping the rows another claim holds locked right now.
   */
  private async claim(status: RecipientStatus, now: number, perDomain: number | null, limit: number, leaseMs: number): Promise<DueRecipient[]> {
    const rows = await this.rows<DueRow>(
      `WITH cand AS (${DUE}),
            got AS (SELECT r.queue_id, r.rcpt FROM queue_rcpt r JOIN cand c ON c.queue_id = r.queue_id AND c.rcpt = r.rcpt
                     WHERE r.status = $1 AND r.lease_until <= $2 FOR UPDATE OF r SKIP LOCKED),
            leased AS (UPDATE queue_rcpt r SET lease_owner = $5, lease_until = $2::bigint + $6::bigint
                         FROM got WHERE r.queue_id = got.queue_id AND r.rcpt = got.rcpt RETURNING r.queue_id, r.rcpt)
       SELECT c.* FROM cand c JOIN leased l ON l.queue_id = c.queue_id AND l.rcpt = c.rcpt ORDER BY c.created, c.queue_id, c.rcpt`,
      [status, now, perDomain, limit, this.node, leaseMs]);
    return rows.map(toDue);
  }

  async renewLeases(keys: RecipientKey[], leaseMs: number): Promise<void> {
    if (!keys.length) return;
    await this.pool.query(
      `UPDATE queue_rcpt r SET lease_until = $1 FROM unnest($2::text[], $3::text[]) AS k(q, rc)
        WHERE r.queue_id = k.q AND r.rcpt = k.rc AND r.lease_owner = $4`,
      [Date.now() + leaseMs, keys.map((k) => k.queueId), keys.map((k) => k.rcpt), this.node]);
  }

  async nextAttempt(status: 'pending' | 'remote', after: number): Promise<number | null> {
    const r = await this.rows<{ t: number | null }>(
      `SELECT min(GREATEST(r.next_attempt, r.lease_until)) AS t FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
        WHERE r.status = $1 AND GREATEST(r.next_attempt, r.lease_until) > $2 AND NOT q.held`, [status, after]);
    return r[0]?.t ?? null;
  }

  async entry(id: string): Promise<QueueEntry | null> {
    const r = await this.rows<EntryRow>('SELECT * FROM queue WHERE id = $1', [id]);
    return r[0] ? toEntry(r[0]) : null;
  }

  async entries(): Promise<QueueEntry[]> {
    return (await this.rows<EntryRow>('SELECT * FROM queue ORDER BY created, id')).map(toEntry);
  }

  async recipients(queueId: string): Promise<QueueRecipient[]> {
    const rows = await this.rows<RcptRow>(
      'SELECT rcpt, orcpt, notify, status, attempts, next_attempt, last_error FROM queue_rcpt WHERE queue_id = $1 ORDER BY rcpt COLLATE "C"', [queueId]);
    return rows.map((r) => ({ rcpt: r.rcpt, orcpt: r.orcpt, notify: r.notify, status: r.status, attempts: r.attempts, nextAttempt: r.next_attempt, lastError: r.last_error }));
  }

  async stats(): Promise<Map<string, number>> {
    return new Map((await this.rows<{ key: string; value: number }>('SELECT key, sum(value) AS value FROM stats GROUP BY key')).map((r) => [r.key, r.value]));
  }

  commit(batch: WriteBatch): Promise<BatchResult> {
    return this.w.commit(batch);
  }
}
