/**
 * The storage interface every protocol handler sees. Promise-based so that another backend
 * (PostgreSQL for several nodes) can replace the embedded SQLite one without touching a handler.
 */

export interface User {
  id: number;
  /** Full address, lower-cased: "usr1@example.test". */
  address: string;
}

export interface Mailbox {
  id: number;
  userId: number;
  /** Full name with "/" as hierarchy separator, e.g. "INBOX", "Archive/2026". */
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  specialUse: string | null;
  subscribed: boolean;
}

/** One message as stored in one mailbox. */
export interface MessageRecord {
  id: number;
  mailboxId: number;
  uid: number;
  /** Size in octets of the stored message (CRLF line endings). */
  size: number;
  /** Milliseconds since the epoch. */
  internalDate: number;
  flags: string[];
  modSeq: number;
  /** Identifies the body file; several mailbox messages may share one. */
  blobId: string;
}

/** A message to append: its body is already a blob on disk (see BlobStore). */
export interface AppendRequest {
  mailboxId: number;
  blobId: string;
  size: number;
  internalDate: number;
  flags?: string[];
  /**
   * Delivery idempotency key ("queueId:recipient"): a second append with the same key is a
   * no-op that returns the first one's record, so a redelivery after a crash makes no duplicate.
   */
  idempotencyKey?: string;
  /** The blob is new (IMAP APPEND): record it, with its MIME tree's JSON, in the same transaction. */
  newBlob?: { mime: string | null };
}

export class QuotaExceededError extends Error {
  constructor(readonly address: string, readonly resource: 'STORAGE' | 'MESSAGE', readonly limit: number) {
    super(`mailbox of ${address} is over its ${resource} quota (${limit})`);
  }
}

export interface Store {
  // users
  createUser(address: string, passwordHash: string): Promise<User>;
  deleteUser(address: string): Promise<boolean>;
  getUser(address: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  getPasswordHash(address: string): Promise<string | null>;
  setPasswordHash(address: string, passwordHash: string): Promise<boolean>;

  // mailboxes
  getMailbox(userId: number, name: string): Promise<Mailbox | null>;
  listMailboxes(userId: number): Promise<Mailbox[]>;
  createMailbox(userId: number, name: string, specialUse?: string | null): Promise<Mailbox>;

  // messages
  /** Appends in one transaction (group commit); each request gets its record or an Error. */
  appendMany(reqs: AppendRequest[]): Promise<(MessageRecord | Error)[]>;
  /** All or nothing (RFC 3502 MULTIAPPEND): throws the first request's error, appending none. */
  appendAtomic(reqs: AppendRequest[]): Promise<MessageRecord[]>;
  listMessages(mailboxId: number): Promise<MessageRecord[]>;
  /** Removes the messages (by id) from their mailbox; their blobs go when no one uses them. */
  expunge(mailboxId: number, messageIds: number[]): Promise<void>;

  // --- IMAP: mailboxes (RFC 9051 6.3), flags and mod-sequences (RFC 7162), ACLs (RFC 4314), quotas (RFC 9208)
  getMailboxById(id: number): Promise<Mailbox | null>;
  /** Renames a mailbox and every mailbox under it ("from/..."), keeping UIDVALIDITY. */
  renameMailbox(userId: number, from: string, to: string): Promise<void>;
  /** Removes a mailbox and its messages (not its children). */
  deleteMailbox(mailboxId: number): Promise<void>;
  /** Subscriptions are names, and may name mailboxes that do not exist (RFC 9051 6.3.7). */
  listSubscriptions(userId: number): Promise<string[]>;
  setSubscribed(userId: number, name: string, on: boolean): Promise<void>;
  mailboxStatus(mailboxId: number): Promise<MailboxStatus>;
  /** Records the message body file as a blob (IMAP APPEND); `mime` is the parsed tree's JSON. */
  addBlob(id: string, size: number, mime: string | null): Promise<void>;
  getMime(blobIds: string[]): Promise<Map<string, string | null>>;
  setMime(blobId: string, mime: string): Promise<void>;
  /** Messages changed (flags) or added since `modSeq`, and UIDs expunged since then. */
  changesSince(mailboxId: number, modSeq: number): Promise<{ messages: MessageRecord[]; expunged: number[]; highestModSeq: number }>;
  updateFlags(mailboxId: number, uids: number[], op: FlagOp, flags: string[], unchangedSince?: number): Promise<FlagResult>;
  /** Copies (or moves) messages; the new UIDs are in the order of `uids`. Throws QuotaExceededError. */
  /** `keepFlags` chooses the copies' flags from the originals' (IMAP ACL, RFC 4314 4); absent, all are kept. */
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number, move: boolean, keepFlags?: (flags: string[]) => string[]): Promise<CopyResult>;
  /** Expunges by UID; returns the UIDs that were removed. */
  expungeUids(mailboxId: number, uids: number[]): Promise<number[]>;
  getAcl(mailboxId: number): Promise<AclEntry[]>;
  /** `rights` null removes the identifier's entry. */
  setAcl(mailboxId: number, identifier: string, rights: string | null): Promise<void>;
  /** Mailboxes of other users on which `address` (or "anyone") holds rights. */
  sharedWith(address: string): Promise<SharedMailbox[]>;
  getQuota(userId: number): Promise<Quota>;
  /** undefined leaves a limit as it is, null removes it. STORAGE is in units of 1024 octets. */
  setQuota(userId: number, storage: number | null | undefined, messages: number | null | undefined): Promise<void>;
  getUserById(id: number): Promise<User | null>;
  /** Removes blob files no message and no queue entry refers to any more. */
  collect(blobIds: string[]): Promise<void>;

  close(): Promise<void>;
}

export interface MailboxStatus {
  messages: number;
  unseen: number;
  deleted: number;
  /** Octets of all messages (RFC 8438 STATUS=SIZE). */
  size: number;
}

export type FlagOp = 'set' | 'add' | 'remove';

export interface FlagResult {
  /** Messages whose flags changed, with their new flags and mod-sequence. */
  changed: MessageRecord[];
  /** UIDs not changed because they were modified after UNCHANGEDSINCE (RFC 7162 3.1.3). */
  modified: number[];
}

export interface CopyResult {
  uidValidity: number;
  fromUids: number[];
  toUids: number[];
  /** Records of the new copies. */
  records: MessageRecord[];
}

export interface AclEntry {
  identifier: string;
  rights: string;
}

export interface SharedMailbox {
  mailbox: Mailbox;
  owner: string;
  rights: string;
}

export interface Quota {
  /** Limits: STORAGE in units of 1024 octets, MESSAGE in messages; null = none. */
  storageLimit: number | null;
  messageLimit: number | null;
  /** Usage in octets and messages. */
  bytes: number;
  messages: number;
}
