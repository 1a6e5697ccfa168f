import type { DB } from './schema.js';
import { toMailbox, toMessage, type MailboxRow, type MessageRow } from './rows.js';
import { QuotaExceededError, type AppendRequest, type CopyResult, type FlagFilter, type FlagOp, type FlagResult, type Mailbox, type MessageRecord, type User } from '../types.js';
import type { WriteOp } from '../batch.js';
import { createHash } from 'node:crypto';
import { SearchOps } from './ops-search.js';

/** Folders every new user gets, with their RFC 6154 special-use attribute. */
export const DEFAULT_MAILBOXES: [string, string | null][] = [
  ['INBOX', null],
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

/** UIDVALIDITY must change if a mailbox is ever recreated: seconds since epoch, made unique per writer. */
let lastValidity = 0;
function newUidValidity(): number {
  lastValidity = Math.max(lastValidity + 1, Math.floor(Date.now() / 1000));
  return lastValidity;
}

/** Which password hash a SASL secret was derived from (a changed password makes it stale). */
export function hashRef(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64').slice(0, 22);
}

/** A copy's flags: the original's, filtered when the target restricts them. */
function copiedFlags(stored: string, keep?: FlagFilter): string[] {
  const flags = stored ? stored.split(' ') : [];
  return keep ? flags.filter((f) => (f === '\\Seen' ? keep.seen : f === '\\Deleted' ? keep.deleted : keep.others)) : flags;
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

/**
 * The account and mailbox operations of a write batch, run by the writer inside its
 * transaction (sqlite/apply.ts). `collect` receives bodies whose rows went, for their files
 * to be removed once the commit is on disk.
 */
export class MailboxOps {
  private readonly q;
  /** The full-text index entries of bodies (blob.text, and with an APPEND's new body). */
  readonly text: SearchOps;

  constructor(private readonly db: DB) {
    this.text = new SearchOps(db);
    this.q = {
      insUser: db.prepare('INSERT INTO users (address, password_hash, created) VALUES (?, ?, ?)'),
      insMailbox: db.prepare('INSERT INTO mailboxes (user_id, name, uidvalidity, special_use, subscribed) VALUES (?, ?, ?, ?, 0)'),
      mailbox: db.prepare<[number, string], MailboxRow>('SELECT * FROM mailboxes WHERE user_id = ? AND name = ?'),
      mailboxById: db.prepare<[number], MailboxRow>('SELECT * FROM mailboxes WHERE id = ?'),
      byIdem: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE idem_key = ?'),
      bump: db.prepare<[number], { uidnext: number; highestmodseq: number }>(
        'UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING uidnext, highestmodseq'),
      insMsg: db.prepare(
        'INSERT INTO messages (mailbox_id, uid, blob_id, size, internaldate, flags, modseq, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *'),
      delMsg: db.prepare<[number, number], { blob_id: string; uid: number }>('DELETE FROM messages WHERE id = ? AND mailbox_id = ? RETURNING blob_id, uid'),
      insBlob: db.prepare('INSERT OR IGNORE INTO blobs (id, size, mime) VALUES (?, ?, ?)'),
      setMime: db.prepare('UPDATE blobs SET mime = ? WHERE id = ?'),
      bumpModseq: db.prepare<[number], { highestmodseq: number }>('UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? RETURNING highestmodseq'),
      insExpunged: db.prepare('INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)'),
      quotaOf: db.prepare<[number], { storage_limit: number | null; message_limit: number | null; bytes: number; messages: number; address: string }>(
        `SELECT q.storage_limit, q.message_limit, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages, us.address
           FROM mailboxes b JOIN quotas q ON q.user_id = b.user_id JOIN users us ON us.id = b.user_id
           LEFT JOIN usage u ON u.user_id = b.user_id WHERE b.id = ?`),
      setFlags: db.prepare('UPDATE messages SET flags = ?, modseq = ? WHERE id = ?'),
      msgRange: db.prepare<[number, number, number], MessageRow>('SELECT * FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid'),
      blobUsed: db.prepare<[string, string], { n: number }>(
        'SELECT (SELECT count(*) FROM messages WHERE blob_id = ?) + (SELECT count(*) FROM queue WHERE blob_id = ?) AS n'),
      delBlob: db.prepare('DELETE FROM blobs WHERE id = ?'),
      userBlobs: db.prepare<[string], { blob_id: string }>(
        'SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id WHERE u.address = ?'),
      delUser: db.prepare('DELETE FROM users WHERE address = ?'),
      setHash: db.prepare('UPDATE users SET password_hash = ? WHERE address = ?'),
      userWithHash: db.prepare<[string, string], { id: number }>('SELECT id FROM users WHERE address = ? AND password_hash = ?'),
      clearSecrets: db.prepare('DELETE FROM sasl_secrets WHERE user_id = ?'),
      putSecret: db.prepare('INSERT OR REPLACE INTO sasl_secrets (user_id, scheme, secret, hash_ref) VALUES (?, ?, ?, ?)'),
      rename: db.prepare(`UPDATE mailboxes SET name = ? || substr(name, ?) WHERE user_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`),
      delMessagesOf: db.prepare<[number], { blob_id: string }>('DELETE FROM messages WHERE mailbox_id = ? RETURNING blob_id'),
      delMailbox: db.prepare('DELETE FROM mailboxes WHERE id = ?'),
      subscribe: db.prepare('INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?, ?)'),
      // RENAME: the subscriptions of "from" and "from/..." follow the mailboxes (issue 10.1).
      renameSubs: db.prepare(`UPDATE OR REPLACE subscriptions SET name = ? || substr(name, ?) WHERE user_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`),
      mailboxName: db.prepare<[number], { user_id: number; name: string }>('SELECT user_id, name FROM mailboxes WHERE id = ?'),
      unsubscribe: db.prepare('DELETE FROM subscriptions WHERE user_id = ? AND name = ?'),
      subscribedFlag: db.prepare('UPDATE mailboxes SET subscribed = ? WHERE user_id = ? AND name = ?'),
      aclOf: db.prepare<[number, string], { rights: string }>('SELECT rights FROM acl WHERE mailbox_id = ? AND identifier = ?'),
      aclDel: db.prepare('DELETE FROM acl WHERE mailbox_id = ? AND identifier = ?'),
      aclPut: db.prepare('INSERT INTO acl (mailbox_id, identifier, rights) VALUES (?, ?, ?) ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights'),
      quotaRow: db.prepare('INSERT OR IGNORE INTO quotas (user_id) VALUES (?)'),
      quotaStorage: db.prepare('UPDATE quotas SET storage_limit = ? WHERE user_id = ?'),
      quotaMessages: db.prepare('UPDATE quotas SET message_limit = ? WHERE user_id = ?'),
      quotaDrop: db.prepare('DELETE FROM quotas WHERE user_id = ? AND storage_limit IS NULL AND message_limit IS NULL'),
    };
  }

  createUser(o: Op<'user.create'>): User {
    const addr = o.address.toLowerCase();
    const r = this.q.insUser.run(addr, o.passwordHash, o.created);
    const id = Number(r.lastInsertRowid);
    for (const [name, use] of DEFAULT_MAILBOXES) {
      this.q.insMailbox.run(id, name, newUidValidity(), use);
      // The default folders are subscribed; folders made later by CREATE are not (issue 10.1).
      this.setSubscribed({ op: 'subscription.set', userId: id, name, on: true });
    }
    return { id, address: addr };
  }

  deleteUser(o: Op<'user.delete'>, collect: (ids: string[]) => void): boolean {
    const addr = o.address.toLowerCase();
    const blobs = this.q.userBlobs.all(addr).map((r) => r.blob_id);
    const gone = this.q.delUser.run(addr).changes > 0;
    if (gone) this.collect(blobs, collect);
    return gone;
  }

  setPassword(o: Op<'user.setPassword'>): boolean {
    return this.q.setHash.run(o.passwordHash, o.address.toLowerCase()).changes > 0;
  }

  writeSecrets(o: Op<'secrets.write'>): void {
    // Only if the password is still the one the secrets came from (no race with a change).
    const u = this.q.userWithHash.get(o.address.toLowerCase(), o.passwordHash);
    if (!u) return;
    if (o.clear) this.q.clearSecrets.run(u.id);
    const ref = hashRef(o.passwordHash);
    for (const [scheme, secret] of Object.entries(o.secrets)) this.q.putSecret.run(u.id, scheme, secret, ref);
  }

  createMailbox(o: Op<'mailbox.create'>): Mailbox {
    if (o.parents) {
      // RFC 9051 6.3.4: superior names that are missing are created too, in this transaction.
      const parts = o.name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        if (!this.q.mailbox.get(o.userId, p)) this.q.insMailbox.run(o.userId, p, newUidValidity(), null);
      }
    }
    const r = this.q.insMailbox.run(o.userId, o.name, newUidValidity(), o.specialUse);
    return toMailbox(this.q.mailboxById.get(Number(r.lastInsertRowid))!);
  }

  renameMailbox(o: Op<'mailbox.rename'>): void {
    const parts = o.to.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (p !== o.from && !this.q.mailbox.get(o.userId, p)) this.q.insMailbox.run(o.userId, p, newUidValidity(), null);
    }
    // Names under `to` were checked by the caller, so moving the children collides with nothing.
    // SQLite's substr counts code points, not UTF-16 units: an emoji in the name counts once.
    const len = [...o.from].length + 1;
    this.q.rename.run(o.to, len, o.userId, o.from, len, o.from + '/');
    this.q.renameSubs.run(o.to, len, o.userId, o.from, len, o.from + '/');
  }

  deleteMailbox(o: Op<'mailbox.delete'>, collect: (ids: string[]) => void): void {
    const blobs = this.q.delMessagesOf.all(o.mailboxId).map((r) => r.blob_id);
    // Its owner's subscription goes with it (issue 10.1: clients list subscribed names as folders).
    const mb = this.q.mailboxName.get(o.mailboxId);
    if (mb) this.q.unsubscribe.run(mb.user_id, mb.name);
    this.q.delMailbox.run(o.mailboxId);
    this.collect(blobs, collect);
  }

  setSubscribed(o: Op<'subscription.set'>): void {
    if (o.on) this.q.subscribe.run(o.userId, o.name);
    else this.q.unsubscribe.run(o.userId, o.name);
    this.q.subscribedFlag.run(o.on ? 1 : 0, o.userId, o.name);
  }

  /** Throws QuotaExceededError when the mailbox owner's quota (RFC 9208) would be exceeded. */
  append(req: AppendRequest): MessageRecord {
    if (req.idempotencyKey) {
      const prior = this.q.byIdem.get(req.idempotencyKey);
      if (prior) return toMessage(prior);
    }
    this.checkQuota(req.mailboxId, req.size, 1);
    if (req.newBlob) {
      this.q.insBlob.run(req.blobId, req.size, req.newBlob.mime);
      if (req.newBlob.text !== undefined) this.text.index([[req.blobId, req.newBlob.text]]);
    }
    const { uidnext, highestmodseq } = this.q.bump.get(req.mailboxId)!;
    const row = this.q.insMsg.get(
      req.mailboxId, uidnext - 1, req.blobId, req.size, req.internalDate,
      (req.flags ?? []).join(' '), highestmodseq, req.idempotencyKey ?? null,
    ) as MessageRow;
    return toMessage(row);
  }

  private checkQuota(mailboxId: number, bytes: number, messages: number): void {
    const q = this.q.quotaOf.get(mailboxId);
    if (!q) return;
    if (q.storage_limit !== null && q.bytes + bytes > q.storage_limit * 1024) throw new QuotaExceededError(q.address, 'STORAGE', q.storage_limit);
    if (q.message_limit !== null && q.messages + messages > q.message_limit) throw new QuotaExceededError(q.address, 'MESSAGE', q.message_limit);
  }

  /**
   * By id (expunge) or by UID (expungeUids), all with one new mod-sequence; returns the UIDs
   * removed and their bodies (collected here with `o.collect`, else by a later durable commit).
   */
  expunge(o: Op<'message.expunge'>, collect: (ids: string[]) => void): { uids: number[]; blobs: string[] } {
    const rows = o.uids ? this.rowsByUid(o.mailboxId, o.uids).map((r) => r.id) : o.ids ?? [];
    const done: number[] = [];
    const blobs: string[] = [];
    let modseq = 0;
    for (const id of rows) {
      const r = this.q.delMsg.get(id, o.mailboxId);
      if (!r) continue;
      if (!modseq) modseq = this.q.bumpModseq.get(o.mailboxId)!.highestmodseq;
      this.q.insExpunged.run(o.mailboxId, r.uid, modseq);
      done.push(r.uid);
      blobs.push(r.blob_id);
    }
    if (o.collect) this.collect(blobs, collect);
    return { uids: done, blobs };
  }

  updateFlags(o: Op<'message.flags'>): FlagResult {
    const changed: MessageRecord[] = [];
    const modified: number[] = [];
    let modseq = 0;
    for (const row of this.rowsByUid(o.mailboxId, o.uids)) {
      if (o.unchangedSince !== undefined && row.modseq > o.unchangedSince) {
        modified.push(row.uid);
        continue;
      }
      const cur = row.flags ? row.flags.split(' ') : [];
      const next = o.flagOp === 'set' ? [...new Set(o.flags)] : o.flagOp === 'add' ? [...new Set([...cur, ...o.flags])] : cur.filter((f) => !o.flags.includes(f));
      const text = next.join(' ');
      // RFC 7162 3.1.3: UNCHANGEDSINCE with no actual change still counts as a success.
      if (text === row.flags || sameSet(cur, next)) continue;
      if (!modseq) modseq = this.q.bumpModseq.get(o.mailboxId)!.highestmodseq;
      this.q.setFlags.run(text, modseq, row.id);
      changed.push(toMessage({ ...row, flags: text, modseq }));
    }
    return { changed, modified };
  }

  copy(o: Op<'message.copy'>): CopyResult {
    const rows = this.rowsByUid(o.from, o.uids);
    const byUid = new Map(rows.map((r) => [r.uid, r]));
    const ordered = o.uids.filter((u) => byUid.has(u)).map((u) => byUid.get(u)!);
    let bytes = 0;
    for (const r of ordered) bytes += r.size;
    this.checkQuota(o.to, bytes, ordered.length);
    const records: MessageRecord[] = [];
    for (const r of ordered) {
      records.push(this.append({ mailboxId: o.to, blobId: r.blob_id, size: r.size, internalDate: r.internaldate, flags: copiedFlags(r.flags, o.keep) }));
    }
    if (o.move && ordered.length) {
      const modseq = this.q.bumpModseq.get(o.from)!.highestmodseq;
      for (const r of ordered) {
        this.q.delMsg.get(r.id, o.from);
        this.q.insExpunged.run(o.from, r.uid, modseq);
      }
    }
    const to = this.q.mailboxById.get(o.to)!;
    return { uidValidity: to.uidvalidity, fromUids: ordered.map((r) => r.uid), toUids: records.map((r) => r.uid), records };
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

  setMime(o: Op<'blob.mime'>): void {
    for (const [id, mime] of o.items) this.q.setMime.run(mime, id);
  }

  /** Drops the rows of bodies nothing refers to any more; their files go after the commit. */
  collect(blobIds: string[], collect: (ids: string[]) => void): void {
    const out: string[] = [];
    for (const id of new Set(blobIds)) {
      if (this.q.blobUsed.get(id, id)!.n === 0) {
        this.q.delBlob.run(id);
        out.push(id);
      }
    }
    if (out.length) collect(out);
  }

  setAcl(o: Op<'acl.set'>): void {
    if (o.rights === null || o.rights === '') this.q.aclDel.run(o.mailboxId, o.identifier);
    else this.q.aclPut.run(o.mailboxId, o.identifier, o.rights);
  }

  modifyAcl(o: Op<'acl.modify'>): string {
    const cur = this.q.aclOf.get(o.mailboxId, o.identifier)?.rights ?? '';
    const want = o.mode === 'set' ? o.rights : o.mode === 'add' ? cur + o.rights : [...cur].filter((x) => !o.rights.includes(x)).join('');
    const next = [...o.order].filter((x) => want.includes(x)).join('');
    this.setAcl({ op: 'acl.set', mailboxId: o.mailboxId, identifier: o.identifier, rights: next || null });
    return next;
  }

  setQuota(o: Op<'quota.set'>): void {
    this.q.quotaRow.run(o.userId);
    if (o.storage !== undefined) this.q.quotaStorage.run(o.storage, o.userId);
    if (o.messages !== undefined) this.q.quotaMessages.run(o.messages, o.userId);
    this.q.quotaDrop.run(o.userId);
  }
}
