import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Resolution } from '../delivery/resolve.js';
import { ConfigError } from '../config/errors.js';
import { mapLines } from '../maps/lines.js';
import { WatchedFile } from '../maps/watched.js';

/**
 * Which addresses an authenticated user may send as (envelope sender and From:, RFC 6409 8.1
 * lets an MSA enforce this). An address is theirs when it is:
 *   1. their own login address;
 *   2. a local address that is not itself an account and whose resolution (aliases,
 *      virtusertable) reaches their mailbox: `sales: ana, bob` lets ana and bob send as sales@;
 *   3. listed for them by the admin: `[submission.allowed_senders]` in the config, or the
 *      `senders_file` (same shape, re-read on change), where "@domain" allows a whole domain.
 * Anything else is refused with 553 5.7.1.
 */

export type SenderMap = Map<string, string[]>;

/** "user@domain: addr, @domain, ..." per line; '#' comments. */
export function parseSenders(text: string, file: string): SenderMap {
  const out: SenderMap = new Map();
  for (const { n, text: line } of mapLines(text)) {
    const m = /^([^\s:@]+@[^\s:]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(file, n, `expected "user@domain: address, @domain, ..."`);
    const items = m[2].split(/[\s,]+/).filter(Boolean).map((a) => a.toLowerCase());
    for (const a of items) if (!/^([^\s@]+)?@[a-z0-9.-]+$/.test(a)) throw new ConfigError(file, n, `"${a}" is not an address or "@domain"`);
    const user = m[1].toLowerCase();
    out.set(user, [...(out.get(user) ?? []), ...items]);
  }
  return out;
}

export interface SenderDeps {
  config: Config;
  /** Alias and virtusertable expansion (delivery/resolve.ts). */
  resolve(address: string): Resolution;
  isLocalDomain(domain: string): boolean;
  userExists(address: string): boolean;
  log: Logger;
}

export class SenderRules {
  private readonly file: WatchedFile<SenderMap>;

  constructor(private readonly d: SenderDeps) {
    this.file = new WatchedFile('senders', d.config.submission.senders_file, parseSenders, () => new Map(), d.log);
  }

  /** Why `user` may use `address`, or null when they may not. */
  owns(user: string, address: string): string | null {
    const u = user.toLowerCase();
    const at = address.lastIndexOf('@');
    if (at < 1) return null;
    const a = `${address.slice(0, at).toLowerCase()}@${address.slice(at + 1).toLowerCase()}`;
    const domain = a.slice(a.lastIndexOf('@') + 1);
    if (a === u) return 'own address';
    const listed = [...(this.d.config.submission.allowed_senders[u] ?? []), ...(this.file.get().get(u) ?? [])];
    for (const item of listed) {
      if (item === a) return 'allowed_senders';
      if (item.startsWith('@') && item.slice(1) === domain) return `allowed_senders ${item}`;
    }
    // Another account's address is that account's, whatever forwards it has.
    if (!this.d.isLocalDomain(domain) || this.d.userExists(a)) return null;
    const r = this.d.resolve(a);
    const reaches = r.targets.some((t) => t.kind === 'local' && t.user === u) || r.external.some((t) => t.owner === u);
    return reaches ? `alias of ${u}` : null;
  }
}
