import { ConfigError } from '../config/errors.js';
import { addressBytes, contains, parseNetwork, type Network } from '../policy/ip.js';
import { mapLines, splitKeyValue } from './lines.js';

/**
 * sendmail's access map (S25, cf/README "access_db"), read from the text file itself:
 *
 *   20.20.128.             RELAY   # an octet prefix: 20.20.128.0/24
 *   10.0.0.0/8             REJECT  # CIDR, IPv4 or IPv6 (not in sendmail; common in its successors)
 *   IPv6:2001:db8::1       OK
 *   productoinutil.com.mx  REJECT  # a domain: that host and every host below it
 *   usuario@molesto.com    REJECT  # one address
 *   postmaster@            OK      # that local part at any domain
 *   Connect:10.4.5.6       ERROR:5.7.1:550 Go away
 *   From:<>                OK      # the null sender
 *   To:friend@example.test OK
 *   Spam:abuse@example.test FRIEND # delay_checks: mail to it skips the client and sender checks
 *
 * Keys without a tag apply to every check (client, sender, and recipients when
 * blacklist_recipients is on), as in sendmail; a tag limits a key to one check.
 * Values: RELAY, OK, REJECT, DISCARD, SKIP, ERROR:[D.S.N:]["]CODE text["], FRIEND, HATER.
 */

export type AccessTag = 'connect' | 'from' | 'to' | 'spam';
export const TAGS: Record<string, AccessTag> = { connect: 'connect', from: 'from', to: 'to', spam: 'spam' };

export type AccessAction =
  | { kind: 'RELAY' | 'OK' | 'REJECT' | 'DISCARD' | 'SKIP' | 'FRIEND' | 'HATER' }
  | { kind: 'ERROR'; code: number; enhanced: string; text: string };

export interface AccessRule {
  tag: AccessTag | null;
  /** The key as written (for explanations). */
  key: string;
  value: string;
  action: AccessAction;
  file: string;
  line: number;
}

type KeyKind = 'network' | 'domain' | 'address' | 'user' | 'null';

interface Entry {
  kind: KeyKind;
  /** Lower-cased lookup key: domain, address, "user@", "<>", or the network text. */
  norm: string;
  net?: Network;
  rule: AccessRule;
}

/** One tag's (or the untagged) entries, indexed for lookup. */
class Section {
  readonly exact = new Map<string, AccessRule>();
  readonly networks: { net: Network; rule: AccessRule }[] = [];
}

export class AccessMap {
  private readonly sections = new Map<AccessTag | null, Section>();
  readonly rules: AccessRule[] = [];

  add(e: Entry, file: string): void {
    let s = this.sections.get(e.rule.tag);
    if (!s) this.sections.set(e.rule.tag, (s = new Section()));
    if (e.kind === 'network') {
      const dup = s.networks.find((n) => n.net.v === e.net!.v && n.net.bits === e.net!.bits && contains(n.net, e.net!.bytes));
      if (dup) throw new ConfigError(file, e.rule.line, `"${e.rule.key}" is the same network as line ${dup.rule.line}`);
      s.networks.push({ net: e.net!, rule: e.rule });
    } else {
      const k = `${e.kind}:${e.norm}`;
      const dup = s.exact.get(k);
      if (dup) throw new ConfigError(file, e.rule.line, `"${e.rule.key}" is already listed on line ${dup.line}`);
      s.exact.set(k, e.rule);
    }
    this.rules.push(e.rule);
  }

  get size(): number {
    return this.rules.length;
  }

  /** Tagged first, then untagged, for one key (sendmail's order at each step). */
  private exact(tag: AccessTag, kind: KeyKind, norm: string): AccessRule | undefined {
    return this.sections.get(tag)?.exact.get(`${kind}:${norm}`) ?? this.sections.get(null)?.exact.get(`${kind}:${norm}`);
  }

  private network(tag: AccessTag, ip: string): AccessRule | undefined {
    const bytes = addressBytes(ip);
    if (!bytes) return undefined;
    // The most specific network wins; at equal length, the tagged key.
    let best: { bits: number; tagged: boolean; rule: AccessRule } | null = null;
    for (const t of [tag, null] as const) {
      for (const n of this.sections.get(t)?.networks ?? []) {
        if (!contains(n.net, bytes)) continue;
        if (!best || n.net.bits > best.bits) best = { bits: n.net.bits, tagged: t !== null, rule: n.rule };
      }
    }
    return best?.rule;
  }

  /** A host name and each of its parent domains, most specific first. */
  private domain(tag: AccessTag, name: string): AccessRule | undefined {
    const labels = name.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const r = this.exact(tag, 'domain', labels.slice(i).join('.'));
      if (r) return r;
    }
    return undefined;
  }

  /**
   * The client (Connect:): its verified host name and parent domains first, then its
   * address (sendmail's check_relay order). SKIP ends the search without a verdict.
   */
  client(ip: string, name: string | null): AccessRule | null {
    if (name) {
      const r = this.domain('connect', name);
      if (r) return r.action.kind === 'SKIP' ? null : r;
    }
    const r = this.network('connect', ip);
    return r && r.action.kind !== 'SKIP' ? r : null;
  }

  /** The envelope sender (From:) or a recipient (To:, Spam:): user@domain, domain and parents, user@. */
  address(tag: 'from' | 'to' | 'spam', address: string): AccessRule | null {
    if (address === '') return this.exact(tag, 'null', '<>') ?? null;
    const at = address.lastIndexOf('@');
    const local = at < 0 ? address : address.slice(0, at);
    const domain = at < 0 ? '' : address.slice(at + 1).toLowerCase();
    const full = this.exact(tag, 'address', `${local.toLowerCase()}@${domain}`);
    if (full) return full;
    if (domain) {
      const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
      const r = literal ? this.network(tag, literal[1]) : this.domain(tag, domain);
      if (r) return r.action.kind === 'SKIP' ? null : r;
    }
    return this.exact(tag, 'user', `${local.toLowerCase()}@`) ?? null;
  }
}

