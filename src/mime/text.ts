import { parseAddressFields } from './address.js';
import { bytesToText, byteStringToText, decodeCharset } from './charset.js';
import type { ByteString } from './types.js';

/**
 * Header values as text, for SEARCH (RFC 3501 6.4.4 / RFC 9051 6.4.4: matching is on decoded,
 * case-folded text) and SORT / THREAD (RFC 5256 base subject, RFC 5957 display names).
 * Input is a raw header value (ByteString); output is a JS (Unicode) string.
 */

/** RFC 5322 2.2.3 unfolding: CRLF (or a bare LF) followed by white space becomes that space. */
export function unfold(s: string): string {
  return s.indexOf('\n') < 0 && s.indexOf('\r') < 0 ? s : s.replace(/\r?\n(?=[ \t])/g, '').replace(/[\r\n]/g, '');
}

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

/**
 * RFC 2047 decoding of an unstructured value (Subject, Comments, display names for search).
 * - White space between two adjacent encoded words is dropped (6.2); consecutive words in the
 *   same charset are joined before charset decoding, so a character split across words survives.
 * - The RFC 2231 language suffix (`=?utf-8*en?Q?...?=`) is ignored.
 * - An encoded word in an unknown charset or with invalid base64 stays as written.
 * - Encoded words glued to other text are decoded too (common in the wild; harmless for search).
 * - Octets outside encoded words are UTF-8 when valid, else windows-1252.
 */
export function decodeEncodedWords(raw: ByteString): string {
  const s = unfold(raw);
  if (s.indexOf('=?') < 0) return byteStringToText(s);
  let out = '';
  let last = 0;
  let pending: { charset: string; bytes: number[] } | null = null;
  const flush = (): void => {
    if (pending === null) return;
    out += decodeCharset(Uint8Array.from(pending.bytes), pending.charset) ?? '';
    pending = null;
  };
  ENCODED_WORD.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = ENCODED_WORD.exec(s)) !== null) {
    const charset = m[1].split('*')[0].toLowerCase();
    const bytes = decodeWordBytes(m[2], m[3]);
    const gap = s.slice(last, m.index);
    const adjacent = pending !== null && /^[ \t]*$/.test(gap);
    if (bytes === null || decodeCharset(new Uint8Array(0), charset) === null) {
      // not decodable: keep as text
      flush();
      out += byteStringToText(s.slice(last, ENCODED_WORD.lastIndex));
      last = ENCODED_WORD.lastIndex;
      continue;
    }
    if (adjacent && pending!.charset === charset) {
      for (const b of bytes) pending!.bytes.push(b);
    } else {
      flush();
      if (!adjacent) out += byteStringToText(gap);
      pending = { charset, bytes };
    }
    last = ENCODED_WORD.lastIndex;
  }
  flush();
  return out + byteStringToText(s.slice(last));
}

function decodeWordBytes(encoding: string, text: string): number[] | null {
  const out: number[] = [];
  if (encoding === 'B' || encoding === 'b') {
    if (!/^[A-Za-z0-9+/]*=*$/.test(text)) return null;
    const buf = Buffer.from(text, 'base64');
    for (const b of buf) out.push(b);
    return out;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out.push(0x20);
    else if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff);
  }
  return out;
}

/** A header value as text for SEARCH: unfolded, encoded words decoded, 8-bit octets read. */
export function headerText(raw: ByteString): string {
  return decodeEncodedWords(raw);
}

/**
 * Case folding for comparisons, an approximation of i;unicode-casemap (RFC 5051: titlecase,
 * then NFKD): upper case then NFKD, so "ß" meets "SS" and "é" meets "e" + U+0301.
 */
export function foldCase(s: string): string {
  return s.toUpperCase().normalize('NFKD');
}

/** SEARCH substring match (RFC 3501 6.4.4): case-insensitive, on decoded text. */
export function containsFolded(haystack: string, needle: string): boolean {
  return foldCase(haystack).includes(foldCase(needle));
}

/**
 * RFC 5256 2.1 base subject: encoded words decoded, white space runs made one space, then
 * "Re:", "Fw:", "Fwd:", "[blob]" leaders, "(fwd)" trailers and "[Fwd: ...]" wrappers removed.
 * Not case-folded: compare the results with foldCase.
 */
export function baseSubject(raw: ByteString): string {
  // (1)
  let s = decodeEncodedWords(raw).replace(/[ \t\r\n]+/g, ' ');
  for (;;) {
    // (2) subj-trailer = "(fwd)" / WSP
    s = s.replace(/(?: |\(fwd\))+$/i, '');
    // (3)-(5)
    for (;;) {
      let changed = false;
      // subj-leader = (*subj-blob subj-refwd) / WSP ; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
      for (;;) {
        const m = /^(?:(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:| )/i.exec(s);
        if (m === null || m[0] === '') break;
        s = s.slice(m[0].length);
        changed = true;
      }
      // (4) a leading subj-blob, if something remains after it
      const b = /^\[[^[\]]*\] */.exec(s);
      if (b !== null && s.length > b[0].length) {
        s = s.slice(b[0].length);
        changed = true;
      }
      if (!changed) break;
    }
    // (6) subj-fwd = "[fwd:" subj-base "]"
    if (/^\[fwd:/i.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1);
      continue;
    }
    return s;
  }
}

/** RFC 5256 3 SORT FROM/TO/CC key: the local part of the first address, case-folded. */
export function sortMailboxKey(values: ByteString[] | undefined): string {
  for (const a of parseAddressFields(values)) {
    if (a.group !== undefined) continue;
    return foldCase(byteStringToText(a.mailbox ?? ''));
  }
  return '';
}

/**
 * RFC 5957 DISPLAYFROM/DISPLAYTO key: the decoded display name of the first address, or its
 * addr-spec when it has none; case-folded.
 */
export function sortDisplayKey(values: ByteString[] | undefined): string {
  for (const a of parseAddressFields(values)) {
    if (a.group !== undefined) continue;
    const name = a.name === null ? '' : decodeEncodedWords(a.name).trim();
    if (name !== '') return foldCase(name);
    const spec = (a.mailbox ?? '') + (a.host === null ? '' : '@' + a.host);
    return foldCase(byteStringToText(spec));
  }
  return '';
}

/** Decoded text of a body part for SEARCH BODY/TEXT: bytes in the part's charset. */
export function bodyText(bytes: Uint8Array, charset: string | undefined): string {
  if (charset !== undefined) {
    const t = decodeCharset(bytes, charset);
    if (t !== null) return t;
  }
  return bytesToText(bytes);
}
