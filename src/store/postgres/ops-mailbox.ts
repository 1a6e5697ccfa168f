import type pg from 'pg';
import { indexBodies } from './search.js';
import { pgMailbox, pgMessage, MESSAGE_COLUMNS, type PgMailboxRow, type PgMessageRow } from './rows.js';
import { DEFAULT_MAILBOXES, hashRef } from '../sqlite/ops-mailbox.js';
import { QuotaExceededError, type AppendRequest, type CopyResult, type FlagFilter, type FlagResult, type Mailbox, type MessageRecord, type User } from '../types.js';
import type { WriteOp } from '../batch.js';

type Op<K extends WriteOp['op']> = Extract<WriteOp, { op: K }>;

function copiedFlags(stored: string, keep?: FlagFilter): string[] {
  const flags = stored ? stored.split(' ') : [];
  return keep ? flags.filter((f) => (f === '\\Seen' ? keep.seen : f === '\\Deleted' ? keep.deleted : keep.others)) : flags;
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/**
 * The account and mailbox operations of a write batch on PostgreSQL, run inside the batch's
 * transaction (postgres/apply.ts), the same semantics as sqlite/ops-mailbox.ts. What several
 * writers at once need on top of SQLite's single writer (docs/DECISIONS.md):
 * - UIDs and mod-sequences come from `UPDATE mailboxes ... RETURNING`, whose row lock
 *   serialises every writer of one mailbox until its commit: UIDs are unique and ascend in
 *   commit order on every node;
 * - a quota check first locks the owner's `usage` row, so two deliveries on two nodes cannot
 *   both see room for one message (exact quotas); every writer that changes usage takes that
 *   lock first, so the lock order is always user, then mailbox;
 * - a body row is locked before its references are counted, so that it is never dropped under
 *   a copy being committed elsewhere (the copy's foreign key check waits on that lock).
 */
export class PgMailboxOps {
  /** blob.text: the full-text index entries of bodies. */
  setText(o: Op<'blob.text'>): Promise<void> {
    return indexBodies(this.c, o.items);
  }

  constructor(private readonly c: pg.ClientBase) {}

  private async one<T extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<T | undefined> {
    return (await this.c.query<T>(sql, args)).rows[0];
  }

  private async uidValidity(): Promise<number> {
    return (await this.one<{ v: number }>(
      `UPDATE uidvalidity SET v = GREATEST(v + 1, extract(epoch FROM clock_timestamp())::bigint) RETURNING v`, []))!.v;
  }

  private async insMailbox(userId: number, name: string, specialUse: string | null): Promise<PgMailboxRow> {
    return (await this.one<PgMailboxRow>(
      'INSERT INTO mailboxes (user_id, name, uidvalidity, special_use) VALUES ($1, $2, $3, $4) RETURNING *',
      [userId, name, await this.uidValidity(), specialUse]))!;
  }

  private async mailboxExists(userId: number, name: string): Promise<boolean> {
    return !!(await this.one('SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2', [userId, name]));
  }

  async createUser(o: Op<'user.create'>): Promise<User> {
    const addr = o.address.toLowerCase();
    const { id } = (await this.one<{ id: number }>('INSERT INTO users (address, password_hash, created) VALUES ($1, $2, $3) RETURNING id',
      [addr, o.passwordHash, o.created]))!;
    for (const [name, use] of DEFAULT_MAILBOXES) {
      await this.insMailbox(id, name, use);
      // The default folders are subscribed; folders made later by CREATE are not (issue 10.1).
      await this.setSubscribed({ op: 'subscription.set', userId: id, name, on: true });
    }
    return { id, address: addr };
  }

  async deleteUser(o: Op<'user.delete'>, collect: (ids: string[]) => void): Promise<boolean> {
    const addr = o.address.toLowerCase();
    const u = await this.one<{ id: number }>('SELECT id FROM users WHERE address = $1 FOR UPDATE', [addr]);
    if (!u) return false;
    await this.lockUsage(u.id);
    const blobs = (await this.c.query<{ blob_id: string }>(
      'SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = $1', [u.id])).rows.map((r) => r.blob_id);
    await this.c.query('DELETE FROM users WHERE id = $1', [u.id]);
    await this.collect(blobs, collect);
    return true;
  }

  async setPassword(o: Op<'user.setPassword'>): Promise<boolean> {
    return ((await this.c.query('UPDATE users SET password_hash = $1 WHERE address = $2', [o.passwordHash, o.address.toLowerCase()])).rowCount ?? 0) > 0;
  }

  async writeSecrets(o: Op<'secrets.write'>): Promise<void> {
    // FOR SHARE: a password change on another node waits for (or is seen by) this write.
    const u = await this.one<{ id: number }>('SELECT id FROM users WHERE address = $1 AND password_hash = $2 FOR SHARE', [o.address.toLowerCase(), o.passwordHash]);
    if (!u) return;
    if (o.clear) await this.c.query('DELETE FROM sasl_secrets WHERE user_id = $1', [u.id]);
    const ref = hashRef(o.passwordHash);
    for (const [scheme, secret] of Object.entries(o.secrets)) {
      await this.c.query(`INSERT INTO sasl_secrets (user_id, scheme, secret, hash_ref) VALUES ($1, $2, $3, $4)
                           ON CONFLICT (user_id, scheme) DO UPDATE SET secret = excluded.secret, hash_ref = excluded.hash_ref`, [u.id, scheme, secret, ref]);
    }
  }

  async createMailbox(o: Op<'mailbox.create'>): Promise<Mailbox> {
    if (o.parents) {
      // RFC 9051 6.3.4: superior names that are missing are created too, in this transaction.
      const parts = o.name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        if (!(await this.mailboxExists(o.userId, p))) await this.insMailbox(o.userId, p, null);
      }
    }
    return pgMailbox(await this.insMailbox(o.userId, o.name, o.specialUse));
  }

  async renameMailbox(o: Op<'mailbox.rename'>): Promise<void> {
    const parts = o.to.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (p !== o.from && !(await this.mailboxExists(o.userId, p))) await this.insMailbox(o.userId, p, null);
    }
    // substr counts characters (code points), as SQLite's does.
    const len = [...o.from].length + 1;
    await this.c.query(
      `UPDATE mailboxes SET name = $1 || substr(name, $2) WHERE user_id = $3 AND (name = $4 OR substr(name, 1, $2) = $5)`,
      [o.to, len, o.userId, o.from, o.from + '/']);
    // The subscriptions of "from" and "from/..." follow the mailboxes (issue 10.1); one already
    // held under the new name stays (SQLite's UPDATE OR REPLACE).
    await this.c.query(
      `DELETE FROM subscriptions s WHERE s.user_id = $3 AND (s.name = $4 OR substr(s.name, 1, $2) = $5)
          AND EXISTS (SELECT 1 FROM subscriptions t WHERE t.user_id = $3 AND t.name = $1 || substr(s.name, $2))`,
      [o.to, len, o.userId, o.from, o.from + '/']);
    await this.c.query(
      `UPDATE subscriptions SET name = $1 || substr(name, $2) WHERE user_id = $3 AND (name = $4 OR substr(name, 1, $2) = $5)`,
      [o.to, len, o.userId, o.from, o.from + '/']);
  }

  async deleteMailbox(o: Op<'mailbox.delete'>, collect: (ids: string[]) => void): Promise<void> {
    await this.lockOwnerOf(o.mailboxId);
    const blobs = (await this.c.query<{ blob_id: string }>('DELETE FROM messages WHERE mailbox_id = $1 RETURNING blob_id', [o.mailboxId])).rows.map((r) => r.blob_id);
    // Its owner's subscription goes with it (issue 10.1).
    await this.c.query('DELETE FROM subscriptions s USING mailboxes b WHERE b.id = $1 AND s.user_id = b.user_id AND s.name = b.name', [o.mailboxId]);
    await this.c.query('DELETE FROM mailboxes WHERE id = $1', [o.mailboxId]);
    await this.collect(blobs, collect);
  }

  async setSubscribed(o: Op<'subscription.set'>): Promise<void> {
    if (o.on) await this.c.query('INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [o.userId, o.name]);
    else await this.c.query('DELETE FROM subscriptions WHERE user_id = $1 AND name = $2', [o.userId, o.name]);
    await this.c.query('UPDATE mailboxes SET subscribed = $1 WHERE user_id = $2 AND name = $3', [o.on, o.userId, o.name]);
  }

  /** The lock every usage change takes first (see the class comment). */
  private async lockUsage(userId: number): Promise<void> {
    await this.c.query('SELECT 1 FROM usage WHERE user_id = $1 FOR UPDATE', [userId]);
  }

  private async lockOwnerOf(mailboxId: number): Promise<void> {
    await this.c.query('SELECT 1 FROM usage WHERE user_id = (SELECT user_id FROM mailboxes WHERE id = $1) FOR UPDATE', [mailboxId]);
  }

  /** Throws QuotaExceededError when the mailbox owner's quota (RFC 9208) would be exceeded. */
  async append(req: AppendRequest): Promise<MessageRecord> {
    if (req.idempotencyKey) {
      const prior = await this.one<PgMessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE idem_key = $1`, [req.idempotencyKey]);
      if (prior) return pgMessage(prior);
    }
    await this.checkQuota(req.mailboxId, req.size, 1);
    if (req.newBlob) {
      await this.c.query('INSERT INTO blobs (id, size, mime) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [req.blobId, req.size, req.newBlob.mime]);
      if (req.newBlob.text !== undefined) await indexBodies(this.c, [[req.blobId, req.newBlob.text]]);
    }
    const bumped = await this.one<{ uidnext: number; highestmodseq: number }>(
      'UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING uidnext, highestmodseq', [req.mailboxId]);
    if (!bumped) throw new Error(`no mailbox ${req.mailboxId}`);
    const row = await this.one<PgMessageRow>(
      `INSERT INTO messages (mailbox_id, uid, blob_id, size, internaldate, flags, modseq, idem_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (idem_key) DO NOTHING RETURNING ${MESSAGE_COLUMNS}`,
      [req.mailboxId, bumped.uidnext - 1, req.blobId, req.size, req.internalDate, (req.flags ?? []).join(' '), bumped.highestmodseq, req.idempotencyKey ?? null]);
    if (row) return pgMessage(row);
    // The same delivery committed on another node meanwhile: its record, no duplicate.
    return pgMessage((await this.one<PgMessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE idem_key = $1`, [req.idempotencyKey]))!);
  }

  private async checkQuota(mailboxId: number, bytes: number, messages: number): Promise<void> {
    const q = await this.one<{ storage_limit: number | null; message_limit: number | null; bytes: number; messages: number; address: string }>(
      `SELECT q.storage_limit, q.message_limit, u.bytes, u.messages, us.address
         FROM mailboxes b JOIN usage u ON u.user_id = b.user_id JOIN users us ON us.id = b.user_id
         LEFT JOIN quotas q ON q.user_id = b.user_id WHERE b.id = $1 FOR UPDATE OF u`, [mailboxId]);
    if (!q) return;
    if (q.storage_limit !== null && q.bytes + bytes > q.storage_limit * 1024) throw new QuotaExceededError(q.address, 'STORAGE', q.storage_limit);
    if (q.message_limit !== null && q.messages + messages > q.message_limit) throw new QuotaExceededError(q.address, 'MESSAGE', q.message_limit);
  }

  private async bumpModseq(mailboxId: number): Promise<number> {
    return (await this.one<{ highestmodseq: number }>('UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq', [mailboxId]))!.highestmodseq;
  }

  async expunge(o: Op<'message.expunge'>, collect: (ids: string[]) => void): Promise<{ uids: number[]; blobs: string[] }> {
    await this.lockOwnerOf(o.mailboxId);
    const ids = o.uids ? (await this.rowsByUid(o.mailboxId, o.uids)).map((r) => r.id) : o.ids ?? [];
    if (!ids.length) return { uids: [], blobs: [] };
    const gone = (await this.c.query<{ uid: number; blob_id: string }>(
      'DELETE FROM messages WHERE mailbox_id = $1 AND id = ANY($2::bigint[]) RETURNING uid, blob_id', [o.mailboxId, ids])).rows;
    if (!gone.length) return { uids: [], blobs: [] };
    gone.sort((a, b) => a.uid - b.uid);
    const modseq = await this.bumpModseq(o.mailboxId);
    await this.c.query(`INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
                         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`, [o.mailboxId, modseq, gone.map((r) => r.uid)]);
    const blobs = gone.map((r) => r.blob_id);
    if (o.collect) await this.collect(blobs, collect);
    return { uids: gone.map((r) => r.uid), blobs };
  }

  async updateFlags(o: Op<'message.flags'>): Promise<FlagResult> {
    const changed: MessageRecord[] = [];
    const modified: number[] = [];
    let modseq = 0;
    for (const row of await this.rowsByUid(o.mailboxId, o.uids, true)) {
      if (o.unchangedSince !== undefined && row.modseq > o.unchangedSince) {
        modified.push(row.uid);
        continue;
      }
      const cur = row.flags ? row.flags.split(' ') : [];
      const next = o.flagOp === 'set' ? [...new Set(o.flags)] : o.flagOp === 'add' ? [...new Set([...cur, ...o.flags])] : cur.filter((f) => !o.flags.includes(f));
      const text = next.join(' ');
      // RFC 7162 3.1.3: UNCHANGEDSINCE with no actual change still counts as a success.
      if (text === row.flags || sameSet(cur, next)) continue;
      if (!modseq) modseq = await this.bumpModseq(o.mailboxId);
      await this.c.query('UPDATE messages SET flags = $1, modseq = $2 WHERE id = $3', [text, modseq, row.id]);
      changed.push(pgMessage({ ...row, flags: text, modseq }));
    }
    return { changed, modified };
  }

  async copy(o: Op<'message.copy'>): Promise<CopyResult> {
    await this.lockOwnerOf(o.to);
    if (o.move) await this.lockOwnerOf(o.from);
    const rows = await this.rowsByUid(o.from, o.uids, o.move);
    const byUid = new Map(rows.map((r) => [r.uid, r]));
    const ordered = o.uids.filter((u) => byUid.has(u)).map((u) => byUid.get(u)!);
    let bytes = 0;
    for (const r of ordered) bytes += r.size;
    await this.checkQuota(o.to, bytes, ordered.length);
    const records: MessageRecord[] = [];
    for (const r of ordered) {
      records.push(await this.append({ mailboxId: o.to, blobId: r.blob_id, size: r.size, internalDate: r.internaldate, flags: copiedFlags(r.flags, o.keep) }));
    }
    if (o.move && ordered.length) {
      const modseq = await this.bumpModseq(o.from);
      await this.c.query('DELETE FROM messages WHERE mailbox_id = $1 AND id = ANY($2::bigint[])', [o.from, ordered.map((r) => r.id)]);
      await this.c.query(`INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
                           ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`, [o.from, modseq, ordered.map((r) => r.uid)]);
    }
    const to = (await this.one<{ uidvalidity: number }>('SELECT uidvalidity FROM mailboxes WHERE id = $1', [o.to]))!;
    return { uidValidity: to.uidvalidity, fromUids: ordered.map((r) => r.uid), toUids: records.map((r) => r.uid), records };
  }

  /** Rows of the given UIDs in UID order; `lock` takes their row locks (flag changes, moves). */
  private async rowsByUid(mailboxId: number, uids: number[], lock = false): Promise<PgMessageRow[]> {
    if (!uids.length) return [];
    return (await this.c.query<PgMessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid${lock ? ' FOR UPDATE' : ''}`,
      [mailboxId, [...new Set(uids)]])).rows;
  }

  async setMime(o: Op<'blob.mime'>): Promise<void> {
    for (const [id, mime] of o.items) await this.c.query('UPDATE blobs SET mime = $1 WHERE id = $2', [mime, id]);
  }

  /** Drops the rows of bodies nothing refers to any more; their bytes go after the commit. */
  async collect(blobIds: string[], collect: (ids: string[]) => void): Promise<void> {
    const ids = [...new Set(blobIds)].sort();
    if (!ids.length) return;
    // Locked first: a copy committing elsewhere holds a key-share lock on the row (its foreign
    // key), so the count below runs after it and sees its message.
    await this.c.query('SELECT 1 FROM blobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [ids]);
    const gone = (await this.c.query<{ id: string }>(
      `DELETE FROM blobs b WHERE b.id = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)
          AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.blob_id = b.id) RETURNING b.id`, [ids])).rows.map((r) => r.id);
    if (gone.length) collect(gone);
  }

  async setAcl(o: Op<'acl.set'>): Promise<void> {
    if (o.rights === null || o.rights === '') await this.c.query('DELETE FROM acl WHERE mailbox_id = $1 AND identifier = $2', [o.mailboxId, o.identifier]);
    else await this.c.query(`INSERT INTO acl (mailbox_id, identifier, rights) VALUES ($1, $2, $3)
                              ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights`, [o.mailboxId, o.identifier, o.rights]);
  }

  async modifyAcl(o: Op<'acl.modify'>): Promise<string> {
    // The mailbox row lock makes SETACL's read-modify-write one step across nodes.
    await this.c.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [o.mailboxId]);
    const cur = (await this.one<{ rights: string }>('SELECT rights FROM acl WHERE mailbox_id = $1 AND identifier = $2', [o.mailboxId, o.identifier]))?.rights ?? '';
    const want = o.mode === 'set' ? o.rights : o.mode === 'add' ? cur + o.rights : [...cur].filter((x) => !o.rights.includes(x)).join('');
    const next = [...o.order].filter((x) => want.includes(x)).join('');
    await this.setAcl({ op: 'acl.set', mailboxId: o.mailboxId, identifier: o.identifier, rights: next || null });
    return next;
  }

  async setQuota(o: Op<'quota.set'>): Promise<void> {
    await this.c.query('INSERT INTO quotas (user_id) VALUES ($1) ON CONFLICT DO NOTHING', [o.userId]);
    if (o.storage !== undefined) await this.c.query('UPDATE quotas SET storage_limit = $1 WHERE user_id = $2', [o.storage, o.userId]);
    if (o.messages !== undefined) await this.c.query('UPDATE quotas SET message_limit = $1 WHERE user_id = $2', [o.messages, o.userId]);
    await this.c.query('DELETE FROM quotas WHERE user_id = $1 AND storage_limit IS NULL AND message_limit IS NULL', [o.userId]);
  }
}
