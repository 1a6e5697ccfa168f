import type { Resolver } from '../dns/resolver.js';

/**
 * The client's forward-confirmed reverse DNS name (for the Received header and log lines),
 * remembered per address for a minute: a busy peer opens many connections, and one PTR plus
 * A/AAAA lookup per connection is pure overhead when the answer cannot have changed. Failed
 * lookups (null) are remembered too. Bounded, oldest entries go first.
 */
export class ClientNames {
  private readonly cache = new Map<string, { name: Promise<string | null>; until: number }>();

  constructor(
    private readonly dns: Pick<Resolver, 'verifiedName'>,
    private readonly ttlMs = 60_000,
    private readonly max = 10_000,
  ) {}

  lookup(ip: string, now = Date.now()): Promise<string | null> {
    const hit = this.cache.get(ip);
    if (hit && hit.until > now) return hit.name;
    if (hit) this.cache.delete(ip);
    const name = this.dns.verifiedName(ip).catch(() => null);
    this.cache.set(ip, { name, until: now + this.ttlMs });
    if (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value as string);
    return name;
  }
}
