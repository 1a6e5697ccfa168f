import type { ByteString } from './types.js';

/**
 * RFC 5322 3.4 address lists, tolerant of the obsolete syntax of 4.4 (route-addr, CFWS around
 * the dots of a local part or domain, null list members) and of common breakage. Input and
 * output are ByteStrings: raw octets, so display names keep their RFC 2047 encoded words and
 * 8-bit bytes exactly as written (IMAP ENVELOPE wants the raw string: RFC 3501 7.4.2).
 *
 * Groups (3.4 `display-name ":" [group-list] ";"`) are returned the way IMAP encodes them:
 * a start marker whose `mailbox` is the group name and whose `host` is null, the members, then
 * an end marker with every field null.
 *
 * Never throws; work is linear in the input (one tokenising pass, then one pass over tokens).
 */

export interface Address {
  /** Display name: the phrase before `<`, or else the last comment after the address. */
  name: ByteString | null;
  /** Obsolete source route (`@a,@b`), RFC 5322 4.4. */
  adl: ByteString | null;
  /** Local part, unquoted; for a group start marker, the group name. */
  mailbox: ByteString | null;
  /** Domain; null for a group marker or when missing. */
  host: ByteString | null;
  /** Set when the address could not be read as written (e.g. an unterminated `<`). */
  syntaxError?: boolean;
  /** Group markers. */
  group?: 'start' | 'end';
}

type TokKind = 'atom' | 'qs' | 'dl' | 'sp' | 'comment';
interface Tok {
  k: TokKind;
  v: string;
  /** White space or a comment came right before this token. */
  ws: boolean;
}

/** Bounds the token list of one field (a 25 MB header must not make a huge array). */
const MAX_TOKENS = 100000;

const SPECIAL = new Set<number>([0x3c, 0x3e, 0x40, 0x2c, 0x3b, 0x3a, 0x2e, 0x29, 0x5d, 0x5c]);

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  const n = s.length;
  let i = 0;
  let ws = false;
  while (i < n && out.length < MAX_TOKENS) {
    const c = s.charCodeAt(i);
    if (isWsp(c)) { ws = true; i++; continue; }
    if (c === 0x28) {
      // comment, nested, with quoted-pairs (RFC 5322 3.2.2)
      let depth = 0;
      const start = i + 1;
      let text = '';
      let from = start;
      for (; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) { text += s.slice(from, i); from = i + 1; i++; continue; }
        if (d === 0x28) depth++;
        else if (d === 0x29 && --depth === 0) break;
      }
      text += s.slice(from, Math.min(i, n));
      out.push({ k: 'comment', v: text, ws });
      ws = true;
      i++;
      continue;
    }
    if (c === 0x22) {
      let text = '';
      let from = ++i;
      for (; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) { text += s.slice(from, i); from = i + 1; i++; continue; }
        if (d === 0x0d || d === 0x0a) { text += s.slice(from, i); from = i + 1; } // unfold
      }
      text += s.slice(from, Math.min(i, n));
      out.push({ k: 'qs', v: text, ws });
      ws = false;
      i++;
      continue;
    }
    if (c === 0x5b) {
      const start = i;
      for (i++; i < n; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5d) break;
        if (d === 0x5c) i++;
      }
      out.push({ k: 'dl', v: s.slice(start, Math.min(i + 1, n)), ws });
      ws = false;
      i++;
      continue;
    }
    if (SPECIAL.has(c)) {
      out.push({ k: 'sp', v: s[i], ws });
      ws = false;
      i++;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (isWsp(d) || d === 0x28 || d === 0x22 || d === 0x5b || SPECIAL.has(d)) break;
      i++;
    }
    out.push({ k: 'atom', v: s.slice(start, i), ws });
    ws = false;
  }
  return out;
}

function isSp(t: Tok | undefined, v: string): boolean {
  return t !== undefined && t.k === 'sp' && t.v === v;
}

/** Parses one address-list field value. */
export function parseAddressList(value: ByteString): Address[] {
  return new ListParser(tokenize(value)).list();
}

/** Parses every occurrence of a field (e.g. two From lines) into one list. */
export function parseAddressFields(values: ByteString[] | undefined): Address[] {
  if (values === undefined) return [];
  const out: Address[] = [];
  for (const v of values) for (const a of parseAddressList(v)) out.push(a);
  return out;
}

class ListParser {
  private i = 0;
  private readonly out: Address[] = [];

  constructor(private readonly toks: Tok[]) {}

  list(): Address[] {
    const toks = this.toks;
    while (this.i < toks.length) {
      const t = toks[this.i];
      // RFC 5322 4.4 obs-addr-list: null members (",,") carry nothing.
      if (isSp(t, ',') || t.k === 'comment') { this.i++; continue; }
      if (this.groupAhead()) this.group();
      else this.mailbox(false);
    }
    return this.out;
  }

  /** A phrase followed by ':' starts a group. */
  private groupAhead(): boolean {
    let words = 0;
    for (let j = this.i; j < this.toks.length; j++) {
      const t = this.toks[j];
      if (t.k === 'atom' || t.k === 'qs') { words++; continue; }
      if (t.k === 'comment' || isSp(t, '.')) continue;
      return isSp(t, ':') && words > 0;
    }
    return false;
  }

