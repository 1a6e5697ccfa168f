import type pg from 'pg';
import type { PgCommitter } from './committer.js';
import { pgMailbox, pgMessage, MESSAGE_COLUMNS, type PgMailboxRow, type PgMessageRow } from './rows.js';
import type { Store } from '../types.js';
import type { AclEntry, AppendRequest, CopyResult, FlagFilter, FlagOp, FlagResult, Mailbox, MailboxStatus, MessageRecord, Quota, SharedMailbox, User } from '../types.js';

/**
 * Users and mailboxes on PostgreSQL: reads on the pool (READ COMMITTED: each sees what was
 * committed on any node before it), every change a write batch (committer.ts), with the same
 * durability per kind of change as the SQLite store.
 */
export class PgMailboxes implements Store {
  constructor(private readonly pool: pg.Pool, private readonly w: PgCommitter) {}

  private async rows<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, args)).rows;
  }

  private async row<T extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<T | undefined> {
    return (await this.rows<T>(sql, args))[0];
  }

  // --- accounts

  createUser(address: string, passwordHash: string): Promise<User> {
    return this.w.one({ op: 'user.create', address, passwordHash, created: Date.now() });
  }

  deleteUser(address: string): Promise<boolean> {
    return this.w.one({ op: 'user.delete', address });
  }

  async getUser(address: string): Promise<User | null> {
    return (await this.row<User>('SELECT id, address FROM users WHERE address = $1', [address.toLowerCase()])) ?? null;
  }

  async getUserById(id: number): Promise<User | null> {
    return (await this.row<User>('SELECT id, address FROM users WHERE id = $1', [id])) ?? null;
  }

  listUsers(): Promise<User[]> {
    return this.rows<User>('SELECT id, address FROM users ORDER BY address');
  }

  async getPasswordHash(address: string): Promise<string | null> {
    return (await this.row<{ password_hash: string }>('SELECT password_hash FROM users WHERE address = $1', [address.toLowerCase()]))?.password_hash ?? null;
  }

  setPasswordHash(address: string, passwordHash: string): Promise<boolean> {
    return this.w.one({ op: 'user.setPassword', address, passwordHash });
  }

  // --- mailboxes

  async getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    const r = await this.row<PgMailboxRow>('SELECT * FROM mailboxes WHERE user_id = $1 AND name = $2', [userId, name]);
    return r ? pgMailbox(r) : null;
  }

  async getMailboxById(id: number): Promise<Mailbox | null> {
    const r = await this.row<PgMailboxRow>('SELECT * FROM mailboxes WHERE id = $1', [id]);
    return r ? pgMailbox(r) : null;
  }

  async listMailboxes(userId: number): Promise<Mailbox[]> {
    return (await this.rows<PgMailboxRow>('SELECT * FROM mailboxes WHERE user_id = $1 ORDER BY name COLLATE "C"', [userId])).map(pgMailbox);
  }

  async deliveryMailbox(address: string, junk: boolean): Promise<number | null> {
    const r = await this.row<{ id: number }>(
      `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id
        WHERE u.address = $1 AND (m.name = 'INBOX' OR ($2 AND m.special_use = '\\Junk'))
        ORDER BY (m.name = 'INBOX') ASC, m.id LIMIT 1`, [address, junk]);
    return r?.id ?? null;
  }

  createMailbox(userId: number, name: string, specialUse: string | null = null, o: { parents?: boolean } = {}): Promise<Mailbox> {
    return this.w.one({ op: 'mailbox.create', userId, name, specialUse, parents: !!o.parents });
  }

  renameMailbox(userId: number, from: string, to: string): Promise<void> {
    return this.w.one({ op: 'mailbox.rename', userId, from, to });
  }

  deleteMailbox(mailboxId: number): Promise<void> {
    return this.w.one({ op: 'mailbox.delete', mailboxId });
  }

  async mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    const r = (await this.row<{ messages: number; seen: number; deleted: number; size: number }>(
      `SELECT count(*) AS messages,
              count(*) FILTER (WHERE position(' \\Seen ' IN ' ' || flags || ' ') > 0) AS seen,
              count(*) FILTER (WHERE position(' \\Deleted ' IN ' ' || flags || ' ') > 0) AS deleted,
              COALESCE(sum(size), 0) AS size
         FROM messages WHERE mailbox_id = $1`, [mailboxId]))!;
    return { messages: r.messages, unseen: r.messages - r.seen, deleted: r.deleted, size: r.size };
  }

  async listSubscriptions(userId: number): Promise<string[]> {
    return (await this.rows<{ name: string }>('SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name COLLATE "C"', [userId])).map((r) => r.name);
  }

  setSubscribed(userId: number, name: string, on: boolean): Promise<void> {
    return this.w.one({ op: 'subscription.set', userId, name, on });
  }

  // --- messages

  async appendMany(reqs: AppendRequest[]): Promise<(MessageRecord | Error)[]> {
    const r = await this.w.commit({ durability: 'full', parts: reqs.map((req) => ({ ops: [{ op: 'message.append', req }], mayFail: true })) });
    return r.parts.map((p) => (p.ok ? (p.results[0] as MessageRecord) : p.error));
  }

  async appendAtomic(reqs: AppendRequest[]): Promise<MessageRecord[]> {
    const r = (await this.w.commit({ durability: 'full', parts: [{ ops: reqs.map((req) => ({ op: 'message.append' as const, req })) }] })).parts[0];
    if (!r.ok) throw r.error;
    return r.results as MessageRecord[];
  }

  async listMessages(mailboxId: number): Promise<MessageRecord[]> {
    return (await this.rows<PgMessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid`, [mailboxId])).map(pgMessage);
  }

  async expunge(mailboxId: number, ids: number[]): Promise<void> {
    await this.w.one({ op: 'message.expunge', mailboxId, ids, collect: true });
  }

  async expungeUids(mailboxId: number, uids: number[]): Promise<number[]> {
    // Collected in the same transaction: PostgreSQL commits a relaxed transaction in order
    // with the others, so unlike SQLite's body files there is nothing to do after it.
    const r = await this.w.one<{ uids: number[]; blobs: string[] }>({ op: 'message.expunge', mailboxId, uids, collect: true }, 'relaxed');
    return r.uids;
  }

  /**
   * One snapshot for the three reads (REPEATABLE READ), so the messages, the expunged UIDs and
   * the mod-sequence agree with each other whatever other nodes commit meanwhile.
   */
  async changesSince(mailboxId: number, modSeq: number) {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const messages = (await c.query<PgMessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid`, [mailboxId, modSeq])).rows.map(pgMessage);
      const expunged = (await c.query<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid', [mailboxId, modSeq])).rows.map((r) => r.uid);
      const highestModSeq = (await c.query<{ h: number }>('SELECT highestmodseq AS h FROM mailboxes WHERE id = $1', [mailboxId])).rows[0]?.h ?? 0;
      await c.query('COMMIT');
      return { messages, expunged, highestModSeq };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  updateFlags(mailboxId: number, uids: number[], flagOp: FlagOp, flags: string[], unchangedSince?: number): Promise<FlagResult> {
    return this.w.one({ op: 'message.flags', mailboxId, uids, flagOp, flags, unchangedSince }, 'relaxed');
  }

  copyMessages(from: number, uids: number[], to: number, move: boolean, keep?: FlagFilter): Promise<CopyResult> {
    return this.w.one({ op: 'message.copy', from, uids, to, move, keep }, 'relaxed');
  }

  async getMime(blobIds: string[]): Promise<Map<string, string | null>> {
    const rows = await this.rows<{ id: string; mime: string | null }>('SELECT id, mime FROM blobs WHERE id = ANY($1::text[])', [blobIds]);
    return new Map(rows.map((r) => [r.id, r.mime]));
  }

  setMime(blobId: string, mime: string): Promise<void> {
    return this.w.one({ op: 'blob.mime', items: [[blobId, mime]] }, 'relaxed');
  }

  // --- ACL (RFC 4314), quota (RFC 9208)

  getAcl(mailboxId: number): Promise<AclEntry[]> {
    return this.rows<AclEntry>('SELECT identifier, rights FROM acl WHERE mailbox_id = $1 ORDER BY identifier COLLATE "C"', [mailboxId]);
  }

  setAcl(mailboxId: number, identifier: string, rights: string | null): Promise<void> {
    return this.w.one({ op: 'acl.set', mailboxId, identifier, rights });
  }

  modifyAcl(mailboxId: number, identifier: string, mode: 'add' | 'remove' | 'set', rights: string, order: string): Promise<string> {
    return this.w.one({ op: 'acl.modify', mailboxId, identifier, mode, rights, order });
  }

  async sharedWith(address: string): Promise<SharedMailbox[]> {
    const rows = await this.rows<PgMailboxRow & { owner: string; rights: string }>(
      `SELECT b.*, u.address AS owner, string_agg(a.rights, '') AS rights
         FROM acl a JOIN mailboxes b ON b.id = a.mailbox_id JOIN users u ON u.id = b.user_id
        WHERE a.identifier IN ($1, 'anyone') AND u.address != $1
        GROUP BY b.id, u.address ORDER BY u.address COLLATE "C", b.name COLLATE "C"`, [address]);
    return rows.map((r) => ({ mailbox: pgMailbox(r), owner: r.owner, rights: [...new Set(r.rights)].join('') }));
  }

  async getQuota(userId: number): Promise<Quota> {
    const r = await this.row<{ storage_limit: number | null; message_limit: number | null; bytes: number; messages: number }>(
      `SELECT q.storage_limit, q.message_limit, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages
         FROM users x LEFT JOIN quotas q ON q.user_id = x.id LEFT JOIN usage u ON u.user_id = x.id WHERE x.id = $1`, [userId]);
    return { storageLimit: r?.storage_limit ?? null, messageLimit: r?.message_limit ?? null, bytes: r?.bytes ?? 0, messages: r?.messages ?? 0 };
  }

  setQuota(userId: number, storage: number | null | undefined, messages: number | null | undefined): Promise<void> {
    return this.w.one({ op: 'quota.set', userId, storage, messages });
  }
}
