/**
 * Modified UTF-7 mailbox names (RFC 3501 5.1.3): printable US-ASCII stands for itself,
 * "&" is "&-", anything else is "&" + modified BASE64 of UTF-16BE + "-" (with "," for "/").
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : name[i];
    } else pending.push(c);
  }
  flush();
  return out;
}

/** null when the name is not valid modified UTF-7 (RFC 3501 5.1.3: the server SHOULD refuse it). */
export function decodeMutf7(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    if (s[i] !== '&') {
      out += s[i];
      continue;
    }
    const end = s.indexOf('-', i + 1);
    if (end < 0) return null;
    const run = s.slice(i + 1, end);
    i = end;
    if (run === '') {
      out += '&';
      continue;
    }
    for (const ch of run) if (!B64.includes(ch)) return null;
    const bits = run.length * 6;
    if (bits % 16 >= 6) return null; // leftover bits must be fewer than one base64 digit
    const bytes = Buffer.from(run.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || !bytes.length) return null;
    let piece = '';
    for (let j = 0; j < bytes.length; j += 2) piece += String.fromCharCode(bytes.readUInt16BE(j));
    // Characters that could have been written directly must not be encoded.
    for (let j = 0; j < piece.length; j++) {
      const u = piece.charCodeAt(j);
      if (u >= 0x20 && u <= 0x7e) return null;
    }
    if (!wellFormedUtf16(piece)) return null;
    // "&AAA-&AAA-" is two runs where one would do: tolerated, as most servers do.
    out += piece;
  }
  return out;
}

function wellFormedUtf16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