const DOMAIN = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** ERROR:[D.S.N:]["][CODE ]text["], sendmail's and the forms. */
export function parseErrorValue(spec: string): { code: number; enhanced: string; text: string } | string {
  let rest = spec.trim();
  let enhanced: string | null = null;
  const dsn = /^([245])\.(\d{1,3})\.(\d{1,3}):/.exec(rest);
  if (dsn) {
    enhanced = `${dsn[1]}.${dsn[2]}.${dsn[3]}`;
    rest = rest.slice(dsn[0].length).trim();
  }
  if (rest.startsWith('"')) {
    if (!rest.endsWith('"') || rest.length < 2) return 'unterminated quote in ERROR text';
    rest = rest.slice(1, -1).trim();
  }
  let code: number | null = null;
  const c = /^([245]\d\d)(?:\s+|$)/.exec(rest);
  if (c) {
    code = Number(c[1]);
    rest = rest.slice(c[0].length).trim();
  }
  // "550 5.7.1 text" inside the quotes, as some access files write it.
  const inner = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(rest);
  if (inner && !enhanced) {
    enhanced = `${inner[1]}.${inner[2]}.${inner[3]}`;
    rest = rest.slice(inner[0].length).trim();
  }
  if (code === null && enhanced === null) return 'ERROR needs a status: ERROR:5.7.1:text or ERROR:"550 text"';
  if (code !== null && code < 400) return `ERROR code ${code} is not a refusal (4xx or 5xx)`;
  if (enhanced !== null && enhanced[0] === '2') return `ERROR status ${enhanced} is not a refusal`;
  code ??= enhanced![0] === '4' ? 451 : 550;
  enhanced ??= `${String(code)[0]}.7.1`;
  if (String(code)[0] !== enhanced[0]) return `ERROR code ${code} and status ${enhanced} disagree (both 4 or both 5)`;
  return { code, enhanced, text: rest || 'Access denied' };
}

function parseAction(value: string): AccessAction | string {
  const upper = value.toUpperCase();
  if (/^(RELAY|OK|REJECT|DISCARD|SKIP|FRIEND|HATER)$/.test(upper)) return { kind: upper as 'OK' };
  if (/^ERROR:/i.test(value)) {
    const e = parseErrorValue(value.slice(6));
    return typeof e === 'string' ? e : { kind: 'ERROR', ...e };
  }
  return `unknown value "${value}": use RELAY, OK, REJECT, DISCARD, SKIP, ERROR:5.7.1:text, FRIEND or HATER`;
}

function classify(key: string): Omit<Entry, 'rule'> | string {
  if (key === '<>') return { kind: 'null', norm: '<>' };
  const net = parseNetwork(key);
  if (net) return { kind: 'network', norm: key.toLowerCase(), net };
  const at = key.lastIndexOf('@');
  if (at === key.length - 1 && at > 0) return { kind: 'user', norm: key.toLowerCase() };
  if (at > 0) {
    const domain = key.slice(at + 1);
    if (!DOMAIN.test(domain)) return `"${domain}" in "${key}" is not a domain`;
    return { kind: 'address', norm: `${key.slice(0, at).toLowerCase()}@${domain.toLowerCase().replace(/\.$/, '')}` };
  }
  if (at === 0) return `"${key}": write the domain without "@" (it matches every address there)`;
  if (!DOMAIN.test(key)) return `"${key}" is not an IP address, network, host or domain name, user@domain or user@`;
  return { kind: 'domain', norm: key.toLowerCase().replace(/\.$/, '') };
}

export function parseAccess(text: string, file: string): AccessMap {
  const map = new AccessMap();
  for (const { n, text: line } of mapLines(text)) {
    const [rawKey, value] = splitKeyValue(line);
    if (!value) throw new ConfigError(file, n, `"${rawKey}" has no value; write e.g. "${rawKey} REJECT"`);
    let key = rawKey;
    let tag: AccessTag | null = null;
    const t = parseNetwork(rawKey) ? null : /^([A-Za-z]+):(.+)$/.exec(rawKey);
    if (t && !/^ipv6$/i.test(t[1])) {
      const known = TAGS[t[1].toLowerCase()];
      if (!known) throw new ConfigError(file, n, `unknown tag "${t[1]}:"; use Connect:, From:, To: or Spam:`);
      tag = known;
      key = t[2];
    }
    const action = parseAction(value);
    if (typeof action === 'string') throw new ConfigError(file, n, action);
    if ((action.kind === 'FRIEND' || action.kind === 'HATER') !== (tag === 'spam')) {
      throw new ConfigError(file, n, tag === 'spam' ? `Spam: keys take FRIEND or HATER, not ${action.kind}` : `${action.kind} is for Spam: keys`);
    }
    const c = classify(key);
    if (typeof c === 'string') throw new ConfigError(file, n, c);
    if (tag === 'connect' && c.kind !== 'network' && c.kind !== 'domain') throw new ConfigError(file, n, `Connect: takes an address, network or host name, not "${key}"`);
    map.add({ ...c, rule: { tag, key: rawKey, value, action, file, line: n } }, file);
  }
  return map;
}

/** The access map as sendmail would answer with it, one line per rule, for explanations. */
export function describeRule(r: AccessRule): string {
  return `${r.file}:${r.line}: ${r.key} ${r.value}`;
}
