import type { DB } from './db.js';
import type { BlobStore } from './blobs.js';
import { QuotaExceededError, type AclEntry, type AppendRequest, type CopyResult, type FlagOp, type FlagResult, type Mailbox, type MailboxStatus, type MessageRecord, type Quota, type SharedMailbox, type Store, type User } from './types.js';

/** Folders every new user gets, with their RFC 6154 special-use attribute. */
export const DEFAULT_MAILBOXES: [string, string | null][] = [
  ['INBOX', null],
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

interface MailboxRow {
  id: number; user_id: number; name: string; uidvalidity: number; uidnext: number;
  highestmodseq: number; special_use: string | null; subscribed: number;
}
interface MessageRow {
  id: number; mailbox_id: number; uid: number; blob_id: string; size: number;
  internaldate: number; flags: string; modseq: number;
}

const toMailbox = (r: MailboxRow): Mailbox => ({
  id: r.id, userId: r.user_id, name: r.name, uidValidity: r.uidvalidity, uidNext: r.uidnext,
  highestModSeq: r.highestmodseq, specialUse: r.special_use, subscribed: !!r.subscribed,
});
const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id, mailboxId: r.mailbox_id, uid: r.uid, blobId: r.blob_id, size: r.size,
  internalDate: r.internaldate, flags: r.flags ? r.flags.split(' ') : [], modSeq: r.modseq,
});

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** UIDVALIDITY must change if a mailbox is ever recreated: seconds since epoch, made unique per process. */
let lastValidity = 0;
function newUidValidity(): number {
  lastValidity = Math.max(lastValidity + 1, Math.floor(Date.now() / 1000));
  return lastValidity;
}

/** The embedded store: SQLite metadata + one file per message body (BlobStore). */
export class SqliteStore implements Store {
  private readonly q;

