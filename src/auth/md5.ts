/**
 * MD5 (RFC 1321) with access to its chaining state, which node:crypto does not give.
 *
 * Needed for CRAM-MD5 secrets stored the way Dovecot and Cyrus store them: HMAC-MD5
 * (RFC 2104) hashes `key XOR ipad` and `key XOR opad`, each exactly one 64-octet block,
 * before anything else. The state after those blocks (4 words each) is enough to compute
 * HMAC-MD5(key, challenge) later, so the password itself is never kept.
 */

/** The four 32-bit words A, B, C, D. */
export type Md5State = [number, number, number, number];

export const MD5_INIT: Md5State = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

// RFC 1321 3.4: T[i] = floor(2^32 * abs(sin(i))), and the per-round shifts.
const T = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;

/** One 64-octet block into the state (RFC 1321 3.4). */
export function md5Block(state: Md5State, block: Buffer, offset = 0): Md5State {
  const X = new Array<number>(16);
  for (let i = 0; i < 16; i++) X[i] = block.readUInt32LE(offset + i * 4);
  let [a, b, c, d] = state;
  for (let i = 0; i < 64; i++) {
    let f: number, g: number;
    const round = i >> 4;
    if (round === 0) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (round === 1) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (round === 2) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const tmp = d;
    d = c;
    c = b;
    b = (b + rotl((a + f + T[i] + X[g]) >>> 0, S[(round << 2) | (i & 3)])) >>> 0;
    a = tmp;
  }
  return [(state[0] + a) >>> 0, (state[1] + b) >>> 0, (state[2] + c) >>> 0, (state[3] + d) >>> 0];
}

/**
 * Finishes an MD5 computation that started from `state` after `prefixLength` octets
 * (a multiple of 64) were already hashed, over `data`.
 */
export function md5From(state: Md5State, prefixLength: number, data: Buffer): Buffer {
  const total = prefixLength + data.length;
  // RFC 1321 3.1-3.2: 0x80, zeros to 56 mod 64, then the bit length (64-bit little-endian).
  const padLen = ((55 - (total % 64)) + 64) % 64 + 1;
  const msg = Buffer.alloc(data.length + padLen + 8);
  data.copy(msg);
  msg[data.length] = 0x80;
  const bits = BigInt(total) * 8n;
  msg.writeBigUInt64LE(bits & 0xffffffffffffffffn, data.length + padLen);
  let st = state;
  for (let off = 0; off < msg.length; off += 64) st = md5Block(st, msg, off);
  const out = Buffer.alloc(16);
  st.forEach((w, i) => out.writeUInt32LE(w, i * 4));
  return out;
}

/** RFC 2104 with MD5: the states after the inner and outer key blocks. */
export function hmacMd5Pads(key: Buffer): { inner: Md5State; outer: Md5State } {
  let k = key;
  if (k.length > 64) k = md5From(MD5_INIT, 0, k);
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] ^= k[i];
    opad[i] ^= k[i];
  }
  return { inner: md5Block(MD5_INIT, ipad), outer: md5Block(MD5_INIT, opad) };
}

/** HMAC-MD5(key, message) from the stored pads (RFC 2104: H(K^opad, H(K^ipad, text))). */
export function hmacMd5FromPads(pads: { inner: Md5State; outer: Md5State }, message: Buffer): Buffer {
  const inner = md5From(pads.inner, 64, message);
  return md5From(pads.outer, 64, inner);
}
