import { promises as dns } from 'node:dns';

/**
 * Every DNS lookup Correo makes goes through here, to the servers in `[dns] servers`
 * (tests point it at a dnsmasq on loopback; no lookup ever goes to the machine's resolver
 * when servers are configured).
 */
export class Resolver {
  private readonly r: dns.Resolver;

  constructor(servers: string[], timeoutMs: number) {
    this.r = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length) this.r.setServers(servers);
  }

  /** PTR names of an address; [] when there are none or the lookup failed. */
  async reverse(ip: string): Promise<string[]> {
    try {
      return await this.r.reverse(ip);
    } catch {
      return [];
    }
  }

  /** Forward-confirmed reverse DNS name (the PTR whose A/AAAA includes the IP), or null. */
  async verifiedName(ip: string): Promise<string | null> {
    for (const name of (await this.reverse(ip)).slice(0, 3)) {
      const addrs = await this.addresses(name);
      if (addrs.includes(ip)) return name;
    }
    return null;
  }

  async addresses(name: string): Promise<string[]> {
    const [a, aaaa] = await Promise.all([
      this.r.resolve4(name).catch(() => [] as string[]),
      this.r.resolve6(name).catch(() => [] as string[]),
    ]);
    return [...a, ...aaaa];
  }

  /** A records; throws the resolver's error (ENODATA, ENOTFOUND, ETIMEOUT...) so callers can tell. */
  a(name: string): Promise<string[]> {
    return this.r.resolve4(name);
  }

  /** AAAA records; throws like a(). */
  aaaa(name: string): Promise<string[]> {
    return this.r.resolve6(name);
  }

  /** MX records; throws the resolver's error (ENODATA, ENOTFOUND, ...) so callers can tell. */
  mx(name: string): Promise<{ exchange: string; priority: number }[]> {
    return this.r.resolveMx(name);
  }

  txt(name: string): Promise<string[][]> {
    return this.r.resolveTxt(name);
  }

  cancel(): void {
    this.r.cancel();
  }
}
