/**
 * RFC 5228 2.4.2.4 encoded-character: "${hex:...}" (octets, read as UTF-8) and
 * "${unicode:...}" (code points) in strings, decoded once at parse time. A sequence that does
 * not parse stays as written (2.4.2.4: "... is not treated as an encoded character");
 * a code point that is not a Unicode scalar value is an error.
 */
const ENCODED = /\$\{(hex|unicode)\s*:([\s0-9a-fA-F]*)\}/gi;

export function decodeEncodedCharacters(s: string): string {
  if (!s.includes('${')) return s;
  return s.replace(ENCODED, (all, kind: string, body: string) => {
    const items = body.trim() === '' ? [] : body.trim().split(/\s+/);
    if (kind.toLowerCase() === 'hex') {
      if (items.some((h) => h.length > 8)) return all;
      return Buffer.from(items.map((h) => parseInt(h, 16) & 0xff)).toString('utf8');
    }
    return items.map((h) => {
      const cp = parseInt(h, 16);
      if (h.length > 8 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new Error(`invalid Unicode code point ${h}`);
      }
      return String.fromCodePoint(cp);
    }).join('');
  });
}
