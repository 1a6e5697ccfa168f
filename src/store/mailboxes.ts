import type { AclEntry, AppendRequest, CopyResult, FlagFilter, FlagOp, FlagResult, Mailbox, MailboxStatus, MessageRecord, Quota, SharedMailbox } from './types.js';

/**
 * Mailboxes, messages, flags and mod-sequences (RFC 9051, RFC 7162), ACLs (RFC 4314), quotas
 * (RFC 9208), subscriptions. Each method that changes something is one transaction: a
 * multi-step IMAP change (CREATE with its parents, SETACL's read-modify-write, COPY/MOVE) is
 * one call here, never several.
 *
 * Durability: appends are on disk when their promise settles (fsync); flag changes, expunges,
 * copies and moves may be lost by a power cut (never a message), see docs/DECISIONS.md.
 */
export interface MailboxStore {
  getMailbox(userId: number, name: string): Promise<Mailbox | null>;
  getMailboxById(id: number): Promise<Mailbox | null>;
  listMailboxes(userId: number): Promise<Mailbox[]>;
  /** Where local delivery puts mail for `address`: its INBOX, or with `junk` its RFC 6154 \Junk folder (INBOX if none). */
  deliveryMailbox(address: string, junk: boolean): Promise<number | null>;
  /**
   * Creates `name` ("/"-separated); with `parents`, missing superior names too (RFC 9051 6.3.4),
   * all in one transaction. Throws when the name exists. Subscribes nothing (issue 10.1).
   */
  createMailbox(userId: number, name: string, specialUse?: string | null, o?: { parents?: boolean }): Promise<Mailbox>;
  /**
   * Renames a mailbox and every mailbox under it ("from/..."), keeping UIDVALIDITY; missing
   * parents of `to` are made. The subscriptions of those names move along (issue 10.1).
   */
  renameMailbox(userId: number, from: string, to: string): Promise<void>;
  /** Removes a mailbox, its messages and its owner's subscription of its name (not its children). */
  deleteMailbox(mailboxId: number): Promise<void>;
  mailboxStatus(mailboxId: number): Promise<MailboxStatus>;

  /** Subscriptions are names, and may name mailboxes that do not exist (RFC 9051 6.3.7). */
  listSubscriptions(userId: number): Promise<string[]>;
  setSubscribed(userId: number, name: string, on: boolean): Promise<void>;

  /** Appends in one transaction (group commit); each request gets its record or an Error (QuotaExceededError). */
  appendMany(reqs: AppendRequest[]): Promise<(MessageRecord | Error)[]>;
  /** All or nothing (RFC 3502 MULTIAPPEND): throws the first request's error, appending none. */
  appendAtomic(reqs: AppendRequest[]): Promise<MessageRecord[]>;
  listMessages(mailboxId: number): Promise<MessageRecord[]>;
  /** Removes the messages (by id) from their mailbox; their bodies go when no one uses them. */
  expunge(mailboxId: number, messageIds: number[]): Promise<void>;
  /** Expunges by UID; returns the UIDs that were removed. */
  expungeUids(mailboxId: number, uids: number[]): Promise<number[]>;
  /** Messages changed (flags) or added since `modSeq`, and UIDs expunged since then (RFC 7162 QRESYNC). */
  changesSince(mailboxId: number, modSeq: number): Promise<{ messages: MessageRecord[]; expunged: number[]; highestModSeq: number }>;
  updateFlags(mailboxId: number, uids: number[], op: FlagOp, flags: string[], unchangedSince?: number): Promise<FlagResult>;
  /**
   * Copies (or moves) messages; the new UIDs are in the order of `uids`. `keep` filters the
   * copies' flags (absent: all kept). Throws QuotaExceededError.
   */
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number, move: boolean, keep?: FlagFilter): Promise<CopyResult>;

  /** The parsed MIME tree (JSON) stored with each body, null where it was not indexed yet. */
  getMime(blobIds: string[]): Promise<Map<string, string | null>>;
  setMime(blobId: string, mime: string): Promise<void>;

  getAcl(mailboxId: number): Promise<AclEntry[]>;
  /** `rights` null removes the identifier's entry. */
  setAcl(mailboxId: number, identifier: string, rights: string | null): Promise<void>;
  /**
   * SETACL's "+r"/"-r"/"r" as one read-modify-write transaction. `order` lists every right in
   * its canonical order (the result is sorted by it). Returns the new rights ("" = entry removed).
   */
  modifyAcl(mailboxId: number, identifier: string, mode: 'add' | 'remove' | 'set', rights: string, order: string): Promise<string>;
  /** Mailboxes of other users on which `address` (or "anyone") holds rights. */
  sharedWith(address: string): Promise<SharedMailbox[]>;
  getQuota(userId: number): Promise<Quota>;
  /** undefined leaves a limit as it is, null removes it. STORAGE is in units of 1024 octets. */
  setQuota(userId: number, storage: number | null | undefined, messages: number | null | undefined): Promise<void>;
}
