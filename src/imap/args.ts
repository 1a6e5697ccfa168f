import type { Token } from './parser.js';
import { bad } from './errors.js';
import { parseSequenceSet, type SequenceSet } from './sequence.js';

/**
 * Reads a command's arguments from its token tree, one typed value at a time (RFC 9051 9).
 * Every mistake is a BAD with the name of what was expected.
 */
export class Args {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly what = 'arguments') {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  get remaining(): number {
    return this.tokens.length - this.i;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  /** The next token if it is an atom equal (case-insensitively) to one of `words`. */
  peekAtom(...words: string[]): string | null {
    const t = this.tokens[this.i];
    if (t?.kind !== 'atom') return null;
    const u = t.value.toUpperCase();
    return words.length === 0 || words.includes(u) ? u : null;
  }

  take(what: string): Token {
    const t = this.tokens[this.i++];
    if (!t) throw bad(`missing ${what}`);
    return t;
  }

  atom(what = 'atom'): string {
    const t = this.take(what);
    if (t.kind !== 'atom') throw bad(`${what}: expected an atom`);
    return t.value;
  }

  /** An atom, upper-cased. */
  keyword(what = 'keyword'): string {
    return this.atom(what).toUpperCase();
  }

  /** astring: atom, quoted string or literal, as bytes. */
  astringBytes(what = 'string'): Buffer {
    const t = this.take(what);
    if (t.kind === 'atom') return Buffer.from(t.value, 'latin1');
    if (t.kind === 'string') return t.value;
    throw bad(`${what}: expected a string, got a list`);
  }

  astring(what = 'string'): string {
    return this.astringBytes(what).toString('utf8');
  }

  /** string: quoted or literal only. */
  string(what = 'string'): Buffer {
    const t = this.take(what);
    if (t.kind !== 'string') throw bad(`${what}: expected a quoted string or literal`);
    return t.value;
  }

  /** nstring: NIL or a string. */
  nstring(what = 'string'): Buffer | null {
    const t = this.take(what);
    if (t.kind === 'atom' && t.value.toUpperCase() === 'NIL') return null;
    if (t.kind === 'string') return t.value;
    throw bad(`${what}: expected a string or NIL`);
  }

  list(what = 'list'): Args {
    const t = this.take(what);
    if (t.kind !== 'list') throw bad(`${what}: expected a parenthesised list`);
    return new Args(t.items, what);
  }

  /** A list, or a single item standing for a one-element list (e.g. FETCH items, STATUS is strict). */
  listOrOne(what: string): Args {
    const t = this.take(what);
    return t.kind === 'list' ? new Args(t.items, what) : new Args([t], what);
  }

  number(what = 'number'): number {
    const a = this.atom(what);
    if (!/^\d{1,20}$/.test(a)) throw bad(`${what}: expected a number`);
    const n = Number(a);
    if (!Number.isSafeInteger(n)) throw bad(`${what}: number too large`);
    return n;
  }

  sequenceSet(what = 'sequence set'): SequenceSet {
    const a = this.atom(what);
    const s = parseSequenceSet(a);
    if (!s) throw bad(`${what}: invalid sequence set ${JSON.stringify(a)}`);
    return s;
  }

  /** flag-list: "(" [flag *(SP flag)] ")"; flags are atoms, system flags start with "\". */
  flagList(what = 'flag list'): string[] {
    const l = this.listOrOne(what);
    const out: string[] = [];
    while (!l.done) out.push(checkFlag(l.atom('flag')));
    return out;
  }

  end(): void {
    if (this.i < this.tokens.length) throw bad(`unexpected extra ${this.what}`);
  }
}

const SYSTEM_FLAGS = ['\\ANSWERED', '\\FLAGGED', '\\DELETED', '\\SEEN', '\\DRAFT'];

/** RFC 9051 2.3.2: system flags have canonical case; keywords are atoms. \Recent cannot be set. */
export function checkFlag(f: string): string {
  if (f.startsWith('\\')) {
    const u = f.toUpperCase();
    const i = SYSTEM_FLAGS.indexOf(u);
    if (i < 0) throw bad(`unknown system flag ${f}`);
    return ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'][i];
  }
  if (!/^[!#$&'+-Z^-z|~]+$/.test(f)) throw bad(`invalid keyword ${JSON.stringify(f)}`);
  return f;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 9051 9); milliseconds since the epoch. */
export function parseDateTime(s: string): number | null {
  const m = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(s);
  if (!m) return null;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
  if (mon < 0) return null;
  const day = Number(m[1].trim()), h = Number(m[4]), mi = Number(m[5]), sec = Number(m[6]);
  if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60) return null;
  const off = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  return Date.UTC(Number(m[3]), mon, day, h, mi, sec) - off * 60000;
}

/** date: "d-Mon-yyyy" (SEARCH); the UTC midnight starting that day. */
export function parseDate(s: string): number | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
  if (mon < 0 || Number(m[1]) < 1 || Number(m[1]) > 31) return null;
  return Date.UTC(Number(m[3]), mon, Number(m[1]));
}

/** INTERNALDATE as IMAP writes it, in UTC. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
