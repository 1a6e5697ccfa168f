import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_ALIASES, parseAliases, type Aliases } from '../config/aliases.js';
import type { Maps } from '../maps/index.js';
import { WatchedFile } from '../maps/watched.js';
import { ForwardLists } from './forward.js';
import { parseTarget, type MapTarget } from './targets.js';
import { readIncludeFile } from './include-file.js';
import { decideRunAs } from './run-as.js';

/** Where one envelope recipient ends up after alias expansion. */
export type Target = { kind: 'local'; user: string; detail?: string } | { kind: 'remote'; address: string };

/**
 * A delivery that leaves the store (S16, S19): a program fed the message, or a file the
 * message is appended to. `owner` is whose alias or forward list named it, for the log and
 * the bounce.
 */
export type ExternalTarget =
  | { kind: 'program'; command: string; owner: string; origin: ExternalOrigin; include?: string }
  | { kind: 'file'; path: string; owner: string; origin: ExternalOrigin; include?: string };

/** Which file named it, which decides who it runs as (delivery/run-as.ts); `include` is that file. */
export type ExternalOrigin = 'aliases' | 'include' | 'forward' | 'mailer';

/** A refusal a map asked for (error: targets, S22 redirects), as an SMTP reply. */
export interface MapReply {
  code: number;
  enhanced: string;
  text: string;
}

export interface Resolution {
  targets: Target[];
  /** Programs and files (only from the aliases file, :include: files and users' forward lists). */
  external: ExternalTarget[];
  /** Addresses some branch led to that cannot take mail (unknown user behind an alias...), for the bounce. */
  problems: { address: string; text: string; reply?: MapReply; status?: string }[];
}

const MAX_DEPTH = 20;

export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

/** Where a target came from decides what it may do: programs and files only from the admin's files. */
type Origin = 'aliases' | 'include' | 'forward' | 'virtusertable';

/**
 * Expands recipients to local users, remote addresses, programs and files (S16, S21, S22):
 * virtusertable first (full addresses, virtual domains), then the aliases file (local parts of
 * every local domain), then the user's forward list, then the mailbox. Every map file is
 * re-read when it changes (checked at most once a second); a file with a mistake is logged
 * as FILE:LINE and the last good version keeps serving.
 *
 * `%`, `!` and quoted `@` in local parts are never routing: `user%remote@here` is a local
 * part nobody has, so no relay trick gets through resolution.
 */
export class AddressResolver {
  private readonly aliasFile: WatchedFile<Aliases>;
  private readonly forwards: ForwardLists;

  /** `userExists` is synchronous (store/accounts.ts UserDirectory): resolution runs at RCPT time in many places. */
  constructor(
    private readonly config: Config,
    private readonly userExists: (address: string) => boolean,
    private readonly log: Logger,
    private readonly maps: Maps | null = null,
  ) {
    this.aliasFile = new WatchedFile('aliases', config.maps.aliases, parseAliases, () => new Map(DEFAULT_ALIASES), log);
    this.forwards = new ForwardLists(config.delivery.forward_dir, log);
  }

  /** Ours: `domains`, local-host-names (S23) and the virtual domains of the virtusertable (S21). */
  isLocalDomain(domain: string): boolean {
    const d = domain.toLowerCase();
    if (this.config.domains.includes(d)) return true;
    if (!this.maps) return false;
    return this.maps.localHostNames.get().has(d) || this.maps.virtusertable.get().domains.has(d);
  }

  /** Domains whose local parts are ours (aliases and users apply), as opposed to virtual-only domains. */
  private isHomeDomain(domain: string): boolean {
    return this.config.domains.includes(domain) || !!this.maps?.localHostNames.get().has(domain);
  }

  /** Re-reads the aliases file if it changed; returns the error text when the new one is bad. */
  reload(): string | null {
    return this.aliasFile.reload();
  }

  async resolve(address: string): Promise<Resolution> {
    return this.resolveSync(address);
  }

  resolveSync(address: string): Resolution {
    const out: Resolution = { targets: [], external: [], problems: [] };
    const seen = new Set<string>();
    this.expand(address, 0, seen, out);
    // The same final target reached twice (two aliases naming one user) gets one copy.
    const uniq = new Map(out.targets.map((t) => [t.kind + ':' + (t.kind === 'local' ? t.user : t.address), t]));
    out.targets = [...uniq.values()];
    const ext = new Map(out.external.map((t) => [t.kind + ':' + (t.kind === 'program' ? t.command : t.path), t]));
    out.external = [...ext.values()];
    return out;
  }

