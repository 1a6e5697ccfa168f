import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { DB } from '../store/db.js';
import { DEFAULT_ALIASES, parseAliases, type Aliases } from '../config/aliases.js';

/** Where one envelope recipient ends up after alias expansion. */
export type Target = { kind: 'local'; user: string } | { kind: 'remote'; address: string };

export interface Resolution {
  targets: Target[];
  /** Addresses some branch led to that cannot take mail (unknown user behind an alias...), for the bounce. */
  problems: { address: string; text: string }[];
}

const MAX_DEPTH = 20;

/** A synchronous "does this user exist" on the embedded database, for AddressResolver. */
export function userLookup(db: DB): (address: string) => boolean {
  const q = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM users WHERE address = ?');
  return (address) => q.get(address.toLowerCase()) !== undefined;
}

export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

/**
 * Expands recipients through the aliases file (S16) to local users and remote addresses.
 * The file is re-read when it changes (checked at most once a second); a file with a mistake
 * is logged as FILE:LINE and the last good version keeps serving.
 */
export class AddressResolver {
  private aliases: Aliases = new Map(DEFAULT_ALIASES);
  private mtime = -1;
  private checked = 0;

  /** `userExists` is synchronous so that delivery can resolve inside a database transaction. */
  constructor(private readonly config: Config, private readonly userExists: (address: string) => boolean, private readonly log: Logger) {
    this.reload();
  }

  isLocalDomain(domain: string): boolean {
    return this.config.domains.includes(domain.toLowerCase());
  }

  /** Re-reads the aliases file if it changed; returns the error text when the new one is bad. */
  reload(): string | null {
    const file = this.config.maps.aliases;
    if (!file) return null;
    const now = Date.now();
    this.checked = now;
    let mtime = 0;
    try {
      mtime = existsSync(file) ? statSync(file).mtimeMs : 0;
    } catch {
      mtime = 0;
    }
    if (mtime === this.mtime) return null;
    this.mtime = mtime;
    if (!mtime) {
      this.aliases = new Map(DEFAULT_ALIASES);
      return null;
    }
    try {
      this.aliases = parseAliases(readFileSync(file, 'utf8'), file);
      this.log.info(null, `aliases: loaded ${this.aliases.size} from ${file}`);
      return null;
    } catch (e) {
      this.log.error(null, `aliases: ${(e as Error).message} (keeping the previous version)`);
      return (e as Error).message;
    }
  }

  private fresh(): void {
    if (Date.now() - this.checked > 1000) this.reload();
  }

  async resolve(address: string): Promise<Resolution> {
    return this.resolveSync(address);
  }

  resolveSync(address: string): Resolution {
    this.fresh();
    const out: Resolution = { targets: [], problems: [] };
    const seen = new Set<string>();
    this.expand(address, 0, seen, out);
    // The same final target reached twice (two aliases naming one user) gets one copy.
    const uniq = new Map(out.targets.map((t) => [t.kind + ':' + (t.kind === 'local' ? t.user : t.address), t]));
    out.targets = [...uniq.values()];
    return out;
  }

  private expand(address: string, depth: number, seen: Set<string>, out: Resolution): void {
    const { local, domain } = splitAddress(address);
    if (!this.isLocalDomain(domain)) {
      out.targets.push({ kind: 'remote', address });
      return;
    }
    const key = `${local.toLowerCase()}@${domain}`;
    const alias = this.aliases.get(local.toLowerCase());
    if (alias && !seen.has(key) && depth < MAX_DEPTH) {
      seen.add(key);
      for (const t of alias) this.expand(t.includes('@') ? t : `${t}@${domain}`, depth + 1, seen, out);
      return;
    }
    if (depth >= MAX_DEPTH) {
      out.problems.push({ address, text: `alias nesting deeper than ${MAX_DEPTH} (a loop?)` });
      return;
    }
    if (this.userExists(key)) {
      out.targets.push({ kind: 'local', user: key });
      return;
    }
    // Mail for root (postmaster's default target) goes to the configured admins.
    if (local.toLowerCase() === 'root' && !seen.has(key) && this.config.admins.length) {
      seen.add(key);
      for (const a of this.config.admins) this.expand(a, depth + 1, seen, out);
      return;
    }
    out.problems.push({ address, text: 'no such user here' });
  }
}
