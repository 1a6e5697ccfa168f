import type { Args } from './args.js';
import { parseDate } from './args.js';
import { bad, no } from './errors.js';
import type { SelectedMailbox, ViewMessage } from './selected.js';
import { inRanges, resolveRanges, type SequenceSet } from './sequence.js';
import { headerEnd } from './message.js';
import { headerValues } from './text.js';
import { foldSearch, searchableBody } from '../mime/search-text.js';
import { MIN_NEEDLE, type TextQuery } from '../store/search.js';
import type { MimeEnvelopeFields, MimeTree } from '../mime/types.js';
import { decodeEncodedWords } from '../mime/text.js';
import { parseAddressFields } from '../mime/address.js';
import { byteStringToText } from '../mime/charset.js';
import { parseMessageDate } from '../mime/date.js';

/** Case and accents folded, white space runs as one space (as Dovecot compares); the index folds alike. */
const fold = foldSearch;

/** A search key (RFC 9051 6.4.4, RFC 7162 3.1.5 MODSEQ, RFC 5182 "$"). */
export type Key =
  | { k: 'all' }
  | { k: 'flag'; flag: string; set: boolean }
  | { k: 'header'; field: string; text: string }
  | { k: 'body' | 'text'; text: string }
  | { k: 'date'; internal: boolean; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'size'; op: 'larger' | 'smaller'; n: number }
  | { k: 'seq' | 'uid'; set: SequenceSet }
  | { k: 'not'; key: Key }
  | { k: 'or'; a: Key; b: Key }
  | { k: 'and'; keys: Key[] }
  | { k: 'modseq'; n: number }
  | { k: 'emailid'; blobId: string | null }
  | { k: 'none' };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true], DELETED: ['\\Deleted', true], DRAFT: ['\\Draft', true], FLAGGED: ['\\Flagged', true], SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false], UNDELETED: ['\\Deleted', false], UNDRAFT: ['\\Draft', false], UNFLAGGED: ['\\Flagged', false], UNSEEN: ['\\Seen', false],
};

export const CHARSETS = ['UTF-8', 'US-ASCII'];

export interface SearchProgram {
  key: Key;
  /** Whether a message's content must be read. */
  content: boolean;
  modseq: boolean;
}

/** Parses search keys until the arguments end (an implicit AND). */
export function parseSearch(a: Args, charset: string): SearchProgram {
  const keys: Key[] = [];
  const st = { content: false, modseq: false, charset };
  while (!a.done) keys.push(parseKey(a, st, 0));
  if (!keys.length) throw bad('missing search criteria');
  return { key: keys.length === 1 ? keys[0] : { k: 'and', keys }, content: st.content, modseq: st.modseq };
}

function str(a: Args, st: { charset: string }, what: string): string {
  const b = a.astringBytes(what);
  return st.charset === 'ISO-8859-1' ? b.toString('latin1') : b.toString('utf8');
}

function dateArg(a: Args): number {
  const t = a.take('date');
  const s = t.kind === 'atom' ? t.value : t.kind === 'string' ? t.value.toString('latin1') : '';
  const d = parseDate(s);
  if (d === null) throw bad(`invalid date ${JSON.stringify(s)} (d-Mon-yyyy)`);
  return d;
}

