import { isIP } from 'node:net';
import type { Resolver } from '../dns/resolver.js';

/**
 * Where to connect for a domain (RFC 5321 5.1, RFC 7505), through `[dns] servers`.
 *
 * - MX records in preference order, equal preferences in random order (RFC 5321 5.1).
 * - No MX records (NODATA): the domain's own A/AAAA records, as if it were its own MX at
 *   preference 0 (RFC 5321 5.1 "implicit MX").
 * - Null MX "0 ." (RFC 7505 3): the domain takes no mail: permanent, 5.1.10.
 * - NXDOMAIN: permanent, 5.1.2. SERVFAIL, REFUSED, timeouts: temporary, 4.4.3.
 * - An MX list naming us (our host name or an address we listen on): ours and every MX of
 *   equal or larger preference are dropped (RFC 5321 5.1 "MUST discard"). If we were the
 *   best MX, sendmail's confTRY_NULL_MX_LIST decides: true connects to the domain's address
 *   records as though it had no MX; false fails with 5.4.6 "mail loops back to myself" (sendmail
 *   says "config error: mail loops back to me (MX problem?)", 553 5.3.5; RFC 3463 5.4.6 "routing
 *   loop detected" is the more exact code). An address record that is ours fails the same way.
 * - Addresses of one host: IPv4 first, then IPv6 (a missing IPv6 route fails at once and we
 *   move on; the reverse order would lose time on IPv4-only machines).
 */

export interface MxHost {
  /** Host name as in the MX record, or the address literal. */
  name: string;
  preference: number;
  addresses: string[];
}

export type MxResult =
  | { ok: true; hosts: MxHost[] }
  | { ok: false; permanent: boolean; status: string; text: string };

export interface MxOptions {
  /** True for our own host name or an address we accept mail on. */
  isSelf(nameOrAddress: string): boolean;
  tryNullMxList: boolean;
  /** For tests: a source of randomness in [0, 1). */
  random?: () => number;
}

const TEMPORARY = new Set(['ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED', 'EREFUSED', 'ECANCELLED', 'ECONNRESET', 'EFORMERR', 'EBADRESP', 'ENOMEM', 'EOF', 'EFILE']);

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

function tempFail(what: string, e: unknown): MxResult {
  return { ok: false, permanent: false, status: '4.4.3', text: `DNS lookup of ${what} failed temporarily (${code(e)})` };
}

/** A and AAAA of one name: addresses, or whether a failure was temporary. */
async function hostAddresses(dns: Resolver, name: string): Promise<{ addresses: string[]; temporary: string | null; nxdomain: boolean }> {
  if (isIP(name)) return { addresses: [name], temporary: null, nxdomain: false };
  const [a, aaaa] = await Promise.allSettled([dns.a(name), dns.aaaa(name)]);
  const addresses: string[] = [];
  let temporary: string | null = null;
  let nxdomain = false;
  for (const r of [a, aaaa]) {
    if (r.status === 'fulfilled') addresses.push(...r.value);
    else if (code(r.reason) === 'ENOTFOUND') nxdomain = true;
    else if (code(r.reason) !== 'ENODATA') temporary = code(r.reason);
  }
  return { addresses, temporary: addresses.length ? null : temporary, nxdomain };
}

function shuffleEqual(list: { exchange: string; priority: number }[], random: () => number): { exchange: string; priority: number }[] {
  // Fisher-Yates on random keys, then a stable sort by preference: equal ones end up shuffled.
  const keyed = list.map((m) => ({ m, k: random() }));
  keyed.sort((x, y) => x.m.priority - y.m.priority || x.k - y.k);
  return keyed.map((x) => x.m);
}

/** The domain's own address records, used when it has no MX or we are its best MX. */
export async function findAddresses(dns: Resolver, domain: string, opts: MxOptions): Promise<MxResult> {
  const d = domain.replace(/\.$/, '').toLowerCase();
  const literal = /^\[(?:ipv6:)?([0-9a-f:.]+)\]$/i.exec(d);
  if (literal && isIP(literal[1])) return opts.isSelf(literal[1]) ? loop(d) : { ok: true, hosts: [{ name: literal[1], preference: 0, addresses: [literal[1]] }] };
  return implicitMx(dns, d, opts);
}

