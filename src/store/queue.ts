import type { WriteBatch, BatchResult } from './batch.js';

/**
 * The mail queue: entries (one per accepted message: its body, sender, envelope JSON), their
 * recipients with a status each, retry times, the outbound "delayed DSN sent" marks, and the
 * counters `correo stats` prints. Reads are methods here; every change is an operation of a
 * WriteBatch (batch.ts) so that a queue change and a mailbox append can share one commit.
 *
 * Recipient status: 'pending' (local delivery to do), 'remote' (for the outbound scheduler),
 * 'done', 'failed'. An entry goes when no recipient is pending or remote (op queue.finish).
 */
export type RecipientStatus = 'pending' | 'remote' | 'done' | 'failed';

export interface QueueEntry {
  id: string;
  blobId: string;
  /** Envelope sender; "" for the null reverse-path. */
  sender: string;
  /** The MessageEnvelope (queue/types.ts) as JSON. */
  envelope: string;
  /** Octets of the body file, trace fields included. */
  size: number;
  /** Octets of Return-Path at the start of the file, which remote delivery skips. */
  traceSkip: number;
  /** Milliseconds since the epoch. */
  created: number;
  held: boolean;
}

export interface QueueRecipient {
  rcpt: string;
  orcpt: string | null;
  /** RFC 3461 NOTIFY as "SUCCESS,FAILURE", "NEVER", or null. */
  notify: string | null;
  status: RecipientStatus;
  attempts: number;
  nextAttempt: number;
  lastError: string | null;
}

/** A due recipient with what delivering it needs from its entry. */
export interface DueRecipient {
  queueId: string;
  rcpt: string;
  orcpt: string | null;
  notify: string | null;
  attempts: number;
  lastError: string | null;
  sender: string;
  envelope: string;
  blobId: string;
  size: number;
  traceSkip: number;
  created: number;
}

/** Names one recipient of one entry. */
export interface RecipientKey {
  queueId: string;
  rcpt: string;
}

/**
 * Claims (what the queue runners use): a claimed recipient is leased to the claiming node for
 * `leaseMs`; no other claim returns it until its status changes (any op that sets a status,
 * defers it or adds it anew ends the lease) or the lease runs out (the node died, or forgot
 * it). Several nodes on one database each deliver a due recipient once; on one node, the
 * lease keeps a recipient a runner is still working on from being handed out twice.
 */
export interface QueueStore {
  /** Pending (local) recipients due at `now`, oldest entry first, not held. */
  duePending(now: number, limit: number): Promise<DueRecipient[]>;
  /**
   * Remote recipients due at `now`, oldest first, at most `perDomain` per recipient domain so
   * that a backlog for one slow domain does not hide every other domain's mail.
   */
  dueRemote(now: number, perDomain: number, limit: number): Promise<DueRecipient[]>;
  /** Due pending recipients (as duePending) not leased, now leased to this node. */
  claimPending(now: number, limit: number, leaseMs: number): Promise<DueRecipient[]>;
  /** Due remote recipients (as dueRemote) not leased, now leased to this node. */
  claimRemote(now: number, perDomain: number, limit: number, leaseMs: number): Promise<DueRecipient[]>;
  /** Extends the leases this node holds on these recipients (a long delivery still running); 0 ends them. */
  renewLeases(keys: RecipientKey[], leaseMs: number): Promise<void>;
  /** The earliest next attempt of a recipient in `status` later than `after`, null when none. */
  nextAttempt(status: 'pending' | 'remote', after: number): Promise<number | null>;
  entry(id: string): Promise<QueueEntry | null>;
  /** Every entry, oldest first (`correo queue list`). */
  entries(): Promise<QueueEntry[]>;
  recipients(queueId: string): Promise<QueueRecipient[]>;
  /** The counters ("received.smtp.msgs" ...). */
  stats(): Promise<Map<string, number>>;
  /** Commits the batch (one transaction, group commit); see batch.ts. */
  commit(batch: WriteBatch): Promise<BatchResult>;
}
