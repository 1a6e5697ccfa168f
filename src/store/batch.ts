import type { AppendRequest, CopyResult, FlagFilter, FlagOp, FlagResult, Mailbox, MessageRecord, User } from './types.js';
import type { RecipientStatus } from './queue.js';
import type { SieveQuota } from './sieve.js';
import type { IndexedText } from './search.js';

/**
 * A write batch: changes to the mailboxes and the queue that commit together, as DATA (plain,
 * structured-clonable values), so that the writer can run it on another thread (or, some day,
 * send it to another database) without any callback into the caller.
 *
 * A batch is a list of parts. Each part is all or nothing (a savepoint); a part marked
 * `mayFail` that fails is rolled back alone and the rest of the batch still commits (the SMTP
 * fast path: the intake part must stay when a delivery part fails on a quota). A failing part
 * without `mayFail` fails the whole batch. Batches submitted together share one commit (group
 * commit); one batch's failure never undoes another's.
 *
 * Durability: 'full' batches are on disk (fsync) when their promise settles; 'relaxed' ones
 * (flags, expunges, MIME trees) may be lost by a power cut until the next full commit.
 */
export interface WriteBatch {
  durability: 'full' | 'relaxed';
  parts: BatchPart[];
}

export interface BatchPart {
  ops: WriteOp[];
  mayFail?: boolean;
}

/** Per part: the result of each of its ops, or the error that rolled it back. */
export type PartResult = { ok: true; results: unknown[] } | { ok: false; error: Error };

export interface BatchResult {
  parts: PartResult[];
}

/** A local delivery of a queued message to one mailbox, with its idempotency key ("queueId:user"). */
export interface LocalAppend {
  user: string;
  mailboxId: number;
  blobId: string;
  size: number;
  internalDate: number;
  idempotencyKey: string;
  /** Flags the message starts with (Sieve imap4flags, RFC 5232); none when absent. */
  flags?: string[];
  /** The body is a new one written for this append alone (Sieve editheader): its row is made too. */
  newBlob?: boolean;
}

/** The outcome of one LocalAppend: its record, or why it failed (quota...). */
export type AppendOutcome = { ok: true; record: MessageRecord } | { ok: false; error: Error };