function parseKey(a: Args, st: { content: boolean; modseq: boolean; charset: string }, depth: number): Key {
  if (depth > 50) throw bad('search keys nested too deeply');
  const t = a.peek();
  if (t?.kind === 'list') {
    const l = a.list('search key list');
    const keys: Key[] = [];
    while (!l.done) keys.push(parseKey(l, st, depth + 1));
    if (!keys.length) throw bad('empty search key list');
    return keys.length === 1 ? keys[0] : { k: 'and', keys };
  }
  const word = a.atom('search key');
  const u = word.toUpperCase();
  if (FLAG_KEYS[u]) return { k: 'flag', flag: FLAG_KEYS[u][0], set: FLAG_KEYS[u][1] };
  switch (u) {
    case 'ALL': return { k: 'all' };
    case 'NEW': return { k: 'none' }; // RECENT UNSEEN: Correo has no \Recent (RFC 9051 dropped it)
    case 'OLD': return { k: 'all' };
    case 'RECENT': return { k: 'none' };
    case 'KEYWORD': return { k: 'flag', flag: a.atom('keyword'), set: true };
    case 'UNKEYWORD': return { k: 'flag', flag: a.atom('keyword'), set: false };
    case 'BCC': case 'CC': case 'FROM': case 'TO': case 'SUBJECT':
      st.content = true;
      return { k: 'header', field: u.toLowerCase(), text: fold(str(a, st, u)) };
    case 'HEADER': {
      st.content = true;
      const field = a.astring('header field name');
      return { k: 'header', field: field.toLowerCase(), text: fold(str(a, st, 'header text')) };
    }
    case 'BODY': case 'TEXT':
      st.content = true;
      return { k: u === 'BODY' ? 'body' : 'text', text: fold(str(a, st, u)) };
    case 'BEFORE': case 'ON': case 'SINCE':
      return { k: 'date', internal: true, op: u.toLowerCase() as 'before', day: dateArg(a) };
    case 'SENTBEFORE': case 'SENTON': case 'SENTSINCE':
      st.content = true;
      return { k: 'date', internal: false, op: u.slice(4).toLowerCase() as 'before', day: dateArg(a) };
    case 'LARGER': case 'SMALLER':
      return { k: 'size', op: u.toLowerCase() as 'larger', n: a.number('size') };
    case 'UID': return { k: 'uid', set: a.sequenceSet('UID set') };
    case 'NOT': return { k: 'not', key: parseKey(a, st, depth + 1) };
    case 'OR': {
      const x = parseKey(a, st, depth + 1);
      return { k: 'or', a: x, b: parseKey(a, st, depth + 1) };
    }
    // RFC 8474 6: EMAILID matches the one message body it names; no message has a THREADID.
    case 'EMAILID': return { k: 'emailid', blobId: blobOfEmailId(a.astring('email id')) };
    case 'THREADID': a.astring('thread id'); return { k: 'none' };
    case 'MODSEQ': {
      st.modseq = true;
      // RFC 7162 3.1.5: optional entry name and type, then the mod-sequence.
      const p = a.peek();
      if (p?.kind === 'string' || (p?.kind === 'atom' && !/^\d+$/.test(p.value))) {
        a.astring('entry name');
        a.atom('entry type');
      }
      return { k: 'modseq', n: a.number('mod-sequence') };
    }
    default: {
      const set = /^[\d:*,$]+$/.test(word) ? word : null;
      if (set) {
        const { parseSequenceSet } = SEQ;
        const s = parseSequenceSet(set);
        if (s) return { k: 'seq', set: s };
      }
      throw bad(`unknown search key ${word}`);
    }
  }
}

import * as SEQ from './sequence.js';
import { blobOfEmailId } from './objectid.js';

/** Header fields the MIME tree keeps (src/mime/types.ts MimeEnvelopeFields). */
const ENV_FIELDS: Record<string, keyof MimeEnvelopeFields> = {
  from: 'from', to: 'to', cc: 'cc', bcc: 'bcc', subject: 'subject', sender: 'sender', 'reply-to': 'replyTo',
  'message-id': 'messageId', 'in-reply-to': 'inReplyTo', references: 'references', date: 'date',
};

const ADDRESS_KEYS = new Set(['from', 'to', 'cc', 'bcc']);

/** "name local@domain" of each address in the fields' values (src/mime/search-text.ts indexes the same). */
function addressTexts(values: string[]): string[] {
  const out: string[] = [];
  for (const a of parseAddressFields(values)) {
    if (a.group !== undefined) continue;
    const name = a.name === null ? '' : decodeEncodedWords(a.name);
    out.push(`${name} ${byteStringToText((a.mailbox ?? '') + (a.host === null ? '' : '@' + a.host))}`);
  }
  return out;
}

/** Lazily read content of one message, shared by every key that needs it. */
export class Content {
  private rawP: Promise<Buffer> | null = null;
  private headerS: string | null = null;
  private bodyS: string | null = null;
  constructor(private readonly read: () => Promise<Buffer>, private readonly tree: () => Promise<MimeTree>) {}
  raw(): Promise<Buffer> {
    return (this.rawP ??= this.read());
  }
  async header(): Promise<string> {
    if (this.headerS === null) {
      const r = await this.raw();
      this.headerS = r.subarray(0, headerEnd(r)).toString('latin1');
    }
    return this.headerS;
  }
  async envValues(k: keyof MimeEnvelopeFields): Promise<string[]> {
    const v = (await this.tree()).root.env?.[k];
    return v === undefined ? [] : Array.isArray(v) ? v.map((x) => x.trim()) : [v.trim()];
  }
  async body(): Promise<string> {
    if (this.bodyS === null) this.bodyS = fold(searchableBody(await this.tree(), await this.raw()));
    return this.bodyS;
  }
}

export interface EvalEnv {
  box: SelectedMailbox;
  saved: number[] | null;
  maxSeq: number;
  maxUid: number;
}

