import type { DB } from './db.js';
import type { BlobStore } from './blobs.js';
import type { AppendRequest, Mailbox, MessageRecord, Store, User } from './types.js';

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
      delMsg: db.prepare<[number, number], { blob_id: string }>('DELETE FROM messages WHERE id = ? AND mailbox_id = ? RETURNING blob_id'),
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

  /** Synchronous core of appendMany, for callers that already hold a transaction (the queue). */
  appendInTransaction(req: AppendRequest): MessageRecord {
    if (req.idempotencyKey) {
      const prior = this.q.byIdem.get(req.idempotencyKey);
      if (prior) return toMessage(prior);
    }
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

  async listMessages(mailboxId: number): Promise<MessageRecord[]> {
    return this.q.messages.all(mailboxId).map(toMessage);
  }

  async expunge(mailboxId: number, messageIds: number[]): Promise<void> {
    const blobs = this.db.transaction(() => {
      const out: string[] = [];
      for (const id of messageIds) {
        const r = this.q.delMsg.get(id, mailboxId);
        if (r) out.push(r.blob_id);
      }
      if (out.length) this.db.prepare('UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?').run(mailboxId);
      return out;
    })();
    await this.collect(blobs);
  }

  /** Removes blob files no message and no queue entry refers to any more. */
  async collect(blobIds: string[]): Promise<void> {
    for (const id of new Set(blobIds)) {
      if (this.q.blobUsed.get(id, id)!.n === 0) {
        this.q.delBlob.run(id);
        await this.blobs.remove(id);
      }
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
