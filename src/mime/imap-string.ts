import type { ByteString } from './types.js';

/**
 * IMAP string encodings (RFC 3501 4.3, RFC 9051 4.3) for ByteStrings, collected as latin1
 * text so one response is built with plain string concatenation and turned into bytes once.
 *
 * A quoted string may not carry CR, LF, NUL or (in IMAP4rev1) 8-bit octets; those go out as a
 * literal `{n}\r\n...`. A literal may not carry NUL either (RFC 3501 4.3), so NUL becomes
 * 0x80, as Dovecot does. Quoted strings escape `"` and `\`; more than four of those and a
 * literal is the shorter, clearer choice. These are the same choices Dovecot makes, so our
 * answers can be compared with its recorded ones byte for byte.
 */

/** `string` per RFC 3501 (quoted or literal). */
export function imapString(s: ByteString): string {
  let escapes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      if (++escapes > 4) return literal(s);
    } else if (c === 0x0d || c === 0x0a || c === 0 || c >= 0x80) {
      return literal(s);
    }
  }
  return escapes === 0 ? '"' + s + '"' : '"' + s.replace(/["\\]/g, '\\$&') + '"';
}

/** `nstring`: NIL for a missing value. */
export function imapNString(s: ByteString | null | undefined): string {
  return s === null || s === undefined ? 'NIL' : imapString(s);
}

/** `nstring` of an unstructured header value with its folding line breaks removed. */
export function imapNStringNoLf(s: ByteString | null | undefined): string {
  if (s === null || s === undefined) return 'NIL';
  return imapString(s.indexOf('\r') < 0 && s.indexOf('\n') < 0 ? s : s.replace(/[\r\n]/g, ''));
}

/**
 * A string for people to read (ENVELOPE subject and display names): folding and tabs become
 * single spaces, runs of white space one space, leading and trailing white space goes. The
 * result is a literal when anything had to change or it holds 8-bit octets or quote marks.
 */
export function imapHumanString(s: ByteString): string {
  let modify = false;
  let lastWsp = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
      if (c !== 0x20 || lastWsp) modify = true;
      lastWsp = true;
    } else {
      if (c === 0 || c === 0x22 || c === 0x5c || c >= 0x80) modify = true;
      lastWsp = false;
    }
  }
  if (lastWsp && s.length > 0) modify = true;
  if (!modify) return '"' + s + '"';
  const clean = s.replace(/[ \t\r\n]+/g, ' ').trim();
  if (clean === '') return '""';
  return literal(clean);
}

/** `{n}\r\n` and the octets, NUL replaced by 0x80. */
export function literal(s: ByteString): string {
  const body = s.indexOf('\0') < 0 ? s : s.replace(/\0/g, '\x80');
  return '{' + body.length + '}\r\n' + body;
}

/** A built response fragment (latin1 text) as bytes. */
export function toBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
