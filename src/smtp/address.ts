import { isIPv4, isIPv6 } from 'node:net';

/**
 * RFC 5321 4.1.2 paths and mailboxes (with RFC 6531 3.3's UTF-8 extension), parsed without I/O.
 *
 *   Path        = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l       = At-domain *( "," At-domain )       ; source route, RFC 5321 4.1.1.3
 *   Mailbox     = Local-part "@" ( Domain / address-literal )
 *   Local-part  = Dot-string / Quoted-string
 *
 * Decisions:
 * - Source routes are parsed for syntax and then ignored (RFC 5321 4.1.1.3 "SHOULD ignore the
 *   routes", Appendix C): `<@relay:user@dom>` means `user@dom`. Relaying decisions are then made
 *   on the real destination, so a route through us to a foreign domain is a relay attempt.
 * - A quoted local part whose content is a valid Dot-string is written unquoted
 *   (RFC 5321 4.1.2: the two forms are the same mailbox). Otherwise it stays quoted, with
 *   only `"` and `\` escaped, so `"a@b"@example.test` keeps its `@` inside the quotes and
 *   `%`, `!` in local parts are just characters: nothing here routes on them.
 * - Domains are kept as written (case included); address-literals must be a valid IPv4,
 *   `IPv6:` address, or General-address-literal.
 * - Length limits: domain 255 octets and labels 63 (RFC 5321 4.5.3.1.2, RFC 1035); local part
 *   at most 64 octets is the RFC's minimum to support (4.5.3.1.1) and real senders exceed it
 *   (SRS, VERP), so the local part is only bounded by the command line length.
 */

export interface Mailbox {
  local: string;
  domain: string;
  /** local@domain, quoted as described above. */
  address: string;
}

export type PathResult =
  | { ok: true; mailbox: Mailbox | null; end: number; utf8: boolean }
  | { ok: false; error: string };

// RFC 5322 3.2.3 atext, as used by RFC 5321's Atom.
const ATEXT = new Uint8Array(128);
for (const ch of "!#$%&'*+-/=?^_`{|}~") ATEXT[ch.charCodeAt(0)] = 1;
for (let b = 0x30; b <= 0x39; b++) ATEXT[b] = 1;
for (let b = 0x41; b <= 0x5a; b++) ATEXT[b] = 1;
for (let b = 0x61; b <= 0x7a; b++) ATEXT[b] = 1;

const isAtext = (cp: number) => (cp < 128 ? ATEXT[cp] === 1 : cp > 127);
const isLetDig = (cp: number) => (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp > 127;

const DOT_STRING = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;

/** RFC 5321 4.1.2 Domain (with RFC 6531 U-labels), without the length check. */
export function isDomain(s: string): boolean {
  if (!s.length || Buffer.byteLength(s) > 255) return false;
  for (const label of s.split('.')) {
    if (!label.length || Buffer.byteLength(label) > 63) return false;
    const first = label.codePointAt(0)!;
    const last = label.charCodeAt(label.length - 1);
    if (!isLetDig(first) || !isLetDig(last)) return false;
    for (const ch of label) {
      const cp = ch.codePointAt(0)!;
      if (!isLetDig(cp) && cp !== 0x2d) return false;
    }
  }
  return true;
}

/** RFC 5321 4.1.3 address-literal, brackets included. */
export function isAddressLiteral(s: string): boolean {
  if (s.length < 3 || s[0] !== '[' || s[s.length - 1] !== ']') return false;
  const inner = s.slice(1, -1);
  if (isIPv4(inner)) return /^\d+(\.\d+){3}$/.test(inner);
  const colon = inner.indexOf(':');
  if (colon <= 0) return false;
  const tag = inner.slice(0, colon);
  const rest = inner.slice(colon + 1);
  if (tag.toLowerCase() === 'ipv6') return isIPv6(rest);
  // General-address-literal: Standardized-tag ":" 1*dcontent
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(tag)) return false;
  return /^[\x21-\x5a\x5e-\x7e]+$/.test(rest);
}

function hasNonAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(s);
}

/**
 * Parses a Path starting at `text[start]` (which must be "<"). `allowNull` accepts "<>"
 * (the null reverse-path, RFC 5321 4.5.5). Returns where the path ended.
 */
export function parsePath(text: string, start: number, allowNull: boolean): PathResult {
  if (text[start] !== '<') return { ok: false, error: 'path must be enclosed in <>' };
  let i = start + 1;
  if (text[i] === '>') {
    return allowNull ? { ok: true, mailbox: null, end: i + 1, utf8: false } : { ok: false, error: 'empty path' };
  }
  // A-d-l ":" (source route): parsed, then ignored.
  if (text[i] === '@') {
    for (;;) {
      if (text[i] !== '@') return { ok: false, error: 'bad source route' };
      let j = i + 1;
      while (j < text.length && text[j] !== ',' && text[j] !== ':') j++;
      const dom = text.slice(i + 1, j);
      if (!isDomain(dom) && !isAddressLiteral(dom)) return { ok: false, error: `bad domain "${dom}" in source route` };
      if (text[j] === ',') {
        i = j + 1;
        continue;
      }
      if (text[j] !== ':') return { ok: false, error: 'bad source route' };
      i = j + 1;
      break;
    }
  }
  // Local-part
  let local: string;
  if (text[i] === '"') {
    let j = i + 1;
    let content = '';
    for (;;) {
      if (j >= text.length) return { ok: false, error: 'unterminated quoted local part' };
      const cp = text.codePointAt(j)!;
      if (cp === 0x22) break;
      if (cp === 0x5c) {
        // RFC 5321 quoted-pairSMTP = %d92 %d32-126
        const next = text.codePointAt(j + 1);
        if (next === undefined || next < 32 || next > 126) return { ok: false, error: 'bad quoted pair in local part' };
        content += text[j + 1];
        j += 2;
        continue;
      }
      // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF-8 (RFC 6531)
      if (cp < 32 || cp === 127) return { ok: false, error: 'control character in local part' };
      const chars = String.fromCodePoint(cp);
      content += chars;
      j += chars.length;
    }
    i = j + 1;
    local = DOT_STRING.test(content) ? content : `"${content.replace(/(["\\])/g, '\\$1')}"`;
  } else {
    let j = i;
    while (j < text.length) {
      const cp = text.codePointAt(j)!;
      if (cp === 0x2e || isAtext(cp)) j += cp > 0xffff ? 2 : 1;
      else break;
    }
    local = text.slice(i, j);
    if (!local.length) return { ok: false, error: 'missing local part' };
    if (!DOT_STRING.test(local)) return { ok: false, error: `bad local part "${local}"` };
    i = j;
  }
  if (text[i] !== '@') return { ok: false, error: 'missing @domain' };
  i++;
  let domain: string;
  if (text[i] === '[') {
    const close = text.indexOf(']', i);
    if (close < 0) return { ok: false, error: 'unterminated address literal' };
    domain = text.slice(i, close + 1);
    if (!isAddressLiteral(domain)) return { ok: false, error: `bad address literal ${domain}` };
    i = close + 1;
  } else {
    let j = i;
    while (j < text.length && text[j] !== '>') j++;
    domain = text.slice(i, j);
    if (!isDomain(domain)) return { ok: false, error: `bad domain "${domain}"` };
    i = j;
  }
  if (text[i] !== '>') return { ok: false, error: 'path must end with >' };
  const address = `${local}@${domain}`;
  return { ok: true, mailbox: { local, domain, address }, end: i + 1, utf8: hasNonAscii(address) };
}
