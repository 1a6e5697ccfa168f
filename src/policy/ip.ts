import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP address arithmetic for the access map and DNS lists, without I/O. Addresses are
 * compared as bit strings so that IPv4 and IPv6 keys, sendmail's octet prefixes
 * ("20.20.128.") and CIDR networks ("10.0.0.0/8", "2001:db8::/32") share one matcher.
 */

/** An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is the IPv4 address it carries. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

/** The 16 bytes of an IPv6 address (RFC 4291 2.2 text forms, embedded IPv4 included). */
export function ipv6Bytes(ip: string): number[] | null {
  if (!isIPv6(ip)) return null;
  let text = ip.replace(/%.*$/, '');
  // A trailing dotted quad is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

export function ipv4Bytes(ip: string): number[] | null {
  return isIPv4(ip) ? ip.split('.').map(Number) : null;
}

/** A network: the first `bits` bits of `bytes` (4 bytes for IPv4, 16 for IPv6). */
export interface Network {
  v: 4 | 6;
  bytes: number[];
  bits: number;
}

export function contains(net: Network, ipBytes: number[]): boolean {
  if (ipBytes.length !== net.bytes.length) return false;
  let left = net.bits;
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((ipBytes[i] & mask) !== (net.bytes[i] & mask)) return false;
  }
  return true;
}

export function addressBytes(ip: string): number[] | null {
  const n = normalizeIp(ip);
  return ipv4Bytes(n) ?? ipv6Bytes(n);
}

/**
 * Parses an access-map network key; null when `key` is not one.
 *   1.2.3.4          one address          1.2.3. / 1.2.3   sendmail's octet prefix (/24)
 *   10.0.0.0/8       CIDR                 IPv6:2001:db8::1 / 2001:db8::1   one IPv6 address
 *   2001:db8::/32    IPv6 CIDR            IPv6:2001:db8    sendmail's IPv6 group prefix
 */
export function parseNetwork(key: string): Network | null {
  let k = key.trim();
  const slash = k.indexOf('/');
  if (slash > 0) {
    const base = k.slice(0, slash).replace(/^ipv6:/i, '');
    const bits = Number(k.slice(slash + 1));
    if (!/^\d{1,3}$/.test(k.slice(slash + 1))) return null;
    const b4 = ipv4Bytes(base);
    if (b4) return bits <= 32 ? { v: 4, bytes: b4, bits } : null;
    const b6 = ipv6Bytes(base);
    if (b6) return bits <= 128 ? { v: 6, bytes: b6, bits } : null;
    return null;
  }
  const tagged6 = /^ipv6:/i.test(k);
  if (tagged6) k = k.slice(5);
  if (!tagged6) {
    const b4 = ipv4Bytes(k);
    if (b4) return { v: 4, bytes: b4, bits: 32 };
    // "20.20.128." or "20.20.128": one to three whole octets.
    const m = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?\.?$/.exec(k);
    if (m && (k.endsWith('.') || m[2] !== undefined)) {
      const octets = m.slice(1).filter((x) => x !== undefined).map(Number);
      if (octets.some((o) => o > 255)) return null;
      return { v: 4, bytes: [...octets, ...Array(4 - octets.length).fill(0)], bits: octets.length * 8 };
    }
  }
  const b6 = ipv6Bytes(k);
  if (b6) return { v: 6, bytes: b6, bits: 128 };
  // sendmail's IPv6 prefix: leading groups, uncompressed ("IPv6:2002:c0a8").
  if (tagged6 && /^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,6}$/i.test(k)) {
    const groups = k.split(':').map((g) => parseInt(g, 16));
    const bytes = Array(16).fill(0);
    groups.forEach((g, i) => {
      bytes[2 * i] = g >> 8;
      bytes[2 * i + 1] = g & 0xff;
    });
    return { v: 6, bytes, bits: groups.length * 16 };
  }
  return null;
}

/**
 * The name a DNS list is asked about (RFC 5782 2.1 and 2.4): IPv4 octets reversed,
 * IPv6 nibbles reversed, then the zone.
 */
export function dnsListName(ip: string, zone: string): string | null {
  const n = normalizeIp(ip);
  const b4 = ipv4Bytes(n);
  if (b4) return `${[...b4].reverse().join('.')}.${zone}`;
  const b6 = ipv6Bytes(n);
  if (!b6) return null;
  const nibbles: string[] = [];
  for (const b of b6) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return `${nibbles.reverse().join('.')}.${zone}`;
}

/**
 * The client that limits and failures are counted against: an IPv4 address, or an IPv6 /64
 * (connection limits, message rates, login throttling: one key everywhere). One host or
 * customer usually holds a whole /64 (RFC 6177), so counting single IPv6 addresses would let
 * one attacker step to a fresh address at every guess.
 */
export function clientKey(address: string): string {
  const ip = normalizeIp(address);
  const b = ipv6Bytes(ip);
  if (!b) return ip;
  const groups = [0, 2, 4, 6].map((i) => ((b[i] << 8) | b[i + 1]).toString(16));
  return `${groups.join(':')}::/64`;
}
