import { addressSpans, joinHeader, splitAddrSpec, splitHeader, type HeaderLine } from './header-fields.js';
import { rfc5322Date } from './received.js';

/**
 * MSA fix-ups (S6, RFC 6409 8; S23 always_add_domain; S27 masquerading), on the header block
 * only. The body is never looked at here.
 *
 *   RFC 6409 8.3  Date added when missing
 *   RFC 6409 8.4  Message-ID added when missing
 *   RFC 6409 8.5  unqualified addresses completed (always_add_domain, S23)
 *   RFC 5322 3.6.3 Bcc (and Resent-Bcc) removed: the envelope already carries those recipients
 *   S27           sender addresses of our domains shown as MASQUERADE_AS, except EXPOSED_USERs
 *   From added (from the envelope sender) when missing, as sendmail and Postfix's local pickup do
 */

export interface Masquerade {
  as: string;
  /** Domains (lower case) whose addresses are masqueraded (MASQUERADE_DOMAIN, class w). */
  domains: string[];
  /** Local parts (lower case) never masqueraded (EXPOSED_USER). */
  exposed: string[];
}

export interface FixupRules {
  /** Off: the header is only read (an authenticated client on port 25: its From: is still checked). */
  fix: boolean;
  hostname: string;
  /** always_add_domain: the domain for unqualified addresses; null leaves them. */
  qualifyDomain: string | null;
  masquerade: Masquerade | null;
  /** The From: to add when there is none; null adds none. */
  defaultFrom: { address: string; name?: string } | null;
}

export interface FixupResult {
  header: string;
  /**
   * The addresses of From: and Sender: as the client meant them (qualified, not yet
   * masqueraded): what the sender-ownership check looks at.
   */
  senders: string[];
  /** What was changed, for the log. */
  changes: string[];
}

const ADDRESS_FIELDS = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-reply-to', 'disposition-notification-to']);
/** Fields naming who the message is from: the ones masquerading rewrites (sendmail's header senders). */
const SENDER_FIELDS = new Set(['from', 'sender', 'reply-to', 'resent-from', 'resent-sender', 'resent-reply-to']);
const DROPPED = new Set(['bcc', 'resent-bcc']);

/** always_add_domain on one address; "" (the null path) stays empty. */
export function qualifyAddress(address: string, domain: string | null): string {
  if (!address || !domain) return address;
  return splitAddrSpec(address).domain ? address : `${address}@${domain}`;
}

/** S27 on one address: the domain becomes `as` when it is masqueraded and the user is not exposed. */
export function masqueradeAddress(address: string, m: Masquerade | null): string {
  if (!m || !address) return address;
  const { local, domain } = splitAddrSpec(address);
  if (!domain || !m.domains.includes(domain.toLowerCase()) || m.exposed.includes(local.toLowerCase())) return address;
  return `${local}@${m.as}`;
}

function rewriteAddresses(value: string, fn: (spec: string) => string): { value: string; specs: string[] } {
  const spans = addressSpans(value);
  const specs: string[] = [];
  let out = '';
  let last = 0;
  for (const s of spans) {
    const spec = value.slice(s.start, s.end);
    const next = fn(spec);
    specs.push(next);
    out += value.slice(last, s.start) + next;
    last = s.end;
  }
  return { value: out + value.slice(last), specs };
}

export function fixupHeader(block: string, rules: FixupRules, now: Date, newMessageId: () => string): FixupResult {
  const lines = splitHeader(block);
  const senders: string[] = [];
  const changes: string[] = [];
  const kept: HeaderLine[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    if (line.kind !== 'field') {
      kept.push(line);
      continue;
    }
    const f = line.field;
    const name = f.name.toLowerCase();
    seen.add(name);
    if (rules.fix && DROPPED.has(name)) {
      changes.push(`removed ${f.name}`);
      continue;
    }
    if (ADDRESS_FIELDS.has(name)) {
      const qualified = rewriteAddresses(f.value, (spec) => (rules.fix ? qualifyAddress(spec, rules.qualifyDomain) : spec));
      if (name === 'from' || name === 'sender') senders.push(...qualified.specs);
      let value = qualified.value;
      if (rules.fix && rules.masquerade && SENDER_FIELDS.has(name)) value = rewriteAddresses(value, (spec) => masqueradeAddress(spec, rules.masquerade)).value;
      if (value !== f.value) {
        changes.push(`rewrote ${f.name}`);
        kept.push({ kind: 'field', field: { name: f.name, value } });
        continue;
      }
    }
    kept.push(line);
  }
  if (rules.fix) {
    if (!seen.has('from') && rules.defaultFrom?.address) {
      const addr = Buffer.from(masqueradeAddress(rules.defaultFrom.address, rules.masquerade), 'utf8').toString('latin1');
      senders.push(rules.defaultFrom.address);
      const name = rules.defaultFrom.name ? `${quotePhrase(rules.defaultFrom.name)} ` : '';
      kept.push({ kind: 'field', field: { name: 'From', value: ` ${name}<${addr}>` } });
      changes.push('added From');
    }
    if (!seen.has('date')) {
      kept.push({ kind: 'field', field: { name: 'Date', value: ` ${rfc5322Date(now)}` } });
      changes.push('added Date');
    }
    if (!seen.has('message-id')) {
      kept.push({ kind: 'field', field: { name: 'Message-ID', value: ` <${newMessageId()}>` } });
      changes.push('added Message-ID');
    }
  }
  return { header: joinHeader(kept), senders, changes };
}

/** RFC 5322 3.2.5 phrase: atoms as they are, anything else as a quoted string. */
function quotePhrase(s: string): string {
  const clean = s.replace(/[\r\n]/g, ' ');
  // RFC 2047 encoded word for anything beyond ASCII (the header text is latin1-coded octets).
  if (/[^\x20-\x7e]/.test(clean)) return `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
  return /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(clean) ? clean : `"${clean.replace(/(["\\])/g, '\\$1')}"`;
}
