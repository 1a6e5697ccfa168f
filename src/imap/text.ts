/**
 * Text as SEARCH, SORT and THREAD compare it: header values unfolded and RFC 2047-decoded,
 * compared case-insensitively (i;unicode-casemap, RFC 5051, approximated by NFKC + lower case).
 */

const decoders = new Map<string, TextDecoder | null>();

export function decoderFor(charset: string): TextDecoder | null {
  const cs = charset.toLowerCase().replace(/\*.*$/, ''); // RFC 2231 language suffix
  let d = decoders.get(cs);
  if (d === undefined) {
    try {
      d = new TextDecoder(cs === 'utf8' ? 'utf-8' : cs, { fatal: false });
    } catch {
      d = null;
    }
    decoders.set(cs, d);
  }
  return d;
}

/** Octets (latin1 string or Buffer) as text: UTF-8 when valid, else ISO-8859-1. */
export function bytesText(b: Buffer | string): string {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  let ascii = true;
  for (let i = 0; i < buf.length; i++) if (buf[i] > 0x7f) { ascii = false; break; }
  if (ascii) return buf.toString('latin1');
  // Invalid UTF-8 becomes U+FFFD: raw 8-bit of an unknown charset matches nothing by accident.
  return utf8.decode(buf);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** RFC 2047 encoded words in a header value (given as octets in a latin1 string). */
export function decodeWords(value: string): string {
  const re = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  let out = '';
  let last = 0;
  let prevWasWord = false;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const between = value.slice(last, m.index);
    // RFC 2047 6.2: white space between adjacent encoded words is dropped.
    if (!(prevWasWord && /^[ \t\r\n]*$/.test(between))) out += bytesText(between);
    const d = decoderFor(m[1]);
    let bytes: Buffer;
    if (m[2].toUpperCase() === 'B') bytes = Buffer.from(m[3], 'base64');
    else bytes = Buffer.from(m[3].replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    out += d ? d.decode(bytes) : m[0];
    last = m.index + m[0].length;
    prevWasWord = true;
  }
  out += bytesText(value.slice(last));
  return out;
}

export function unfold(s: string): string {
  return s.replace(/\r?\n(?=[ \t])/g, '');
}

/** i;unicode-casemap-like key for substring matching. */
export function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/** For header matching: folded, with runs of white space as one space (as Dovecot compares). */
export function foldSpace(s: string): string {
  return fold(s).replace(/\s+/g, ' ').trim();
}

/** All values of a header field (raw octets as latin1, unfolded), from a header block. */
export function headerValues(header: string, name: string): string[] {
  const out: string[] = [];
  const lname = name.toLowerCase();
  const lines = header.split(/\r?\n(?![ \t])/);
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    if (l.slice(0, i).trim().toLowerCase() === lname) out.push(unfold(l.slice(i + 1)).trim());
  }
  return out;
}