  /**
   * Plus addressing ([delivery] recipient_delimiter): "user+detail" -> user and detail (RFC 5233
   * calls them :user and :detail). Only tried once the full address found nothing.
   */
  private subaddress(local: string): { base: string; detail: string } | null {
    const d = this.config.delivery.recipient_delimiter;
    const at = d ? local.indexOf(d) : -1;
    return at > 0 ? { base: local.slice(0, at), detail: local.slice(at + d.length) } : null;
  }

  /** Nothing has the full address: its base address, if it has a detail, else a problem. */
  private unknown(address: string, local: string, domain: string, depth: number, seen: Set<string>, out: Resolution): void {
    const sub = this.subaddress(local);
    if (sub) this.expand(`${sub.base}@${domain}`, depth + 1, seen, out, sub.detail);
    else out.problems.push({ address, text: 'no such user here' });
  }

  private expand(address: string, depth: number, seen: Set<string>, out: Resolution, detail?: string): void {
    if (depth >= MAX_DEPTH) {
      out.problems.push({ address, text: `alias nesting deeper than ${MAX_DEPTH} (a loop?)`, reply: { code: 554, enhanced: '5.4.6', text: 'Alias loop' } });
      return;
    }
    // "\user": that mailbox itself, no alias or forward (sendmail's backslash).
    if (address.startsWith('\\')) {
      const direct = address.slice(1);
      const key = direct.toLowerCase();
      if (this.userExists(key)) this.deliverLocal(key, out, detail);
      else {
        const sub = this.subaddress(splitAddress(direct).local);
        const base = sub ? `${sub.base}@${splitAddress(key).domain}` : '';
        if (sub && this.userExists(base)) this.deliverLocal(base, out, sub.detail);
        else out.problems.push({ address: direct, text: 'no such user here' });
      }
      return;
    }
    const { local, domain } = splitAddress(address);
    if (!this.isLocalDomain(domain)) {
      out.targets.push({ kind: 'remote', address });
      return;
    }
    const key = `${local.toLowerCase()}@${domain}`;

    // S21 virtusertable.
    const virtual = this.maps?.virtusertable.get().lookup(address);
    if (virtual && !seen.has(`v:${key}`)) {
      seen.add(`v:${key}`);
      this.follow(virtual.target, domain, key, 'virtusertable', depth, seen, out);
      return;
    }
    if (!this.isHomeDomain(domain)) {
      this.unknown(address, local, domain, depth, seen, out);
      return;
    }

    // S16 aliases: local parts of every local domain.
    const alias = this.aliasFile.get().get(local.toLowerCase());
    if (alias && !seen.has(`a:${key}`)) {
      seen.add(`a:${key}`);
      for (const t of alias) {
        const parsed = parseTarget(t);
        if (typeof parsed === 'string') out.problems.push({ address, text: `alias target "${t}": ${parsed}` });
        else this.follow(parsed, domain, key, 'aliases', depth, seen, out);
      }
      return;
    }

    // A name only in local-host-names is another name of this host (sendmail's class w):
    // its local parts are the users of the primary domain.
    const userKey = this.config.domains.includes(domain) || !this.config.domains.length ? key : `${local.toLowerCase()}@${this.config.domains[0]}`;
    if (this.userExists(userKey)) {
      const key = userKey;
      // S16 the user's own forward list (sendmail's .forward); a loop back to the user delivers here.
      const fwd = seen.has(`f:${key}`) ? undefined : this.forwards.get(key);
      if (fwd && fwd.length) {
        seen.add(`f:${key}`);
        for (const t of fwd) {
          const parsed = parseTarget(t);
          if (typeof parsed === 'string') out.problems.push({ address, text: `forward target "${t}": ${parsed}` });
          else this.follow(parsed, domain, key, 'forward', depth, seen, out);
        }
        return;
      }
      this.deliverLocal(key, out, detail);
      return;
    }
    // Mail for root (postmaster's default target) goes to the configured admins.
    if (local.toLowerCase() === 'root' && !seen.has(key) && this.config.admins.length) {
      seen.add(key);
      for (const a of this.config.admins) this.expand(a, depth + 1, seen, out);
      return;
    }
    this.unknown(address, local, domain, depth, seen, out);
  }