/** Whether message `i` (0-based) matches. */
export async function matches(key: Key, m: ViewMessage, i: number, c: Content | null, env: EvalEnv): Promise<boolean> {
  switch (key.k) {
    case 'all': return true;
    case 'none': return false;
    case 'flag': return m.flags.includes(key.flag) === key.set;
    case 'size': return key.op === 'larger' ? m.size > key.n : m.size < key.n;
    case 'modseq': return m.modSeq >= key.n;
    case 'emailid': return m.blobId === key.blobId;
    case 'date': {
      let t: number | null;
      if (key.internal) {
        const d = new Date(m.internalDate);
        t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      } else {
        // RFC 9051 6.4.4: the date as written, time and zone disregarded; no usable Date counts
        // as the epoch (as Dovecot does).
        const v = headerValues(await c!.header(), 'date')[0];
        const p = v === undefined ? null : parseMessageDate(v);
        t = p ? Date.UTC(p.year, p.month - 1, p.day) : 0;
      }
      return key.op === 'before' ? t < key.day : key.op === 'on' ? t === key.day : t >= key.day;
    }
    case 'seq': case 'uid': {
      const n = key.k === 'seq' ? i + 1 : m.uid;
      if (key.set.kind === 'saved') return !!env.saved?.includes(m.uid);
      return inRanges(resolveRanges(key.set.ranges, key.k === 'seq' ? env.maxSeq : env.maxUid), n);
    }
    case 'not': return !(await matches(key.key, m, i, c, env));
    case 'or': return (await matches(key.a, m, i, c, env)) || (await matches(key.b, m, i, c, env));
    case 'and':
      for (const k of key.keys) if (!(await matches(k, m, i, c, env))) return false;
      return true;
    case 'header': {
      // Envelope fields come from the stored MIME tree: no file read.
      const envKey = ENV_FIELDS[key.field];
      const vals = envKey ? await c!.envValues(envKey) : headerValues(await c!.header(), key.field);
      // RFC 9051 6.4.4: FROM/TO/CC/BCC match the envelope's addresses too, "local@domain" however
      // the field wrote it (comments, spaces, quoting; issue 10.5), as the full-text index holds them.
      if (ADDRESS_KEYS.has(key.field) && vals.length) vals.push(...addressTexts(vals));
      // RFC 9051 6.4.4: HEADER field "" matches every message that has the field.
      if (!key.text) return vals.length > 0;
      return vals.some((v) => fold(decodeEncodedWords(v)).includes(key.text));
    }
    case 'body': return (await c!.body()).includes(key.text);
    case 'text': {
      if (fold(decodeEncodedWords(await c!.header())).includes(key.text)) return true;
      return (await c!.body()).includes(key.text);
    }
  }
}

/**
 * A condition on the indexed text that every message matching `key` meets (null: none), for
 * the full-text index to narrow the messages the matcher reads (src/store/search.ts). Only
 * what is necessary: NOT gives nothing, an OR only when both sides give something, and a
 * needle under MIN_NEEDLE characters nothing.
 */
export function textQuery(key: Key): TextQuery | null {
  switch (key.k) {
    case 'header': case 'body': case 'text': {
      if ([...key.text].length < MIN_NEEDLE) return null;
      return { k: 'contains', field: key.k === 'header' ? 'header' : key.k === 'body' ? 'body' : 'any', text: key.text };
    }
    case 'and': {
      const qs = key.keys.map(textQuery).filter((q): q is TextQuery => q !== null);
      return qs.length === 0 ? null : qs.length === 1 ? qs[0] : { k: 'and', qs };
    }
    case 'or': {
      const a = textQuery(key.a);
      const b = a && textQuery(key.b);
      return a && b ? { k: 'or', qs: [a, b] } : null;
    }
    default: return null;
  }
}

/**
 * Runs a search over the selected mailbox; returns matching indexes (0-based). `candidates`
 * (UIDs from the full-text index for textQuery(p.key)): messages outside it cannot match.
 */
export async function runSearch(p: SearchProgram, box: SelectedMailbox, saved: number[] | null, read: (m: ViewMessage) => Promise<Buffer>, tree: (m: ViewMessage) => Promise<MimeTree>, candidates: Set<number> | null = null): Promise<number[]> {
  const env: EvalEnv = { box, saved, maxSeq: box.exists, maxUid: box.maxUid };
  const out: number[] = [];
  for (let i = 0; i < box.exists; i++) {
    const m = box.msg(i);
    if (candidates && !candidates.has(m.uid)) continue;
    if (m.expunged && p.content) {
      // Its file may be gone; it cannot match content keys.
      try {
        await read(m);
      } catch {
        continue;
      }
    }
    const c = p.content ? new Content(() => read(m), () => tree(m)) : null;
    try {
      if (await matches(p.key, m, i, c, env)) out.push(i);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
  }
  return out;
}

export function checkCharset(cs: string): string {
  const u = cs.toUpperCase();
  if (u === 'UTF-8' || u === 'US-ASCII' || u === 'UTF8') return 'UTF-8';
  if (u === 'ISO-8859-1' || u === 'LATIN1') return 'ISO-8859-1';
  throw no(`charset ${cs} is not supported (${CHARSETS.join(', ')} are)`, 'BADCHARSET');
}