  private group(): void {
    const start = this.i;
    while (!isSp(this.toks[this.i], ':')) this.i++;
    const name = phrase(this.toks, start, this.i);
    this.i++;
    this.out.push({ name: null, adl: null, mailbox: name, host: null, group: 'start' });
    while (this.i < this.toks.length) {
      const t = this.toks[this.i];
      if (isSp(t, ';')) { this.i++; break; }
      if (isSp(t, ',') || t.k === 'comment') { this.i++; continue; }
      this.mailbox(true);
    }
    this.out.push({ name: null, adl: null, mailbox: null, host: null, group: 'end' });
  }

  /** One mailbox: the tokens up to the next ',' (or ';' inside a group) outside `<...>`. */
  private mailbox(inGroup: boolean): void {
    const toks = this.toks;
    const start = this.i;
    let angle = false;
    let j = start;
    for (; j < toks.length; j++) {
      const t = toks[j];
      if (t.k !== 'sp') continue;
      if (t.v === '<') angle = true;
      else if (t.v === '>') angle = false;
      else if (t.v === ',' && !(angle && isSp(toks[j + 1], '@'))) break; // ",@" continues a route
      else if (t.v === ';' && inGroup) break;
    }
    this.i = j === start ? start + 1 : j; // always make progress
    const addr = j === start ? junkAddress() : interpret(toks, start, j);
    this.out.push(addr);
  }
}

function junkAddress(): Address {
  return { name: null, adl: null, mailbox: null, host: null };
}

/** Interprets tokens [a, b) holding one mailbox (name-addr or addr-spec). */
function interpret(toks: Tok[], a: number, b: number): Address {
  let lt = -1;
  for (let j = a; j < b; j++) if (isSp(toks[j], '<')) { lt = j; break; }
  if (lt >= 0) {
    // name-addr = [display-name] angle-addr; obs-angle-addr allows a route.
    const name = phrase(toks, a, lt) || null;
    let gt = -1;
    for (let j = lt + 1; j < b; j++) if (isSp(toks[j], '>')) { gt = j; break; }
    const end = gt < 0 ? b : gt;
    let k = lt + 1;
    while (k < end && toks[k].k === 'comment') k++;
    let adl: string | null = null;
    if (isSp(toks[k], '@')) {
      let colon = -1;
      for (let j = k; j < end; j++) if (isSp(toks[j], ':')) { colon = j; break; }
      if (colon >= 0) {
        adl = toks.slice(k, colon).filter((t) => t.k !== 'comment').map((t) => t.v).join('');
        k = colon + 1;
      }
    }
    const spec = addrSpec(toks, k, end);
    const addr: Address = { name, adl, mailbox: spec.mailbox, host: spec.host };
    if (gt < 0) addr.syntaxError = true;
    return addr;
  }
  // addr-spec alone; a display name may then only come from a comment after it.
  // A run of words not joined by dots before the local part is a display name without <>.
  let at = -1;
  for (let j = a; j < b; j++) if (isSp(toks[j], '@')) { at = j; break; }
  let specStart = a;
  const localEnd = at < 0 ? b : at;
  for (let j = localEnd - 1; j > a; j--) {
    const t = toks[j], prev = toks[j - 1];
    if ((t.k === 'atom' || t.k === 'qs') && t.ws && (prev.k === 'atom' || prev.k === 'qs')) {
      specStart = j;
      break;
    }
  }
  let firstWord = specStart;
  while (firstWord < b && toks[firstWord].k === 'comment') firstWord++;
  const spec = addrSpec(toks, specStart, b);
  let name: string | null = specStart > a ? phrase(toks, a, specStart) || null : null;
  for (let j = firstWord + 1; j < b; j++) if (toks[j].k === 'comment') name = toks[j].v.trim() || name;
  return { name, adl: null, mailbox: spec.mailbox, host: spec.host };
}

/** local-part "@" domain over tokens [a, b); CFWS around the dots is allowed (obsolete). */
function addrSpec(toks: Tok[], a: number, b: number): { mailbox: string | null; host: string | null } {
  let at = -1;
  for (let j = a; j < b; j++) if (isSp(toks[j], '@')) { at = j; break; }
  const local = joinWords(toks, a, at < 0 ? b : at);
  const host = at < 0 ? '' : joinWords(toks, at + 1, b);
  return { mailbox: local === '' ? null : local, host: host === '' ? null : host };
}

function joinWords(toks: Tok[], a: number, b: number): string {
  let s = '';
  for (let j = a; j < b; j++) {
    const t = toks[j];
    if (t.k === 'atom' || t.k === 'qs' || t.k === 'dl' || isSp(t, '.')) s += t.v;
  }
  return s;
}

/**
 * RFC 5322 3.2.5 phrase (with obs-phrase's dots): words joined by one space where the source
 * had white space or a comment between them, quoted strings unquoted.
 */
function phrase(toks: Tok[], a: number, b: number): string {
  let s = '';
  let pendingSpace = false;
  for (let j = a; j < b; j++) {
    const t = toks[j];
    if (t.k === 'comment') { pendingSpace = s !== ''; continue; }
    if (t.k !== 'atom' && t.k !== 'qs' && !isSp(t, '.')) continue;
    if (s !== '' && (pendingSpace || t.ws)) s += ' ';
    s += t.v;
    pendingSpace = false;
  }
  return s;
}
