import { ConfigError } from '../config/errors.js';
import { parseNetwork, addressBytes, contains, type Network } from '../policy/ip.js';
import { mapLines, splitKeyValue } from './lines.js';

/**
 * Lists of host and domain names, one per line (sendmail's class files):
 *
 * - local-host-names (S23, FEATURE(use_cw_file)): every name the server takes mail for as
 *   its own, beside `domains` in the config. Exact names (sendmail's class w).
 * - relay-domains (S26): domains we relay for, as a backup MX does, and clients we relay
 *   from (sendmail's class R): a domain matches itself and every name below it; an
 *   address or network ("192.0.2.", "10.0.0.0/8") matches clients. The seed writes
 *   "dominio.com.uy RELAY", so a trailing RELAY is accepted and means the same.
 */

const NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

export class DomainList {
  readonly names = new Set<string>();
  readonly networks: Network[] = [];

  get size(): number {
    return this.names.size + this.networks.length;
  }

  has(name: string): boolean {
    return this.names.has(name.toLowerCase().replace(/\.$/, ''));
  }

  /** The name or one of its parent domains is listed. */
  covers(name: string): boolean {
    const labels = name.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) if (this.names.has(labels.slice(i).join('.'))) return true;
    return false;
  }

  coversIp(ip: string): boolean {
    const b = addressBytes(ip);
    return !!b && this.networks.some((n) => contains(n, b));
  }
}

function parseList(text: string, file: string, what: string, allowNetworks: boolean): DomainList {
  const list = new DomainList();
  for (const { n, text: line } of mapLines(text)) {
    const [name, value] = splitKeyValue(line);
    if (value && !(allowNetworks && /^RELAY$/i.test(value))) {
      throw new ConfigError(file, n, `one ${what} per line; unexpected "${value}" after "${name}"`);
    }
    const net = allowNetworks ? parseNetwork(name) : null;
    if (net) {
      list.networks.push(net);
      continue;
    }
    if (!NAME.test(name)) throw new ConfigError(file, n, `"${name}" is not a ${what}`);
    list.names.add(name.toLowerCase().replace(/\.$/, ''));
  }
  return list;
}

export function parseLocalHostNames(text: string, file: string): DomainList {
  return parseList(text, file, 'host or domain name', false);
}

export function parseRelayDomains(text: string, file: string): DomainList {
  return parseList(text, file, 'domain, address or network', true);
}
