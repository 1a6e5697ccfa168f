/**
 * Content-Transfer-Encoding decoding (RFC 2045 6), for BINARY (RFC 3516) and for SEARCH.
 *
 * Strict mode (BINARY) refuses a body that is not valid in its encoding, so a client asking for
 * decoded octets never gets silently damaged ones (IMAP answers NO [PARSE]):
 *  - base64: only the alphabet, white space and final '=' padding (at most two);
 *  - quoted-printable: '=' must start "=XX" (hex, either case) or a soft line break.
 * Lenient mode (SEARCH) follows RFC 2045 6.8's "ignore what is not in the alphabet" and keeps a
 * broken "=" sequence as it is.
 */

export class TransferDecodeError extends Error {
  constructor(readonly encoding: string, message: string) {
    super(`invalid ${encoding} content: ${message}`);
  }
}

/** Transfer encodings that leave the octets as they are. */
export function isIdentityEncoding(enc: string | undefined): boolean {
  if (enc === undefined) return true;
  const e = enc.toLowerCase();
  return e === '7bit' || e === '8bit' || e === 'binary';
}

/** Encodings we can decode; anything else gets NO [UNKNOWN-CTE] from BINARY. */
export function isKnownEncoding(enc: string | undefined): boolean {
  if (isIdentityEncoding(enc)) return true;
  const e = enc!.toLowerCase();
  return e === 'base64' || e === 'quoted-printable';
}

const B64 = new Int16Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('').forEach((ch, i) => { B64[ch.charCodeAt(0)] = i; });

function isB64Space(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

export function decodeBase64(data: Uint8Array, strict: boolean): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((data.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let bits = 0;
  let quantum = 0; // characters of the current 4-character group
  let padding = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    const v = B64[c];
    if (v >= 0) {
      if (padding > 0) {
        if (strict) throw new TransferDecodeError('base64', `data after padding at offset ${i}`);
        // lenient: a new encoded run after padding (concatenated base64); restart groups
        padding = 0;
        acc = 0; bits = 0; quantum = 0;
      }
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      quantum = (quantum + 1) & 3;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >> bits) & 0xff;
      }
      continue;
    }
    if (c === 0x3d) {
      padding++;
      if (strict && (padding > 2 || quantum < 2 || quantum + padding > 4)) {
        throw new TransferDecodeError('base64', `misplaced '=' at offset ${i}`);
      }
      continue;
    }
    if (isB64Space(c)) continue;
    if (strict) throw new TransferDecodeError('base64', `octet 0x${c.toString(16)} at offset ${i}`);
  }
  if (strict && quantum === 1) throw new TransferDecodeError('base64', 'truncated final group');
  return out.subarray(0, o);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export function decodeQuotedPrintable(data: Uint8Array, strict: boolean): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let o = 0;
  const n = data.length;
  let i = 0;
  while (i < n) {
    const c = data[i];
    if (c === 0x3d) {
      const h = i + 1 < n ? hexValue(data[i + 1]) : -1;
      const l = i + 2 < n ? hexValue(data[i + 2]) : -1;
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 3;
        continue;
      }
      // Soft line break: '=' then optional transport padding, then CRLF, LF or the end.
      let j = i + 1;
      while (j < n && (data[j] === 0x20 || data[j] === 0x09)) j++;
      if (j >= n) { i = n; continue; }
      if (data[j] === 0x0a) { i = j + 1; continue; }
      if (data[j] === 0x0d && (j + 1 >= n || data[j + 1] === 0x0a)) { i = Math.min(n, j + 2); continue; }
      if (strict) throw new TransferDecodeError('quoted-printable', `bad escape at offset ${i}`);
      out[o++] = c;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // RFC 2045 6.7 (3): white space at the end of an encoded line is transport padding.
      let j = i;
      while (j < n && (data[j] === 0x20 || data[j] === 0x09)) j++;
      if (j < n && data[j] !== 0x0d && data[j] !== 0x0a) {
        while (i < j) out[o++] = data[i++];
        continue;
      }
      i = j;
      continue;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

/**
 * Decodes `data` per the encoding token. Identity encodings return the input.
 * Throws TransferDecodeError (strict) or returns null for an unknown encoding.
 */
export function decodeTransfer(data: Buffer, encoding: string | undefined, strict: boolean): Buffer | null {
  if (isIdentityEncoding(encoding)) return data;
  const e = encoding!.toLowerCase();
  if (e === 'base64') return decodeBase64(data, strict);
  if (e === 'quoted-printable') return decodeQuotedPrintable(data, strict);
  return null;
}
