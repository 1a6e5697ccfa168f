/**
 * The records the store interfaces (accounts.ts, mailboxes.ts, queue.ts) hand out: plain data,
 * the same whatever backend stands behind them.
 */
import type { AccountStore } from './accounts.js';
import type { MailboxStore } from './mailboxes.js';
import type { IndexedText } from './search.js';

/** What IMAP, POP3 and the CLI use: users and their mailboxes. */
export type Store = AccountStore & MailboxStore;

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
  /**
   * The blob is new (IMAP APPEND): record it, with its MIME tree's JSON and its full-text
   * index entry (src/store/search.ts), in the same transaction.
   */
  newBlob?: { mime: string | null; text?: IndexedText | null };
}

export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
  constructor(readonly address: string, readonly resource: 'STORAGE' | 'MESSAGE', readonly limit: number) {
    super(`mailbox of ${address} is over its ${resource} quota (${limit})`);
  }
}

export interface MailboxStatus {
  messages: number;
  unseen: number;
  deleted: number;
  /** Octets of all messages (RFC 8438 STATUS=SIZE). */
  size: number;
}

export type FlagOp = 'set' | 'add' | 'remove';

/**
 * Which flags a copy keeps (IMAP ACL, RFC 4314 4: the flags the caller may set on the target):
 * \Seen needs right "s", \Deleted "t", any other flag "w".
 */
export interface FlagFilter {
  seen: boolean;
  deleted: boolean;
  others: boolean;
}

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

/**
 * The store cannot be reached right now (a networked backend's server is down or unreachable):
 * a temporary condition, answered as one (SMTP 451 4.3.0, IMAP NO [UNAVAILABLE], POP3
 * -ERR [SYS/TEMP]); the store reconnects by itself when the server is back.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(readonly detail: string) {
    super(`the mail store is unavailable: ${detail}`);
  }
}
