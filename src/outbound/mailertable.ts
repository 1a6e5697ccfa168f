import { isIP } from 'node:net';
import { ConfigError } from '../config/errors.js';
import type { Logger } from '../log/logger.js';
import { WatchedFile } from '../maps/watched.js';

/**
 * Routes for outbound mail (S20 sendmail's mailertable, S14 SMART_HOST), parsed without I/O.
 *
 *   remote.example   smtp:[relay.example]:2525   that host's address records, that port
 *   remote.example   smtp:[relay.example]        ... on the outbound port
 *   remote.example   smtp:mx.example             MX lookup of mx.example (its A/AAAA if no MX)
 *   intra.example    local:someone               into the local user "someone" (empty: the
 *                                                 recipient's own local part)
 *   old.example      error:5.1.2:domain retired  refuse; a 4.x.x code defers instead
 *   .remote.example  ...                         every subdomain (not remote.example itself)
 *   .                ...                         every other domain
 *
 * `esmtp:` and `relay:` are accepted as `smtp:` (sendmail's mailer names). Lookup order is
 * sendmail's: the full domain, then ".parent" for each parent from the most specific, then ".".
 */

export type Route =
  /** Mail exchangers of `domain` (MX, implicit MX). `mx` false: only address records of `domain`. */
  | { kind: 'smtp'; domain: string; mx: boolean; port: number | null; mailer: string }
  | { kind: 'local'; user: string }
  | { kind: 'error'; status: string; text: string };

export type RouteTable = Map<string, Route>;

const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** "[host]:port", "[host]", "host", "host:port"; null when malformed. */
export function parseHostSpec(spec: string, mailer = 'smtp'): Route | null {
  const m = /^(?:\[([^\]\s]+)\]|([^\s:\[\]]+))(?::(\d{1,5}))?$/.exec(spec.trim());
  if (!m) return null;
  const bracketed = m[1] !== undefined;
  const host = (m[1] ?? m[2]).toLowerCase();
  const ip = host.replace(/^ipv6:/, '');
  const isAddress = isIP(ip) !== 0;
  if (!isAddress && !HOSTNAME.test(host)) return null;
  const port = m[3] ? Number(m[3]) : null;
  if (port !== null && (port < 1 || port > 65535)) return null;
  // "[host]" means its address records only (no MX lookup), as in sendmail.
  return { kind: 'smtp', domain: isAddress ? `[${ip}]` : host, mx: !bracketed && !isAddress, port, mailer };
}

export function parseMailertable(text: string, file: string): RouteTable {
  const out: RouteTable = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const m = /^(\S+)\s+(\S.*)$/.exec(line);
    if (!m) throw new ConfigError(file, n, `expected "domain mailer:host" but found ${JSON.stringify(line.slice(0, 60))}`);
    const key = m[1].toLowerCase();
    if (key !== '.' && !HOSTNAME.test(key.replace(/^\./, ''))) throw new ConfigError(file, n, `"${m[1]}" is not a domain, ".domain" or "."`);
    if (out.has(key)) throw new ConfigError(file, n, `"${key}" is listed twice`);
    const value = m[2].trim();
    const colon = value.indexOf(':');
    if (colon < 0) throw new ConfigError(file, n, `"${value}" has no mailer; use smtp:HOST, local:USER or error:D.S.N:TEXT`);
    const mailer = value.slice(0, colon).toLowerCase();
    const arg = value.slice(colon + 1).trim();
    switch (mailer) {
      case 'smtp':
      case 'esmtp':
      case 'relay': {
        const r = parseHostSpec(arg, 'smtp');
        if (!r) throw new ConfigError(file, n, `"${arg}" is not a host: use smtp:[host]:port, smtp:[host] or smtp:host`);
        out.set(key, r);
        return;
      }
      case 'local': {
        if (/[\s,]/.test(arg)) throw new ConfigError(file, n, `local:${arg}: one user name only`);
        out.set(key, { kind: 'local', user: arg.toLowerCase() });
        return;
      }
      case 'error': {
        // error:D.S.N:text, optionally with an SMTP code after the status ("error:5.1.2:550 gone").
        const e = /^([45])\.(\d{1,3})\.(\d{1,3})(?::\s*(?:[45]\d\d\s+)?(.*))?$/.exec(arg);
        if (!e) throw new ConfigError(file, n, `error:${arg}: use error:D.S.N:text, e.g. error:5.1.2:domain retired`);
        out.set(key, { kind: 'error', status: `${e[1]}.${e[2]}.${e[3]}`, text: e[4]?.trim() || 'refused by the mailertable' });
        return;
      }
      default:
        throw new ConfigError(file, n, `unknown mailer "${mailer}": use smtp, local or error`);
    }
  });
  return out;
}

/** Sendmail's lookup order: exact, then ".parent" from the most specific, then ".". */
export function lookupRoute(table: RouteTable, domain: string): Route | undefined {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const exact = table.get(d);
  if (exact) return exact;
  const labels = d.split('.');
  for (let i = 1; i < labels.length; i++) {
    const r = table.get('.' + labels.slice(i).join('.'));
    if (r) return r;
  }
  return table.get('.');
}

/**
 * The mailertable file, re-read when it changes (src/maps/watched.ts: checked at most once a
 * second, like every map file). A file with a mistake is logged as FILE:LINE and the last
 * good version stays.
 */
export class Mailertable {
  private readonly watched: WatchedFile<RouteTable>;

  constructor(file: string | null, log: Logger) {
    this.watched = new WatchedFile('mailertable', file, parseMailertable, () => new Map(), log);
  }

  reload(): string | null {
    return this.watched.reload();
  }

  lookup(domain: string): Route | undefined {
    return lookupRoute(this.watched.get(), domain);
  }
}
