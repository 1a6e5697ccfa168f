import type { Mailbox } from '../store/types.js';

/**
 * RFC 8474 OBJECTID: identifiers that stay with a mailbox or a message whatever its name or
 * UID (objectid = 1*255(ALPHA / DIGIT / "_" / "-"), 4). None is ever given to another object.
 * - MAILBOXID: the mailbox row and its UIDVALIDITY ("M<id>V<uidvalidity>"). RENAME keeps both;
 *   a mailbox created anew gets a new UIDVALIDITY even where a row id comes back.
 * - EMAILID: the body file ("E<blob id>"): immutable content, the same after COPY and MOVE
 *   (RFC 8474 5.1), never reused (blob ids are queue ids).
 * - THREADID: NIL, which 5.2 allows for a server that does not compute threads.
 */
export function mailboxObjectId(mb: Pick<Mailbox, 'id' | 'uidValidity'>): string {
  return `M${mb.id}V${mb.uidValidity}`;
}

export function emailObjectId(blobId: string): string {
  return `E${blobId}`;
}

/** The body an EMAILID names, or null when it is not one of ours. */
export function blobOfEmailId(id: string): string | null {
  return /^E[A-Za-z0-9]+$/.test(id) ? id.slice(1) : null;
}