async function implicitMx(dns: Resolver, domain: string, opts: MxOptions): Promise<MxResult> {
  const h = await hostAddresses(dns, domain);
  if (!h.addresses.length) {
    if (h.temporary) return { ok: false, permanent: false, status: '4.4.3', text: `DNS lookup of ${domain} failed temporarily (${h.temporary})` };
    if (h.nxdomain) return { ok: false, permanent: true, status: '5.1.2', text: `domain ${domain} does not exist (NXDOMAIN)` };
    return { ok: false, permanent: true, status: '5.1.2', text: `domain ${domain} has no MX and no A/AAAA record` };
  }
  if (h.addresses.some((a) => opts.isSelf(a))) return loop(domain);
  return { ok: true, hosts: [{ name: domain, preference: 0, addresses: h.addresses }] };
}

function loop(domain: string): MxResult {
  return { ok: false, permanent: true, status: '5.4.6', text: `mail for ${domain} loops back to myself (MX problem?)` };
}

/** Hosts to try for mail to `domain`, best first. */
export async function findMx(dns: Resolver, domain: string, opts: MxOptions): Promise<MxResult> {
  const d = domain.replace(/\.$/, '').toLowerCase();
  // RFC 5321 4.1.3 address literal: no DNS at all.
  const literal = /^\[(?:ipv6:)?([0-9a-f:.]+)\]$/i.exec(d);
  if (literal && isIP(literal[1])) {
    if (opts.isSelf(literal[1])) return loop(d);
    return { ok: true, hosts: [{ name: literal[1], preference: 0, addresses: [literal[1]] }] };
  }
  let records: { exchange: string; priority: number }[];
  try {
    records = await dns.mx(d);
  } catch (e) {
    if (code(e) === 'ENODATA') return implicitMx(dns, d, opts);
    if (code(e) === 'ENOTFOUND') return { ok: false, permanent: true, status: '5.1.2', text: `domain ${d} does not exist (NXDOMAIN)` };
    return tempFail(`MX of ${d}`, e);
  }
  if (!records.length) return implicitMx(dns, d, opts);
  // RFC 7505 3: "." as exchange. Alone it means "no mail"; mixed with real MX it is ignored.
  const real = records.filter((r) => r.exchange !== '' && r.exchange !== '.');
  if (!real.length) return { ok: false, permanent: true, status: '5.1.10', text: `domain ${d} accepts no mail (null MX, RFC 7505)` };

  const ordered = shuffleEqual(real.map((r) => ({ exchange: r.exchange.replace(/\.$/, '').toLowerCase(), priority: r.priority })), opts.random ?? Math.random);
  const looked = await Promise.all(ordered.map((m) => hostAddresses(dns, m.exchange)));
  const hosts: MxHost[] = [];
  let cutoff = Infinity;
  for (let i = 0; i < ordered.length; i++) {
    const m = ordered[i];
    if (opts.isSelf(m.exchange) || looked[i].addresses.some((a) => opts.isSelf(a))) {
      cutoff = Math.min(cutoff, m.priority);
    }
  }
  for (let i = 0; i < ordered.length; i++) {
    if (ordered[i].priority >= cutoff) continue;
    hosts.push({ name: ordered[i].exchange, preference: ordered[i].priority, addresses: looked[i].addresses });
  }
  if (!hosts.length) {
    // We are the best MX.
    return opts.tryNullMxList ? implicitMx(dns, d, opts) : loop(d);
  }
  const usable = hosts.filter((h) => h.addresses.length);
  if (!usable.length) {
    const temp = hosts.map((h) => looked[ordered.findIndex((m) => m.exchange === h.name)].temporary).find((t) => t);
    if (temp) return { ok: false, permanent: false, status: '4.4.3', text: `no address for any MX host of ${d} (${temp})` };
    return { ok: false, permanent: true, status: '5.4.4', text: `no MX host of ${d} has an address (${hosts.map((h) => h.name).join(', ')})` };
  }
  return { ok: true, hosts: usable };
}
