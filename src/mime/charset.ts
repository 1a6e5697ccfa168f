import type { ByteString } from './types.js';

/**
 * Charset conversion with Node's WHATWG TextDecoder (full ICU: ISO-8859-*, windows-*, KOI8,
 * ISO-2022-JP, Shift_JIS, EUC-*, GB*, Big5, UTF-16...). Labels follow the WHATWG Encoding
 * standard, which maps ISO-8859-1 and US-ASCII to windows-1252, a superset for text.
 */
interface Decoder { decode(bytes: Uint8Array): string }

const decoders = new Map<string, Decoder | null>();

function decoderFor(charset: string): Decoder | null {
  const key = charset.trim().toLowerCase();
  let d = decoders.get(key);
  if (d === undefined) {
    try {
      const td = new TextDecoder(aliasFor(key), { fatal: false });
      // Node 20's windows-1252 decoder is ISO-8859-1 (0x80-0x9F come out as C1 controls).
      d = td.encoding === 'windows-1252' ? { decode: decodeCp1252 } : td;
    } catch {
      d = null;
    }
    if (decoders.size < 256) decoders.set(key, d);
  }
  return d;
}

/** windows-1252 0x80-0x9F (WHATWG index; undefined positions map to the C1 control). */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeCp1252(bytes: Uint8Array): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b >= 0x80 && b <= 0x9f) {
      out += Buffer.from(bytes.buffer, bytes.byteOffset + from, i - from).toString('latin1');
      out += String.fromCharCode(CP1252_HIGH[b - 0x80]);
      from = i + 1;
    }
  }
  return out + Buffer.from(bytes.buffer, bytes.byteOffset + from, bytes.length - from).toString('latin1');
}

/** Names seen in mail that the WHATWG label list lacks. */
function aliasFor(label: string): string {
  switch (label) {
    case 'utf8': return 'utf-8';
    case 'latin1': case 'iso8859-1': case 'iso_8859-1': return 'iso-8859-1';
    case 'ascii': case 'ansi_x3.4-1968': return 'us-ascii';
    case 'cp1252': return 'windows-1252';
    case 'ks_c_5601-1987': return 'euc-kr';
    default: return label;
  }
}

export function isKnownCharset(charset: string): boolean {
  return decoderFor(charset) !== null;
}

/** Decodes bytes in `charset` to a JS string; null when the charset is unknown. */
export function decodeCharset(bytes: Uint8Array, charset: string): string | null {
  const d = decoderFor(charset);
  return d === null ? null : d.decode(bytes);
}

/** A JS string as the ByteString of its UTF-8 encoding. */
export function utf8ByteString(s: string): ByteString {
  return Buffer.from(s, 'utf8').toString('latin1');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw header octets as text: UTF-8 when they are valid UTF-8 (RFC 6532), otherwise the
 * common legacy guess, windows-1252 (a superset of ISO-8859-1).
 */
export function bytesToText(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] >= 0x80) { ascii = false; break; }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeCp1252(bytes);
  }
}

/** A ByteString (raw octets) as text, per bytesToText. */
export function byteStringToText(s: ByteString): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x80-\xff]/.test(s)) return s;
  return bytesToText(Buffer.from(s, 'latin1'));
}