  /** Into the user's mailbox, or through the configured local mailer (S29 local_procmail). */
  private deliverLocal(user: string, out: Resolution, detail?: string): void {
    const mailer = this.config.delivery.local_mailer;
    if (!mailer) {
      out.targets.push(detail === undefined ? { kind: 'local', user } : { kind: 'local', user, detail });
      return;
    }
    const { local, domain } = splitAddress(user);
    const command = mailer.replace(/\$([uda])/g, (_, k: string) => (k === 'u' ? local : k === 'd' ? domain : user));
    out.external.push({ kind: 'program', command, owner: user, origin: 'mailer' });
  }

  private follow(t: MapTarget, domain: string, owner: string, origin: Origin, depth: number, seen: Set<string>, out: Resolution, include?: string): void {
    switch (t.kind) {
      case 'address': {
        let next = t.address;
        if (next.startsWith('\\')) {
          // "\user" in owner's list: owner's domain; "\user@domain" as written.
          next = next.includes('@') ? next : `${next}@${domain}`;
        } else if (!next.includes('@')) {
          // A bare name: a local name in the same domain when that domain is ours, else the primary one.
          next = `${next}@${this.isHomeDomain(domain) ? domain : this.config.domains[0] ?? domain}`;
        }
        this.expand(next, depth + 1, seen, out);
        return;
      }
      case 'error':
        out.problems.push({ address: owner, text: t.text, reply: { code: t.code, enhanced: t.enhanced, text: t.text } });
        return;
      case 'redirect':
        // S22 FEATURE(redirect): RFC 5321 3.4 "551 User not local; please try <forward-path>".
        out.problems.push({ address: owner, text: `user has moved to <${t.address}>`, reply: { code: 551, enhanced: '5.1.6', text: `User not local; please try <${t.address}>` } });
        return;
      case 'program':
        if (origin === 'virtusertable') break;
        this.external({ kind: 'program', command: t.command, owner, origin, ...(include ? { include } : {}) }, out);
        return;
      case 'file':
        // Files only from the admin's files: a user's forward list may not write anywhere the server can.
        if (origin !== 'aliases' && origin !== 'include') {
          out.problems.push({ address: owner, text: `file delivery "${t.path}" is only allowed in the aliases file` });
          return;
        }
        this.external({ kind: 'file', path: t.path, owner, origin, ...(include ? { include } : {}) }, out);
        return;
      case 'include': {
        if (origin === 'virtusertable' || origin === 'forward') break;
        if (seen.has(`i:${t.path}`)) return;
        seen.add(`i:${t.path}`);
        const list = readIncludeFile(t.path);
        if (typeof list === 'string') {
          // The admin's mistake, not the sender's: a 4xx at RCPT so that the mail comes back once fixed.
          this.log.warn(null, `<${owner}>: ${list}`);
          out.problems.push({ address: owner, text: 'mailing list configuration error', status: '5.3.5', reply: { code: 451, enhanced: '4.3.5', text: 'Mailing list configuration error; try again later' } });
          return;
        }
        for (const item of list.items) {
          const parsed = parseTarget(item);
          if (typeof parsed === 'string') {
            this.log.warn(null, `<${owner}>: ${t.path}: "${item}": ${parsed}`);
            out.problems.push({ address: owner, text: 'mailing list configuration error' });
          } else this.follow(parsed, domain, owner, 'include', depth + 1, seen, out, t.path);
        }
        return;
      }
    }
    out.problems.push({ address: owner, text: `${t.kind} targets are not allowed in the ${origin}` });
  }

  /**
   * A program or file target, unless the run-as rules (delivery/run-as.ts) already refuse it:
   * then it bounces now, with the reason in the log and a generic text for the sender.
   */
  private external(t: ExternalTarget, out: Resolution): void {
    const value = t.kind === 'program' ? t.command : t.path;
    const rule = decideRunAs({ kind: t.kind, value, origin: t.origin, ...(t.include ? { include: t.include } : {}) }, this.config.delivery);
    if (!rule.ok && !rule.identityOnly && rule.status.startsWith('5.')) {
      this.log.warn(null, `<${t.owner}>: ${t.kind} ${value} refused: ${rule.log}`);
      out.problems.push({ address: t.owner, text: 'delivery refused by the local configuration', status: rule.status, reply: { code: 550, enhanced: '5.7.1', text: 'Delivery refused by the local configuration' } });
      return;
    }
    out.external.push(t);
  }
}
