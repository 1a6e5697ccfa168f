/**
 * Response encoding (RFC 9051 4.3 strings, 9 formal syntax). A response is built as a list
 * of pieces, strings and Buffers, so that message bytes go out as they are, never re-encoded.
 */

export type Piece = string | Buffer;

/** A value in a response: atom-like text, a string, NIL, a number or a list. */
export type Value = { raw: string } | string | Buffer | number | null | Value[];

/** An unquoted atom or code, written as it is. */
export const raw = (s: string): Value => ({ raw: s });

const SAFE_QUOTED = /^[^\x00\r\n\x80-\uffff]*$/;

/**
 * A string as a quoted string when it can be one, else a literal. `utf8`: the client accepts
 * UTF-8 in quoted strings (RFC 6855 UTF8=ACCEPT, IMAP4rev2).
 */
export function str(s: string | Buffer, utf8 = false): Piece[] {
  if (typeof s === 'string') {
    if (s.length < 1024 && (SAFE_QUOTED.test(s) || (utf8 && !/[\x00\r\n]/.test(s))))
      return [quoteSimple(s)];
    const b = Buffer.from(s, 'utf8');
    return [`{${b.length}}\r\n`, b];
  }
  if (s.length < 1024 && isSafeAscii(s)) return [quoteSimple(s.toString('latin1'))];
  return [`{${s.length}}\r\n`, s];
}

function quoteSimple(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

function isSafeAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0 || c === 13 || c === 10 || c > 0x7f) return false;
  }
  return true;
}

/** An astring for names (mailboxes, flags are atoms): an atom when it can be one. */
export function astr(s: string, utf8 = false): Piece[] {
  if (/^[!#$&'+-Z^-z|}~]+$/.test(s) && s.toUpperCase() !== 'NIL') return [s];
  return str(s, utf8);
}

export function nstr(s: string | Buffer | null, utf8 = false): Piece[] {
  return s === null ? ['NIL'] : str(s, utf8);
}

/** Encodes a value tree (ENVELOPE, BODYSTRUCTURE, STATUS lists...). */
export function encode(v: Value, utf8 = false, out: Piece[] = []): Piece[] {
  if (v === null) out.push('NIL');
  else if (typeof v === 'number') out.push(String(v));
  else if (typeof v === 'string' || Buffer.isBuffer(v)) out.push(...str(v, utf8));
  else if (Array.isArray(v)) {
    out.push('(');
    v.forEach((x, i) => {
      if (i) out.push(' ');
      encode(x, utf8, out);
    });
    out.push(')');
  } else out.push(v.raw);
  return out;
}

/** Joins pieces, merging neighbouring strings so a response is a few writes, not hundreds. */
export function compact(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  let s = '';
  for (const p of pieces) {
    if (typeof p === 'string') s += p;
    else {
      if (s) out.push(s), (s = '');
      out.push(p);
    }
  }
  if (s) out.push(s);
  return out;
}
