import type { DB } from './schema.js';
import type { Committer } from './committer.js';
import { toMailbox, toMessage, type MailboxRow, type MessageRow } from './rows.js';
import type { Store } from '../types.js';
import type { AclEntry, AppendRequest, CopyResult, FlagFilter, FlagOp, FlagResult, Mailbox, MailboxStatus, MessageRecord, Quota, SharedMailbox, User } from '../types.js';

/**
 * Users and mailboxes on SQLite: reads on this thread's read connection (WAL: they never wait
 * for the writer), every change a batch for the writer (Committer).
 */
export class SqliteMailboxes implements Store {
  private readonly q;

  constructor(private readonly db: DB, private readonly w: Committer) {
    this.q = {
      userByAddr: db.prepare<[string], User>('SELECT id, address FROM users WHERE address = ?'),
      userById: db.prepare<[number], User>('SELECT id, address FROM users WHERE id = ?'),
      users: db.prepare<[], User>('SELECT id, address FROM users ORDER BY address'),
      hash: db.prepare<[string], { password_hash: string }>('SELECT password_hash FROM users WHERE address = ?'),
      mailbox: db.prepare<[number, string], MailboxRow>('SELECT * FROM mailboxes WHERE user_id = ? AND name = ?'),
      mailboxById: db.prepare<[number], MailboxRow>('SELECT * FROM mailboxes WHERE id = ?'),
      mailboxes: db.prepare<[number], MailboxRow>('SELECT * FROM mailboxes WHERE user_id = ? ORDER BY name'),
      inbox: db.prepare<[string], { id: number }>(
        `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.address = ? AND m.name = 'INBOX'`),
      junk: db.prepare<[string], { id: number }>(
        `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.address = ? AND m.special_use = '\\Junk' ORDER BY m.id LIMIT 1`),
      messages: db.prepare<[number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid'),
      status: db.prepare<[number], { messages: number; seen: number | null; deleted: number | null; size: number | null }>(
        `SELECT count(*) AS messages, sum(instr(' ' || flags || ' ', ' \\Seen ') > 0) AS seen,
                sum(instr(' ' || flags || ' ', ' \\Deleted ') > 0) AS deleted, sum(size) AS size
           FROM messages WHERE mailbox_id = ?`),
      changedSince: db.prepare<[number, number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid'),
      expungedSince: db.prepare<[number, number], { uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid'),
      subscriptions: db.prepare<[number], { name: string }>('SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name'),
      acl: db.prepare<[number], AclEntry>('SELECT identifier, rights FROM acl WHERE mailbox_id = ? ORDER BY identifier'),
      shared: db.prepare<[string, string], MailboxRow & { owner: string; rights: string }>(
        `SELECT b.*, u.address AS owner, group_concat(a.rights, '') AS rights
           FROM acl a JOIN mailboxes b ON b.id = a.mailbox_id JOIN users u ON u.id = b.user_id
          WHERE a.identifier IN (?, 'anyone') AND u.address != ?
          GROUP BY b.id ORDER BY u.address, b.name`),
      quota: db.prepare<[number], { storage_limit: number | null; message_limit: number | null; bytes: number; messages: number }>(
        `SELECT q.storage_limit, q.message_limit, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages
           FROM users x LEFT JOIN quotas q ON q.user_id = x.id LEFT JOIN usage u ON u.user_id = x.id WHERE x.id = ?`),
    };
  }

  // --- accounts

  createUser(address: string, passwordHash: string): Promise<User> {
    return this.w.one({ op: 'user.create', address, passwordHash, created: Date.now() });
  }

  deleteUser(address: string): Promise<boolean> {
    return this.w.one({ op: 'user.delete', address });
  }

  async getUser(address: string): Promise<User | null> {
    return this.q.userByAddr.get(address.toLowerCase()) ?? null;
  }

  async getUserById(id: number): Promise<User | null> {
    return this.q.userById.get(id) ?? null;
  }

  async listUsers(): Promise<User[]> {
    return this.q.users.all();
  }

  async getPasswordHash(address: string): Promise<string | null> {
    return this.q.hash.get(address.toLowerCase())?.password_hash ?? null;
  }

  setPasswordHash(address: string, passwordHash: string): Promise<boolean> {
    return this.w.one({ op: 'user.setPassword', address, passwordHash });
  }

  // --- mailboxes

  async getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    const r = this.q.mailbox.get(userId, name);
    return r ? toMailbox(r) : null;
  }

  async getMailboxById(id: number): Promise<Mailbox | null> {
    const r = this.q.mailboxById.get(id);
    return r ? toMailbox(r) : null;
  }

  async listMailboxes(userId: number): Promise<Mailbox[]> {
    return this.q.mailboxes.all(userId).map(toMailbox);
  }

  async deliveryMailbox(address: string, junk: boolean): Promise<number | null> {
    // Not cached: the CLI may delete and recreate a user while the server runs.
    return (junk ? this.q.junk.get(address)?.id : undefined) ?? this.q.inbox.get(address)?.id ?? null;
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
    const r = this.q.status.get(mailboxId)!;
    return { messages: r.messages, unseen: r.messages - (r.seen ?? 0), deleted: r.deleted ?? 0, size: r.size ?? 0 };
  }

  async listSubscriptions(userId: number): Promise<string[]> {
    return this.q.subscriptions.all(userId).map((r) => r.name);
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
    return this.q.messages.all(mailboxId).map(toMessage);
  }

  async expunge(mailboxId: number, ids: number[]): Promise<void> {
    await this.w.one({ op: 'message.expunge', mailboxId, ids, collect: true });
  }

  async expungeUids(mailboxId: number, uids: number[]): Promise<number[]> {
    // Relaxed like flags (docs/DECISIONS.md): the bodies go in a later durable commit.
    const r = await this.w.one<{ uids: number[]; blobs: string[] }>({ op: 'message.expunge', mailboxId, uids, collect: false }, 'relaxed');
    this.collectLater(r.blobs);
    return r.uids;
  }

  async changesSince(mailboxId: number, modSeq: number) {
    return this.db.transaction(() => ({
      messages: this.q.changedSince.all(mailboxId, modSeq).map(toMessage),
      expunged: this.q.expungedSince.all(mailboxId, modSeq).map((r) => r.uid),
      highestModSeq: this.q.mailboxById.get(mailboxId)?.highestmodseq ?? 0,
    }))();
  }

  updateFlags(mailboxId: number, uids: number[], flagOp: FlagOp, flags: string[], unchangedSince?: number): Promise<FlagResult> {
    // Flag changes do not wait for fsync: a power cut may undo the last ones, never lose a
    // message or leave the database inconsistent (docs/DECISIONS.md).
    return this.w.one({ op: 'message.flags', mailboxId, uids, flagOp, flags, unchangedSince }, 'relaxed');
  }

  copyMessages(from: number, uids: number[], to: number, move: boolean, keep?: FlagFilter): Promise<CopyResult> {
    // One transaction with its source, so relaxed like an expunge: a power cut undoes both.
    return this.w.one({ op: 'message.copy', from, uids, to, move, keep }, 'relaxed');
  }

  async getMime(blobIds: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < blobIds.length; i += 500) {
      const part = blobIds.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT id, mime FROM blobs WHERE id IN (${part.map(() => '?').join(',')})`).all(...part) as { id: string; mime: string | null }[];
      for (const r of rows) out.set(r.id, r.mime);
    }
    return out;
  }

  setMime(blobId: string, mime: string): Promise<void> {
    // A cache of what the body holds: IMAP parses it again if a power cut loses it.
    return this.w.one({ op: 'blob.mime', items: [[blobId, mime]] }, 'relaxed');
  }

  // --- ACL (RFC 4314), quota (RFC 9208)

  async getAcl(mailboxId: number): Promise<AclEntry[]> {
    return this.q.acl.all(mailboxId);
  }

  setAcl(mailboxId: number, identifier: string, rights: string | null): Promise<void> {
    return this.w.one({ op: 'acl.set', mailboxId, identifier, rights });
  }

  modifyAcl(mailboxId: number, identifier: string, mode: 'add' | 'remove' | 'set', rights: string, order: string): Promise<string> {
    return this.w.one({ op: 'acl.modify', mailboxId, identifier, mode, rights, order });
  }

  async sharedWith(address: string): Promise<SharedMailbox[]> {
    return this.q.shared.all(address, address).map((r) => ({ mailbox: toMailbox(r), owner: r.owner, rights: [...new Set(r.rights)].join('') }));
  }

  async getQuota(userId: number): Promise<Quota> {
    const r = this.q.quota.get(userId);
    return { storageLimit: r?.storage_limit ?? null, messageLimit: r?.message_limit ?? null, bytes: r?.bytes ?? 0, messages: r?.messages ?? 0 };
  }

  setQuota(userId: number, storage: number | null | undefined, messages: number | null | undefined): Promise<void> {
    return this.w.one({ op: 'quota.set', userId, storage, messages });
  }

  // --- bodies of expunged messages

  private toCollect = new Set<string>();
  private collectTimer: NodeJS.Timeout | null = null;

  /** Collects bodies soon, many expunges' worth in one durable commit. */
  private collectLater(blobIds: string[]): void {
    for (const id of blobIds) this.toCollect.add(id);
    if (this.collectTimer || !this.toCollect.size) return;
    this.collectTimer = setTimeout(() => {
      this.collectTimer = null;
      void this.collectNow().catch(() => { /* retried by the next expunge of the same body, or left for an operator sweep */ });
    }, 200);
    this.collectTimer.unref();
  }

  private async collectNow(): Promise<void> {
    const ids = [...this.toCollect];
    this.toCollect.clear();
    if (ids.length) await this.w.one({ op: 'blob.collect', blobIds: ids });
  }

  /** Before the writer closes: the last expunges' bodies. */
  async flush(): Promise<void> {
    if (this.collectTimer) clearTimeout(this.collectTimer);
    this.collectTimer = null;
    await this.collectNow().catch(() => undefined);
  }
}
