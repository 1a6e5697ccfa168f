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
  listMessages(mailboxId: number): Promise<MessageRecord[]>;
  /** Removes the messages (by id) from their mailbox; their blobs go when no one uses them. */
  expunge(mailboxId: number, messageIds: number[]): Promise<void>;

  close(): Promise<void>;
}