/** Every change the store can make. The comment gives what each returns in PartResult.results. */
export type WriteOp =
  // --- accounts
  /** -> User */
  | { op: 'user.create'; address: string; passwordHash: string; created: number }
  /** -> boolean (deleted) */
  | { op: 'user.delete'; address: string }
  /** -> boolean (the user exists) */
  | { op: 'user.setPassword'; address: string; passwordHash: string }
  /** -> void; only while the user's hash is still `passwordHash` */
  | { op: 'secrets.write'; address: string; passwordHash: string; secrets: Record<string, string>; clear: boolean }
  // --- mailboxes
  /** -> Mailbox */
  | { op: 'mailbox.create'; userId: number; name: string; specialUse: string | null; parents: boolean }
  | { op: 'mailbox.rename'; userId: number; from: string; to: string }
  | { op: 'mailbox.delete'; mailboxId: number }
  | { op: 'subscription.set'; userId: number; name: string; on: boolean }
  /** -> MessageRecord; throws QuotaExceededError */
  | { op: 'message.append'; req: AppendRequest }
  /**
   * -> { uids, blobs }: by message id or by UID. `collect` drops the bodies no one holds in this
   * commit; a relaxed batch must not (its files would go before the expunge is durable).
   */
  | { op: 'message.expunge'; mailboxId: number; ids?: number[]; uids?: number[]; collect: boolean }
  /** -> FlagResult */
  | { op: 'message.flags'; mailboxId: number; uids: number[]; flagOp: FlagOp; flags: string[]; unchangedSince?: number }
  /** -> CopyResult; throws QuotaExceededError */
  | { op: 'message.copy'; from: number; uids: number[]; to: number; move: boolean; keep?: FlagFilter }
  | { op: 'blob.mime'; items: [blobId: string, mime: string][] }
  /**
   * Full-text index entries of bodies (src/store/search.ts); null marks a body that cannot be
   * indexed (it stays a candidate of every text search). A body's row must exist.
   */
  | { op: 'blob.text'; items: [blobId: string, text: IndexedText | null][] }
  /** Drops rows of bodies no message and no queue entry refers to; their files go after the commit. */
  | { op: 'blob.collect'; blobIds: string[] }
  | { op: 'acl.set'; mailboxId: number; identifier: string; rights: string | null }
  /** -> string (new rights) */
  | { op: 'acl.modify'; mailboxId: number; identifier: string; mode: 'add' | 'remove' | 'set'; rights: string; order: string }
  | { op: 'quota.set'; userId: number; storage: number | null | undefined; messages: number | null | undefined }
  // --- queue
  /** A new entry with its body row, its recipients (pending) and the "received" counters. */
  | { op: 'queue.insert'; id: string; sender: string; envelope: string; via: string; size: number; traceSkip: number; created: number;
      recipients: { rcpt: string; orcpt: string | null; notify: string | null }[] }
  /**
   * Local delivery of one recipient: each append in its own savepoint (one over quota does not
   * stop the others), "delivered.local" counted per append; the recipient is marked done when
   * an append succeeded or `doneAnyway`. -> AppendOutcome[]
   */
  | { op: 'queue.deliverLocal'; queueId: string; rcpt: string; appends: LocalAppend[]; doneAnyway: boolean }
  /** Sets a recipient's status when it is now in one of `from` (null: whatever it is); `attempt` counts a try. */
  | { op: 'rcpt.status'; queueId: string; rcpt: string; status: RecipientStatus; from: RecipientStatus[] | null; attempt?: boolean; lastError?: string | null }
  /** A new recipient of an entry (alias expansion, mailertable local:); an existing one in `upgradeFrom` takes `status`. */
  | { op: 'rcpt.add'; queueId: string; rcpt: string; orcpt: string | null; notify: string | null; status: RecipientStatus; upgradeFrom: RecipientStatus }
  /** One more failed try: next attempt at `next`, the error kept for `correo queue list`. Only while in `status`. */
  | { op: 'rcpt.defer'; queueId: string; rcpt: string; status: RecipientStatus; next: number; lastError: string }
  /** Moves the next attempt of recipients (all of the entry when `rcpt` is null) in `status` to `next`. */
  | { op: 'rcpt.retryAt'; queueId: string | null; rcpt: string | null; status: RecipientStatus[]; next: number }
  /** -> boolean: true the first time (the one "delayed" DSN of a recipient). */
  | { op: 'rcpt.warned'; queueId: string; rcpt: string }
  /** Removes entries with no recipient left to act on, and their bodies when no mailbox holds them. */
  | { op: 'queue.finish'; queueIds: string[] }
  /** `correo queue delete`: the entry goes whatever its recipients' status. -> boolean */
  | { op: 'queue.delete'; id: string }
  /** -> boolean (the entry exists) */
  | { op: 'queue.hold'; id: string; held: boolean }
  | { op: 'stats.add'; counts: [key: string, n: number][] }
  // --- sieve (store/sieve.ts); each throws SieveStoreError with its RFC 5804 code
  | { op: 'sieve.put'; user: string; name: string; text: string; quota: SieveQuota }
  | { op: 'sieve.activate'; user: string; name: string | null }
  | { op: 'sieve.delete'; user: string; name: string }
  | { op: 'sieve.rename'; user: string; from: string; to: string }
  /** Remembers `key` for the user until `expires` (ms); expired keys of the user are dropped. No user: nothing. */
  | { op: 'sieve.remember'; user: string; key: string; expires: number; now: number };

export type { User, Mailbox, MessageRecord, CopyResult, FlagResult };

/** Errors crossing the writer thread become plain objects; these bring them back to their class. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  props?: Record<string, unknown>;
}
