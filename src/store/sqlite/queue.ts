import type { DB } from './schema.js';
import type { Committer } from './committer.js';
import type { BatchResult, WriteBatch } from '../batch.js';
import type { DueRecipient, QueueEntry, QueueRecipient, QueueStore, RecipientStatus } from '../queue.js';

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

  commit(batch: WriteBatch): Promise<BatchResult> {
    return this.w.commit(batch);
  }
}
