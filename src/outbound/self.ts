import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

/**
 * "Is this us?" for MX lists (RFC 5321 5.1) and routes: our host name, or an address our SMTP
 * listener accepts mail on at the port we would connect to. A wildcard listener (0.0.0.0, ::)
 * stands for every address of this machine's interfaces.
 */
export function selfCheck(hostname: string, smtp: { host: string; port: number }[]): (nameOrAddress: string, port: number) => boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  const local = (): string[] => Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address));
  return (x, port) => {
    const v = x.toLowerCase().replace(/\.$/, '').replace(/^\[(ipv6:)?|\]$/g, '');
    if (!isIP(v)) return v === name;
    return smtp.some((l) => {
      if (l.port !== port) return false;
      if (l.host === '0.0.0.0' || l.host === '::') return local().includes(v);
      return l.host === v || (l.host === '::ffff:' + v);
    });
  };
}
