/**
 * The IMAP command receiver (RFC 9051 2.2, 4 and 9): bytes in, commands out, no I/O.
 *
 * Resumable: input may arrive cut anywhere; `push` stores it and `next` hands out one event
 * at a time, so the session pulls a command only when it is ready to run it (pipelined
 * commands wait in the buffer, and a synchronising literal's "+" is sent only then).
 *
 * A command is a tag and a tree of tokens: atoms, strings (quoted or literal) and
 * parenthesised lists. Atoms may carry a bracketed section with spaces and parentheses
 * (`BODY[HEADER.FIELDS (From To)]<0.100>`), which the FETCH argument reader takes apart.
 * Every limit is hard: line length, literal size (APPENDLIMIT), number of literals, total
 * command size, list nesting. The session swaps the limits at login (`limits` is read when each
 * command starts): strangers get small ones, so a refused literal is never buffered.
 */

export type Token =
  | { kind: 'atom'; value: string }
  | { kind: 'string'; value: Buffer; literal: boolean; /** RFC 3516 literal8 `~{n}` */ binary: boolean }
  | { kind: 'list'; items: Token[] };

export type ParseEvent =
  /** `tokens` starts with the verb. */
  | { kind: 'command'; tag: string; tokens: Token[] }
  /** A synchronising literal is announced: answer "+ ..." so the client sends it (RFC 9051 7.5). */
  | { kind: 'continue' }
  /** Syntax error; the rest of the command was skipped. */
  | { kind: 'bad'; tag: string | null; text: string }
  /** A synchronising literal over the limit: answer `NO [TOOBIG]`; the client will not send it (RFC 7889). */
  | { kind: 'toobig'; tag: string | null; text: string }
  /** A non-synchronising literal over the limit: its bytes are already coming, so hang up (BYE [ALERT]). */
  | { kind: 'fatal'; text: string };

export interface ParserLimits {
  /** Octets of one line of command text, literals not counted. */
  maxLineLength: number;
  /** Octets of one literal (advertised as APPENDLIMIT). */
  maxLiteralSize: number;
  /** Literals in one command (MULTIAPPEND sends one per message). */
  maxLiterals: number;
  /** Octets of one command, literals included. */
  maxCommandSize: number;
  /** Parenthesised lists inside one another. */
  maxDepth: number;
  /**
   * Octets of one non-synchronising literal: RFC 7888 LITERAL- allows at most 4096 (used before
   * login); absent, `maxLiteralSize` (LITERAL+).
   */
  maxNonSyncLiteralSize?: number;
  /**
   * A command line over `maxLineLength` ends the connection instead of a BAD: before login only
   * a hostile client sends one (often the bytes of a literal it was refused), and reading on
   * would mean taking in all of them.
   */
  hangUpOnLongLine?: boolean;
}

/** RFC 7888 4: the largest non-synchronising literal a LITERAL- server accepts. */
export const LITERAL_MINUS_MAX = 4096;

export const DEFAULT_LIMITS: ParserLimits = {
  maxLineLength: 65536,
  maxLiteralSize: 52428800,
  maxLiterals: 1000,
  maxCommandSize: 4 * 52428800,
  maxDepth: 32,
};

class SyntaxError_ extends Error {}

interface Building {
  tag: string;
  /** Open lists, outermost first; [0] is the command itself. */
  stack: Token[][];
  literals: number;
  size: number;
}

const CR = 13, LF = 10, SP = 32, DQUOTE = 34, LPAREN = 40, RPAREN = 41, LBRACE = 123, BACKSLASH = 92, LBRACKET = 91, RBRACKET = 93;

/** RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+"> */
const TAG_RE = /^[^\x00-\x20\x7f-\xff(){%*"\\+\]]+$/;

export class CommandParser {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'line' | 'literal' | 'skip-line' | 'skip-literal' = 'line';
  private cur: Building | null = null;
  /** Literal being received. */
  private litNeed = 0;
  private litChunks: Buffer[] = [];
  private litGot = 0;
  private litBinary = false;
  private announced = false;
  /** While skipping a broken command: the event to give once the skip is done. */
  private afterSkip: ParseEvent | null = null;
  private skipTag: string | null = null;
  private dead = false;

  constructor(public limits: ParserLimits = DEFAULT_LIMITS) {}

  push(chunk: Buffer): void {
    if (this.dead || !chunk.length) return;
    if (this.discard(chunk)) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /**
   * While skipping refused bytes, drops a chunk without copying it into the buffer (a hostile
   * client sends megabytes of them); false when the chunk needs the normal path.
   */
  private discard(chunk: Buffer): boolean {
    if (this.mode === 'skip-literal' && !this.buf.length && chunk.length <= this.litNeed) {
      this.litNeed -= chunk.length;
      return true;
    }
    if (this.mode === 'skip-line' && chunk.indexOf(LF) < 0) {
      // Only the tail can matter: it may begin a `{n+}` literal header cut by the chunking.
      const tail = Buffer.concat([this.buf.subarray(Math.max(0, this.buf.length - 32)), chunk.subarray(Math.max(0, chunk.length - 32))]);
      this.buf = Buffer.from(tail.subarray(Math.max(0, tail.length - 32)));
      return true;
    }
    return false;
  }

  /** Bytes received but not yet consumed (STARTTLS discards them; COMPRESS inflates them). */
  takeBuffered(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** What the client is in the middle of sending (the connection layer's total-time limits). */
  get partial(): 'line' | 'literal' | null {
    if (this.mode === 'literal' || this.mode === 'skip-literal') return 'literal';
    return this.buf.length || this.cur ? 'line' : null;
  }

  /**
   * A raw line for exchanges inside a command (AUTHENTICATE responses, IDLE's DONE);
   * null until a whole line is there. Over-long lines come back cut, marked `tooLong`.
   */
  nextLine(): { line: string; tooLong: boolean } | null {
    const i = this.buf.indexOf(LF);
    if (i < 0) {
      if (this.buf.length > this.limits.maxLineLength) {
        this.buf = Buffer.alloc(0);
        this.mode = 'skip-line';
        return { line: '', tooLong: true };
      }
      return null;
    }
    const end = i > 0 && this.buf[i - 1] === CR ? i - 1 : i;
    const line = this.buf.subarray(0, end).toString('utf8');
    this.buf = this.buf.subarray(i + 1);
    return { line, tooLong: end > this.limits.maxLineLength };
  }

  next(): ParseEvent | null {
    for (;;) {
      if (this.dead) return null;
      switch (this.mode) {
        case 'skip-line': {
          const i = this.buf.indexOf(LF);
          if (i < 0) {
            // Keep the last few bytes: they may be the start of a `{n+}` literal header. A copy,
            // so the refused chunk they came in can be freed.
            if (this.buf.length > 32) this.buf = Buffer.from(this.buf.subarray(this.buf.length - 32));
            return null;
          }
          const line = this.buf.subarray(0, i);
          this.buf = this.buf.subarray(i + 1);
          const lit = trailingLiteral(line);
          if (lit && !lit.sync) {
            // The client sends these bytes without waiting: they are not commands.
            this.mode = 'skip-literal';
            this.litNeed = lit.size;
            continue;
          }
          this.mode = 'line';
          const ev = this.afterSkip;
          this.afterSkip = null;
          if (ev) return ev;
          continue;
        }
        case 'skip-literal': {
          const n = Math.min(this.litNeed, this.buf.length);
          this.buf = this.buf.subarray(n);
          this.litNeed -= n;
          if (this.litNeed > 0) return null;
          this.mode = 'skip-line';
          continue;
        }
        case 'literal': {
          const n = Math.min(this.litNeed - this.litGot, this.buf.length);
          if (n > 0) {
            this.litChunks.push(this.buf.subarray(0, n));
            this.buf = this.buf.subarray(n);
            this.litGot += n;
          }
          if (this.litGot < this.litNeed) {
            if (!this.announced) {
              this.announced = true;
              if (this.litSync) return { kind: 'continue' };
            }
            return null;
          }
          const value = this.litChunks.length === 1 ? this.litChunks[0] : Buffer.concat(this.litChunks);
          this.litChunks = [];
          const c = this.cur!;
          c.stack[c.stack.length - 1].push({ kind: 'string', value: Buffer.from(value), literal: true, binary: this.litBinary });
          this.mode = 'line';
          continue;
        }
        case 'line': {
          const i = this.buf.indexOf(LF);
          if (i < 0) {
            // Still a good line if what came is at most the limit, then perhaps its CR.
            const cr = this.buf[this.buf.length - 1] === CR ? 1 : 0;
            if (this.buf.length > this.limits.maxLineLength + cr) return this.longLine();
            return null;
          }
          const end = i > 0 && this.buf[i - 1] === CR ? i - 1 : i;
          if (end > this.limits.maxLineLength) return this.longLine();
          const line = this.buf.subarray(0, end);
          this.buf = this.buf.subarray(i + 1);
          const ev = this.line(line);
          if (ev) return ev;
          continue;
        }
      }
    }
  }

  private litSync = false;

  private longLine(): ParseEvent | null {
    const text = 'command line too long';
    if (!this.limits.hangUpOnLongLine) return this.failLine(text, true);
    return this.hangUp(`${text} (more than ${this.limits.maxLineLength} octets before login)`);
  }

  /** The rest of the input is not read: the session says BYE and closes. */
  private hangUp(text: string): ParseEvent {
    this.cur = null;
    this.dead = true;
    this.buf = Buffer.alloc(0);
    return { kind: 'fatal', text };
  }

  /** A broken line: skip to its end (and past any non-synchronising literal it announces). */
  private failLine(text: string, stillInLine: boolean): ParseEvent | null {
    const tag = this.cur?.tag ?? guessTag(this.buf, this.limits.maxLineLength);
    this.cur = null;
    const ev: ParseEvent = { kind: 'bad', tag, text };
    if (stillInLine) {
      this.mode = 'skip-line';
      this.afterSkip = ev;
      return this.next();
    }
    return ev;
  }

  /** One line of command text (without CRLF); returns an event, or null to go on reading. */
  private line(line: Buffer): ParseEvent | null {
    let pos = 0;
    if (!this.cur) {
      if (line.length === 0) return null; // empty lines between commands are harmless
      const sp = line.indexOf(SP);
      const tag = line.subarray(0, sp < 0 ? line.length : sp).toString('latin1');
      if (!TAG_RE.test(tag)) return this.badLine(line, null, 'invalid tag');
      if (sp < 0) return this.badLine(line, tag, 'missing command');
      this.cur = { tag, stack: [[]], literals: 0, size: 0 };
      pos = sp + 1;
    }
    const c = this.cur;
    c.size += line.length + 2;
    if (c.size > this.limits.maxCommandSize) return this.badLine(line, c.tag, 'command too long');
    try {
      const lit = this.tokens(line, pos, c);
      if (lit) {
        c.literals++;
        c.size += lit.size;
        const why = this.overLimit(lit, c);
        if (why) {
          this.cur = null;
          if (lit.sync) return { kind: 'toobig', tag: c.tag, text: why };
          // The client sends a non-synchronising literal without waiting: hang up, read nothing more.
          return this.hangUp(why);
        }
        this.mode = 'literal';
        this.litNeed = lit.size;
        this.litGot = 0;
        this.litChunks = [];
        this.litBinary = lit.binary;
        this.litSync = lit.sync;
        this.announced = false;
        return null;
      }
    } catch (e) {
      if (!(e instanceof SyntaxError_)) throw e;
      return this.badLine(line, c.tag, e.message);
    }
    if (c.stack.length !== 1) return this.badLine(line, c.tag, 'unbalanced parentheses');
    this.cur = null;
    const tokens = c.stack[0];
    if (!tokens.length || tokens[0].kind !== 'atom') return { kind: 'bad', tag: c.tag, text: 'missing command' };
    return { kind: 'command', tag: c.tag, tokens };
  }

  /** Why the literal just announced cannot be taken, or null. */
  private overLimit(lit: { size: number; sync: boolean }, c: Building): string | null {
    const l = this.limits;
    const max = lit.sync ? l.maxLiteralSize : Math.min(l.maxLiteralSize, l.maxNonSyncLiteralSize ?? Infinity);
    if (lit.size > max) {
      return lit.sync || max === l.maxLiteralSize
        ? `literal of ${lit.size} octets is over the limit of ${max}`
        : `non-synchronising literal of ${lit.size} octets is over the limit of ${max} (RFC 7888 LITERAL-)`;
    }
    if (c.literals > l.maxLiterals) return `more than ${l.maxLiterals} literals in one command`;
    if (c.size > l.maxCommandSize) return 'command too long';
    return null;
  }

  /** The line is consumed already; a trailing non-synchronising literal still has to be skipped. */
  private badLine(line: Buffer, tag: string | null, text: string): ParseEvent | null {
    this.cur = null;
    const lit = trailingLiteral(line);
    const ev: ParseEvent = { kind: 'bad', tag, text };
    if (lit && !lit.sync) {
      this.mode = 'skip-literal';
      this.litNeed = lit.size;
      this.afterSkip = ev;
      return null;
    }
    return ev;
  }

  /** Tokenises `line` from `pos`; returns the literal announced at its end, if any. */
  private tokens(line: Buffer, pos: number, c: Building): { size: number; sync: boolean; binary: boolean } | null {
    const n = line.length;
    let needSep = false;
    while (pos < n) {
      const ch = line[pos];
      const top = c.stack[c.stack.length - 1];
      if (ch === SP) {
        pos++;
        needSep = false;
        continue;
      }
      if (ch === RPAREN) {
        if (c.stack.length === 1) throw new SyntaxError_('unexpected ")"');
        c.stack.pop();
        pos++;
        needSep = true;
        continue;
      }
      if (needSep) throw new SyntaxError_(`missing space before ${JSON.stringify(String.fromCharCode(ch))}`);
      if (ch === LPAREN) {
        if (c.stack.length > this.limits.maxDepth) throw new SyntaxError_('lists nested too deeply');
        const list: Token[] = [];
        top.push({ kind: 'list', items: list });
        c.stack.push(list);
        pos++;
        continue;
      }
      if (ch === DQUOTE) {
        const out: number[] = [];
        pos++;
        for (;;) {
          if (pos >= n) throw new SyntaxError_('unterminated quoted string');
          const q = line[pos++];
          if (q === DQUOTE) break;
          if (q === BACKSLASH) {
            if (pos >= n) throw new SyntaxError_('unterminated quoted string');
            const e = line[pos++];
            if (e !== DQUOTE && e !== BACKSLASH) throw new SyntaxError_('invalid escape in quoted string');
            out.push(e);
          } else if (q === 0) {
            throw new SyntaxError_('NUL in quoted string');
          } else out.push(q);
        }
        top.push({ kind: 'string', value: Buffer.from(out), literal: false, binary: false });
        needSep = true;
        continue;
      }
      if (ch === LBRACE || (ch === 0x7e /* ~ */ && line[pos + 1] === LBRACE)) {
        const binary = ch !== LBRACE;
        const m = /^\{(\d{1,12})([+-]?)\}$/.exec(line.subarray(pos + (binary ? 1 : 0)).toString('latin1'));
        if (!m) throw new SyntaxError_('invalid literal');
        return { size: Number(m[1]), sync: m[2] === '', binary };
      }
      // atom, possibly with a bracketed part holding spaces, parentheses and quoted strings
      const start = pos;
      let depth = 0;
      while (pos < n) {
        const a = line[pos];
        if (depth > 0) {
          if (a === RBRACKET) depth--;
          else if (a === LBRACKET) depth++;
          else if (a === DQUOTE) {
            pos++;
            while (pos < n && line[pos] !== DQUOTE) pos += line[pos] === BACKSLASH ? 2 : 1;
            if (pos >= n) throw new SyntaxError_('unterminated quoted string');
          } else if (a < 0x20 || a === 0x7f) throw new SyntaxError_('control character in command');
          pos++;
          continue;
        }
        if (a === SP || a === LPAREN || a === RPAREN || a === DQUOTE) break;
        if (a === LBRACE) throw new SyntaxError_('"{" inside an atom');
        if (a < 0x20 || a === 0x7f) throw new SyntaxError_('control character in command');
        if (a > 0x7f) throw new SyntaxError_('8-bit character outside a string');
        // RFC 9051 9: "[" is an ATOM-CHAR; it opens a section only after BODY, BINARY and their
        // .PEEK/.SIZE forms (issue 10.4: CREATE a[b was "unterminated").
        if (a === LBRACKET && SECTION_ATOM.test(line.subarray(start, pos).toString('latin1'))) depth++;
        pos++;
      }
      if (depth > 0) throw new SyntaxError_('unterminated "["');
      top.push({ kind: 'atom', value: line.subarray(start, pos).toString('latin1') });
      needSep = true;
    }
    return null;
  }
}

/** Fetch attributes whose "[" starts a section holding spaces, parentheses and strings (RFC 9051 6.4.5, RFC 3516). */
const SECTION_ATOM = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)$/i;

/** `{n}`, `{n+}`, `{n-}` or `~{n}` at the end of a line. */
function trailingLiteral(line: Buffer): { size: number; sync: boolean } | null {
  const tail = line.subarray(Math.max(0, line.length - 20)).toString('latin1');
  const m = /\{(\d{1,12})([+-]?)\}\r?$/.exec(tail);
  return m ? { size: Number(m[1]), sync: m[2] === '' } : null;
}

/** The tag of a line too long to parse; only its first `max` octets are looked at, so that how it was cut cannot matter. */
function guessTag(buf: Buffer, max: number): string | null {
  const sp = buf.subarray(0, Math.min(64, max) + 1).indexOf(SP);
  if (sp <= 0) return null;
  const t = buf.subarray(0, sp).toString('latin1');
  return TAG_RE.test(t) ? t : null;
}
