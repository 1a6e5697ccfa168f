/** What the SMTP, submission, LMTP and sendmail front ends hand to the queue. */

export interface EnvelopeRecipient {
  /** The address as resolved for delivery (lower-cased domain). */
  address: string;
  /** RFC 3461 ORCPT, when given. */
  original?: string;
  /** RFC 3461 NOTIFY, when given: e.g. ["SUCCESS","FAILURE"] or ["NEVER"]. */
  notify?: string[];
}

export interface MessageEnvelope {
  /** Envelope sender; "" is the null reverse-path (bounces). */
  sender: string;
  recipients: EnvelopeRecipient[];
  /** Client IP and the name it gave, for logs. */
  clientAddress: string;
  helo: string;
  /** Authenticated user, when there is one. */
  authUser?: string;
  smtputf8?: boolean;
  /** RFC 3461 RET and ENVID. */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** DMARC p=quarantine (or a local rule) asked for it: local delivery files it in the Junk folder. */
  quarantine?: boolean;
  /** How it came in: "smtp", "submission", "lmtp", "sendmail", "dsn". */
  via: string;
  /** Local `sendmail` (the pickup): the submitting user's uid, so that mailq shows them their own mail. */
  localUid?: number;
}

/**
 * A message being received. Bytes go to a spool file as they arrive; `commit` returns once
 * the bytes and the queue record are on disk (fsync), which is when a front end may say 250.
 */
export interface SpoolWriter {
  readonly id: string;
  /** Octets written so far. */
  readonly size: number;
  /** Resolves when the chunk may be followed by another (back-pressure). */
  write(chunk: Buffer): Promise<void>;
  commit(): Promise<void>;
  /**
   * More trace header fields (Authentication-Results, ...), CRLF-terminated, placed right after
   * the front end's trace header. Allowed until commit: the inbound checks only know their
   * results once the whole message has been read.
   */
  addTrace?(text: string): void;
  /** Drops the partial message; nothing of it remains. Safe to call twice or after a failure. */
  abort(): Promise<void>;
}

/** Raised when the message cannot be taken now (disk full, I/O error): a 4xx, never a loss. */
export class TemporaryFailure extends Error {
  constructor(message: string, readonly enhanced = '4.3.0') {
    super(message);
  }
}

export interface Intake {
  /**
   * Opens a spool file for a message. `trace` is the header text the receiving front end
   * prepends (its Received: line, CRLF-terminated); Return-Path is added here. A function
   * gets the new queue id, for the Received line's "id" clause (RFC 5321 4.4).
   */
  begin(envelope: MessageEnvelope, trace: string | ((id: string) => string)): Promise<SpoolWriter>;
}
