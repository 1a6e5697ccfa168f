/**
 * The MIME tree of one stored message: parsed once at delivery (DESIGN.md), kept in SQLite as
 * JSON, and enough on its own to answer FETCH ENVELOPE, BODY and BODYSTRUCTURE without reading
 * the message file. BODY[section] and BINARY read the byte ranges recorded here.
 *
 * Header-derived strings are ByteStrings: one JS character per octet (latin1), so raw 8-bit
 * header bytes (RFC 6532 UTF-8, or a stray ISO-8859-1 byte) survive JSON storage unchanged and
 * are sent back exactly as they arrived. Write them with `Buffer.from(s, 'latin1')`.
 * Values decoded from RFC 2231 charsets are stored as the UTF-8 octets of the result.
 */
export type ByteString = string;

/** A parameter list in header order: [name, value] pairs; duplicates are kept. */
export type MimeParams = [ByteString, ByteString][];

export interface MimeDisposition {
  /** As written (case kept): "attachment", "INLINE", "" for a missing type. */
  type: ByteString;
  params: MimeParams;
}

/**
 * The raw values (unfolded only where noted) of the header fields ENVELOPE, SORT and THREAD
 * need, located once. Single-valued fields keep the last occurrence; address fields keep every
 * occurrence, in order (a second From line adds its mailboxes, as Dovecot does).
 */
export interface MimeEnvelopeFields {
  date?: ByteString;
  subject?: ByteString;
  from?: ByteString[];
  sender?: ByteString[];
  replyTo?: ByteString[];
  to?: ByteString[];
  cc?: ByteString[];
  bcc?: ByteString[];
  inReplyTo?: ByteString;
  messageId?: ByteString;
  references?: ByteString;
}

export interface MimePart {
  /** Offset of the part's first header byte (for an entity without header: = bs). */
  hs: number;
  /** Offset of the first body byte: after the blank line ending the header. */
  bs: number;
  /** Offset one past the last body byte (the CRLF before a boundary belongs to the boundary). */
  be: number;
  /** Media type and subtype, lower-cased, defaults applied (RFC 2045 5.2, RFC 2046 5.1.5). */
  type: string;
  subtype: string;
  /** Content-Type parameters as written; RFC 2231 sections joined and decoded. */
  params: MimeParams;
  /** Content-ID, Content-Description, Content-MD5, Content-Location: raw, CR/LF removed. */
  id?: ByteString;
  description?: ByteString;
  md5?: ByteString;
  location?: ByteString;
  /** Content-Transfer-Encoding token as written (absent: 7bit). */
  encoding?: ByteString;
  disposition?: MimeDisposition;
  /** Content-Language tags, comments removed. */
  language?: ByteString[];
  /** Line count of the body: the number of LF octets in [bs, be). */
  lines: number;
  /** Children of a multipart (may be empty: a multipart without usable boundary). */
  parts?: MimePart[];
  /**
   * The encapsulated message of message/rfc822 or message/global. Its hs is this part's bs.
   * For a message part with a transfer encoding other than 7bit/8bit/binary (forbidden by
   * RFC 2046 5.2.1), or beyond the nesting limit, it is an empty message at bs.
   */
  message?: MimePart;
  /** Present on message roots: the top-level entity and every encapsulated message. */
  env?: MimeEnvelopeFields;
}

export interface MimeTree {
  /** Format version of this structure; a stored tree of another version must be re-parsed. */
  v: 1;
  /** Size of the parsed buffer in octets. */
  size: number;
  root: MimePart;
}

export const MIME_TREE_VERSION = 1;
