import type { Resolver } from '../dns/resolver.js';

/**
 * The policy checks' view of DNS: everything through the configured resolver (`[dns] servers`,
 * never the machine's resolver), with a short cache so that one client's many messages do not
 * repeat the same SPF, DMARC and DNS-list queries, and a deadline on each query.
 */

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR';

/** What mailauth expects of its `resolver` option: dns.promises.resolve's shape and error codes. */
export type LookupFn = (name: string, type: string) => Promise<unknown[]>;

const CACHE_MS = 60_000;
const CACHE_MAX = 5000;
const FAILURE_MS = 5_000;

function dnsError(code: string, name: string): Error {
  return Object.assign(new Error(`${code} ${name}`), { code });
}

/** "4.3.2.1.in-addr.arpa" -> "1.2.3.4"; the nibble form of ip6.arpa -> an IPv6 address. */
export function arpaToIp(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(n);
  if (v4) return `${v4[4]}.${v4[3]}.${v4[2]}.${v4[1]}`;
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!v6) return null;
  const hex = v6[1].split('.').filter(Boolean).reverse().join('');
  return hex.match(/.{4}/g)!.join(':');
}

export class PolicyDns {
  private readonly cache = new Map<string, { at: number; value: Promise<unknown[]> }>();

  constructor(private readonly resolver: Resolver, private readonly timeoutMs: number) {}

  /** dns.promises.resolve(name, type) semantics, with our servers, cache and deadline. */
  readonly lookup: LookupFn = (name, type) => {
    const key = `${type}:${name.toLowerCase()}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < CACHE_MS) return hit.value;
    const value = this.query(name, type.toUpperCase() as RecordType);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { at: now, value });
    // Other failures (SERVFAIL, REFUSED, timeouts) are remembered for a few seconds only
    // (RFC 2308 7.1 allows caching them briefly): a burst of mail does not repeat them.
    value.catch((e: NodeJS.ErrnoException) => {
      const entry = this.cache.get(key);
      if (entry && entry.value === value && e.code !== 'ENOTFOUND' && e.code !== 'ENODATA') entry.at = Date.now() - CACHE_MS + FAILURE_MS;
    });
    return value;
  };

  private query(name: string, type: RecordType): Promise<unknown[]> {
    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsError('ETIMEOUT', name)), this.timeoutMs);
    });
    const work = (async (): Promise<unknown[]> => {
      switch (type) {
        case 'A':
          return this.resolver.a(name);
        case 'AAAA':
          return this.resolver.aaaa(name);
        case 'MX':
          return this.resolver.mx(name);
        case 'TXT':
          return this.resolver.txt(name);
        case 'PTR': {
          const ip = arpaToIp(name);
          if (!ip) throw dnsError('ENOTFOUND', name);
          const names = await this.resolver.reverse(ip);
          if (!names.length) throw dnsError('ENOTFOUND', name);
          return names;
        }
        default:
          throw dnsError('ENOTIMP', name);
      }
    })();
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