  constructor(readonly db: DB, readonly blobs: BlobStore) {
    this.q = {
      userByAddr: db.prepare<[string], { id: number; address: string }>('SELECT id, address FROM users WHERE address = ?'),
      hash: db.prepare<[string], { password_hash: string }>('SELECT password_hash FROM users WHERE address = ?'),
      insUser: db.prepare('INSERT INTO users (address, password_hash, created) VALUES (?, ?, ?)'),
      insMailbox: db.prepare('INSERT INTO mailboxes (user_id, name, uidvalidity, special_use) VALUES (?, ?, ?, ?)'),
      mailbox: db.prepare<[number, string], MailboxRow>('SELECT * FROM mailboxes WHERE user_id = ? AND name = ?'),
      mailboxById: db.prepare<[number], MailboxRow>('SELECT * FROM mailboxes WHERE id = ?'),
      mailboxes: db.prepare<[number], MailboxRow>('SELECT * FROM mailboxes WHERE user_id = ? ORDER BY name'),
      byIdem: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE idem_key = ?'),
      bump: db.prepare<[number], { uidnext: number; highestmodseq: number }>(
        'UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING uidnext, highestmodseq'),
      insMsg: db.prepare(
        'INSERT INTO messages (mailbox_id, uid, blob_id, size, internaldate, flags, modseq, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *'),
      messages: db.prepare<[number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid'),
      delMsg: db.prepare<[number, number], { blob_id: string; uid: number }>('DELETE FROM messages WHERE id = ? AND mailbox_id = ? RETURNING blob_id, uid'),
      insBlob: db.prepare('INSERT OR IGNORE INTO blobs (id, size, mime) VALUES (?, ?, ?)'),
      bumpModseq: db.prepare<[number], { highestmodseq: number }>('UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING highestmodseq'),
      insExpunged: db.prepare('INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)'),
      quotaOf: db.prepare<[number], { storage_limit: number | null; message_limit: number | null; bytes: number; messages: number; address: string }>(
        `SELECT q.storage_limit, q.message_limit, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages, us.address
           FROM mailboxes b JOIN quotas q ON q.user_id = b.user_id JOIN users us ON us.id = b.user_id
           LEFT JOIN usage u ON u.user_id = b.user_id WHERE b.id = ?`),
      status: db.prepare<[number], { messages: number; seen: number | null; deleted: number | null; size: number | null }>(
        `SELECT count(*) AS messages, sum(instr(' ' || flags || ' ', ' \\Seen ') > 0) AS seen,
                sum(instr(' ' || flags || ' ', ' \\Deleted ') > 0) AS deleted, sum(size) AS size
           FROM messages WHERE mailbox_id = ?`),
      changedSince: db.prepare<[number, number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid'),
      expungedSince: db.prepare<[number, number], { uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid'),
      setFlags: db.prepare('UPDATE messages SET flags = ?, modseq = ? WHERE id = ?'),
      msgRange: db.prepare<[number, number, number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid'),
      blobUsed: db.prepare<[string, string], { n: number }>(
        'SELECT (SELECT count(*) FROM messages WHERE blob_id = ?) + (SELECT count(*) FROM queue WHERE blob_id = ?) AS n'),
      delBlob: db.prepare('DELETE FROM blobs WHERE id = ?'),
      userBlobs: db.prepare<[string], { blob_id: string }>(
        'SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id WHERE u.address = ?'),
    };
  }

  async createUser(address: string, passwordHash: string): Promise<User> {
    const addr = address.toLowerCase();
    return this.db.transaction(() => {
      const r = this.q.insUser.run(addr, passwordHash, Date.now());
      const id = Number(r.lastInsertRowid);
      for (const [name, use] of DEFAULT_MAILBOXES) this.q.insMailbox.run(id, name, newUidValidity(), use);
      return { id, address: addr };
    })();
  }

  async deleteUser(address: string): Promise<boolean> {
    const addr = address.toLowerCase();
    const blobs = this.q.userBlobs.all(addr).map((r) => r.blob_id);
    const gone = this.db.transaction(() => this.db.prepare('DELETE FROM users WHERE address = ?').run(addr).changes > 0)();
    if (gone) await this.collect(blobs);
    return gone;
  }

  async getUser(address: string): Promise<User | null> {
    return this.q.userByAddr.get(address.toLowerCase()) ?? null;
  }

  async listUsers(): Promise<User[]> {
    return this.db.prepare<[], User>('SELECT id, address FROM users ORDER BY address').all();
  }

  async getPasswordHash(address: string): Promise<string | null> {
    return this.q.hash.get(address.toLowerCase())?.password_hash ?? null;
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<boolean> {
    return this.db.prepare('UPDATE users SET password_hash = ? WHERE address = ?').run(passwordHash, address.toLowerCase()).changes > 0;
  }

  async getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    const r = this.q.mailbox.get(userId, name);
    return r ? toMailbox(r) : null;
  }

  async listMailboxes(userId: number): Promise<Mailbox[]> {
    return this.q.mailboxes.all(userId).map(toMailbox);
  }

  async createMailbox(userId: number, name: string, specialUse: string | null = null): Promise<Mailbox> {
    const r = this.q.insMailbox.run(userId, name, newUidValidity(), specialUse);
    return toMailbox(this.q.mailboxById.get(Number(r.lastInsertRowid))!);
  }

  /**
   * Synchronous core of appendMany, for callers that already hold a transaction (the queue).
   * Throws QuotaExceededError when the mailbox owner's quota (RFC 9208) would be exceeded.
   */
  appendInTransaction(req: AppendRequest): MessageRecord {
    if (req.idempotencyKey) {
      const prior = this.q.byIdem.get(req.idempotencyKey);
      if (prior) return toMessage(prior);
    }
    this.checkQuota(req.mailboxId, req.size, 1);
    if (req.newBlob) this.q.insBlob.run(req.blobId, req.size, req.newBlob.mime);
    const { uidnext, highestmodseq } = this.q.bump.get(req.mailboxId)!;
    const row = this.q.insMsg.get(
      req.mailboxId, uidnext - 1, req.blobId, req.size, req.internalDate,
      (req.flags ?? []).join(' '), highestmodseq, req.idempotencyKey ?? null,
    ) as MessageRow;
    return toMessage(row);
  }

  async appendMany(reqs: AppendRequest[]): Promise<(MessageRecord | Error)[]> {
    return this.db.transaction(() =>
      reqs.map((r) => {
        try {
          return this.appendInTransaction(r);
        } catch (e) {
          return e as Error;
        }
      }),
    )();
  }

  async appendAtomic(reqs: AppendRequest[]): Promise<MessageRecord[]> {
    return this.db.transaction(() => reqs.map((r) => this.appendInTransaction(r)))();
  }

  async listMessages(mailboxId: number): Promise<MessageRecord[]> {
    return this.q.messages.all(mailboxId).map(toMessage);
  }

  async expunge(mailboxId: number, messageIds: number[]): Promise<void> {
    const blobs = this.db.transaction(() => {
      const out: string[] = [];
      let modseq = 0;
      for (const id of messageIds) {
        const r = this.q.delMsg.get(id, mailboxId) as { blob_id: string; uid: number } | undefined;
        if (!r) continue;
        if (!modseq) modseq = this.q.bumpModseq.get(mailboxId)!.highestmodseq;
        this.q.insExpunged.run(mailboxId, r.uid, modseq);
        out.push(r.blob_id);
      }
      return out;
    })();
    await this.collect(blobs);
  }

  private checkQuota(mailboxId: number, bytes: number, messages: number): void {
    const q = this.q.quotaOf.get(mailboxId);
    if (!q) return;
    if (q.storage_limit !== null && q.bytes + bytes > q.storage_limit * 1024) throw new QuotaExceededError(q.address, 'STORAGE', q.storage_limit);
    if (q.message_limit !== null && q.messages + messages > q.message_limit) throw new QuotaExceededError(q.address, 'MESSAGE', q.message_limit);
  }

  async getMailboxById(id: number): Promise<Mailbox | null> {
    const r = this.q.mailboxById.get(id);
    return r ? toMailbox(r) : null;
  }

  async getUserById(id: number): Promise<User | null> {
    return this.db.prepare<[number], User>('SELECT id, address FROM users WHERE id = ?').get(id) ?? null;
  }

  async renameMailbox(userId: number, from: string, to: string): Promise<void> {
    this.db.transaction(() => {
      // Children first would collide with nothing: names under `to` were checked by the caller.
      this.db.prepare(
        `UPDATE mailboxes SET name = ? || substr(name, ?) WHERE user_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
      ).run(to, from.length + 1, userId, from, from.length + 1, from + '/');
    })();
  }

  async deleteMailbox(mailboxId: number): Promise<void> {
    const blobs = this.db.transaction(() => {
      const out = this.db.prepare<[number], { blob_id: string }>('DELETE FROM messages WHERE mailbox_id = ? RETURNING blob_id').all(mailboxId);
      this.db.prepare('DELETE FROM mailboxes WHERE id = ?').run(mailboxId);
      return out.map((r) => r.blob_id);
    })();
    await this.collect(blobs);
  }

  async listSubscriptions(userId: number): Promise<string[]> {
    return this.db.prepare<[number], { name: string }>('SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name').all(userId).map((r) => r.name);
  }

  async setSubscribed(userId: number, name: string, on: boolean): Promise<void> {
    if (on) this.db.prepare('INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?, ?)').run(userId, name);
    else this.db.prepare('DELETE FROM subscriptions WHERE user_id = ? AND name = ?').run(userId, name);
    this.db.prepare('UPDATE mailboxes SET subscribed = ? WHERE user_id = ? AND name = ?').run(on ? 1 : 0, userId, name);
  }

  async mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    const r = this.q.status.get(mailboxId)!;
    return { messages: r.messages, unseen: r.messages - (r.seen ?? 0), deleted: r.deleted ?? 0, size: r.size ?? 0 };
  }

  async addBlob(id: string, size: number, mime: string | null): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO blobs (id, size, mime) VALUES (?, ?, ?)').run(id, size, mime);
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

  async setMime(blobId: string, mime: string): Promise<void> {
    this.db.prepare('UPDATE blobs SET mime = ? WHERE id = ?').run(mime, blobId);
  }

  async changesSince(mailboxId: number, modSeq: number) {
    return this.db.transaction(() => ({
      messages: this.q.changedSince.all(mailboxId, modSeq).map(toMessage),
      expunged: this.q.expungedSince.all(mailboxId, modSeq).map((r) => r.uid),
      highestModSeq: this.q.mailboxById.get(mailboxId)?.highestmodseq ?? 0,
    }))();
  }

  async updateFlags(mailboxId: number, uids: number[], op: FlagOp, flags: string[], unchangedSince?: number): Promise<FlagResult> {
    // Flag changes do not wait for fsync (WAL, synchronous=NORMAL): a power cut may undo the
    // last ones, never lose a message or leave the database inconsistent (docs/DECISIONS.md).
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.flagTransaction(mailboxId, uids, op, flags, unchangedSince);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private flagTransaction(mailboxId: number, uids: number[], op: FlagOp, flags: string[], unchangedSince?: number): FlagResult {
    return this.db.transaction(() => {
      const changed: MessageRecord[] = [];
      const modified: number[] = [];
      let modseq = 0;
      for (const row of this.rowsByUid(mailboxId, uids)) {
        if (unchangedSince !== undefined && row.modseq > unchangedSince) {
          modified.push(row.uid);
          continue;
        }
        const cur = row.flags ? row.flags.split(' ') : [];
        const next = op === 'set' ? [...new Set(flags)] : op === 'add' ? [...new Set([...cur, ...flags])] : cur.filter((f) => !flags.includes(f));
        const text = next.join(' ');
        if (text === row.flags || (sameSet(cur, next))) {
          // RFC 7162 3.1.3: UNCHANGEDSINCE with no actual change still counts as a success.
          continue;
        }
        if (!modseq) modseq = this.q.bumpModseq.get(mailboxId)!.highestmodseq;
        this.q.setFlags.run(text, modseq, row.id);
        changed.push(toMessage({ ...row, flags: text, modseq }));
      }
      return { changed, modified };
    })();
  }

  /** Rows of the given UIDs, in UID order, with one range query instead of one per UID. */
  private rowsByUid(mailboxId: number, uids: number[]): MessageRow[] {
    if (!uids.length) return [];
    const want = new Set(uids);
    let lo = Infinity, hi = 0;
    for (const u of uids) {
      if (u < lo) lo = u;
      if (u > hi) hi = u;
    }
    return this.q.msgRange.all(mailboxId, lo, hi).filter((r) => want.has(r.uid));
  }

  async copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number, move: boolean, keepFlags?: (flags: string[]) => string[]): Promise<CopyResult> {
    const res = this.relaxed(() => this.db.transaction(() => {
      const rows = this.rowsByUid(fromMailboxId, uids);
      const byUid = new Map(rows.map((r) => [r.uid, r]));
      const ordered = uids.filter((u) => byUid.has(u)).map((u) => byUid.get(u)!);
      let bytes = 0;
      for (const r of ordered) bytes += r.size;
      this.checkQuota(toMailboxId, bytes, ordered.length);
      const records: MessageRecord[] = [];
      for (const r of ordered) {
        records.push(this.appendInTransaction({ mailboxId: toMailboxId, blobId: r.blob_id, size: r.size, internalDate: r.internaldate, flags: copiedFlags(r.flags, keepFlags) }));
      }
      if (move && ordered.length) {
        const modseq = this.q.bumpModseq.get(fromMailboxId)!.highestmodseq;
        for (const r of ordered) {
          this.q.delMsg.get(r.id, fromMailboxId);
          this.q.insExpunged.run(fromMailboxId, r.uid, modseq);
        }
      }
      const to = this.q.mailboxById.get(toMailboxId)!;
      return { uidValidity: to.uidvalidity, fromUids: ordered.map((r) => r.uid), toUids: records.map((r) => r.uid), records };
    })());
    return res;
  }

  async expungeUids(mailboxId: number, uids: number[]): Promise<number[]> {
    const { done, blobs } = this.relaxed(() => this.db.transaction(() => {
      const rows = this.rowsByUid(mailboxId, uids);
      const done: number[] = [];
      const blobs: string[] = [];
      if (!rows.length) return { done, blobs };
      const modseq = this.q.bumpModseq.get(mailboxId)!.highestmodseq;
      for (const r of rows) {
        this.q.delMsg.get(r.id, mailboxId);
        this.q.insExpunged.run(mailboxId, r.uid, modseq);
        done.push(r.uid);
        blobs.push(r.blob_id);
      }
      return { done, blobs };
    })());
    this.collectLater(blobs);
    return done;
  }

  /**
   * Runs `fn` with commits that do not wait for fsync (WAL, synchronous=NORMAL): for changes a
   * power cut may undo without losing a message (flags, expunges, copies and moves, which are
   * one transaction with their source). The next FULL commit makes them durable too, since it
   * fsyncs the whole WAL: files are removed only after one (collectLater).
   */
  private relaxed<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private toCollect = new Set<string>();
  private collectTimer: NodeJS.Timeout | null = null;

  /** Collects blobs soon, many expunges' worth in one durable commit. */
  collectLater(blobIds: string[]): void {
    for (const id of blobIds) this.toCollect.add(id);
    if (this.collectTimer || !this.toCollect.size) return;
    this.collectTimer = setTimeout(() => {
      this.collectTimer = null;
      const ids = [...this.toCollect];
      this.toCollect.clear();
      void this.collect(ids).catch(() => { /* retried by the next expunge of the same blob, or left for an operator sweep */ });
    }, 200);
    this.collectTimer.unref();
  }

  async getAcl(mailboxId: number): Promise<AclEntry[]> {
    return this.db.prepare<[number], AclEntry>('SELECT identifier, rights FROM acl WHERE mailbox_id = ? ORDER BY identifier').all(mailboxId);
  }

  async setAcl(mailboxId: number, identifier: string, rights: string | null): Promise<void> {
    if (rights === null) this.db.prepare('DELETE FROM acl WHERE mailbox_id = ? AND identifier = ?').run(mailboxId, identifier);
    else this.db.prepare('INSERT INTO acl (mailbox_id, identifier, rights) VALUES (?, ?, ?) ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights').run(mailboxId, identifier, rights);
  }

  async sharedWith(address: string): Promise<SharedMailbox[]> {
    const rows = this.db.prepare<[string, string], MailboxRow & { owner: string; rights: string }>(
      `SELECT b.*, u.address AS owner, group_concat(a.rights, '') AS rights
         FROM acl a JOIN mailboxes b ON b.id = a.mailbox_id JOIN users u ON u.id = b.user_id
        WHERE a.identifier IN (?, 'anyone') AND u.address != ?
        GROUP BY b.id ORDER BY u.address, b.name`,
    ).all(address, address);
    return rows.map((r) => ({ mailbox: toMailbox(r), owner: r.owner, rights: [...new Set(r.rights)].join('') }));
  }

  async getQuota(userId: number): Promise<Quota> {
    const r = this.db.prepare<[number], { storage_limit: number | null; message_limit: number | null; bytes: number; messages: number }>(
      `SELECT q.storage_limit, q.message_limit, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages
         FROM users x LEFT JOIN quotas q ON q.user_id = x.id LEFT JOIN usage u ON u.user_id = x.id WHERE x.id = ?`,
    ).get(userId);
    return { storageLimit: r?.storage_limit ?? null, messageLimit: r?.message_limit ?? null, bytes: r?.bytes ?? 0, messages: r?.messages ?? 0 };
  }

  async setQuota(userId: number, storage: number | null | undefined, messages: number | null | undefined): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO quotas (user_id) VALUES (?)').run(userId);
      if (storage !== undefined) this.db.prepare('UPDATE quotas SET storage_limit = ? WHERE user_id = ?').run(storage, userId);
      if (messages !== undefined) this.db.prepare('UPDATE quotas SET message_limit = ? WHERE user_id = ?').run(messages, userId);
      this.db.prepare('DELETE FROM quotas WHERE user_id = ? AND storage_limit IS NULL AND message_limit IS NULL').run(userId);
    })();
  }

  /** Removes blob files no message and no queue entry refers to any more. */
  async collect(blobIds: string[]): Promise<void> {
    // One durable commit for all of them, before any file goes.
    const gone = this.db.transaction(() => this.collectInTransaction(blobIds))();
    await this.removeFiles(gone);
  }

  /**
   * Drops the rows of blobs nothing refers to any more, inside the caller's transaction;
   * returns their ids, whose files the caller removes with removeFiles() after the commit.
   */
  collectInTransaction(blobIds: string[]): string[] {
    const out: string[] = [];
    for (const id of new Set(blobIds)) {
      if (this.q.blobUsed.get(id, id)!.n === 0) {
        this.q.delBlob.run(id);
        out.push(id);
      }
    }
    return out;
  }

  async removeFiles(blobIds: string[]): Promise<void> {
    for (const id of blobIds) await this.blobs.remove(id);
  }


  async close(): Promise<void> {
    if (this.collectTimer) clearTimeout(this.collectTimer);
    if (this.toCollect.size) await this.collect([...this.toCollect]).catch(() => undefined);
    this.db.close();
  }
}

/** A copy's flags: the original's, filtered when the target restricts them. */
function copiedFlags(stored: string | null, keep?: (flags: string[]) => string[]): string[] {
  const flags = stored ? stored.split(' ') : [];
  return keep ? keep(flags) : flags;
}
