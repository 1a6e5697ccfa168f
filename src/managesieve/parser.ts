/**
 * ManageSieve command framing (RFC 5804 4, no I/O): bytes in, commands out.
 *
 *   command  = atom *(SP argument) CRLF       argument = string / number
 *   string   = quoted / literal-c2s            quoted   = DQUOTE *(QUOTED-CHAR / "\" ( DQUOTE / "\")) DQUOTE
 *   literal  = "{" number ["+"] "}" CRLF *OCTET
 *
 * RFC 5804 4 has clients send "{n+}" (no continuation exists in ManageSieve); "{n}" is taken
 * the same way, as Cyrus and Dovecot do. Bounds: the octets of a command outside its literals
 * (`maxLine`) and of one literal (`maxLiteral`). A literal over its bound is skipped as it
 * arrives, never buffered, and the command is reported as `too-big` once its line ends; an
 * overlong line is skipped to its LF and reported as `too-long`. Frames depend only on the
 * bytes, never on how they were cut into packets (test/managesieve/parser.test.ts).
 */

export type Arg = { kind: 'string'; value: Buffer } | { kind: 'atom'; value: string };

export type Frame =
  | { kind: 'command'; verb: string; args: Arg[] }
  /** A line that is one string and nothing else: a SASL response (RFC 5804 2.1). */
  | { kind: 'response'; value: Buffer }
  /** A literal was larger than maxLiteral (its bytes were dropped). `verb` as far as it was read. */
  | { kind: 'too-big'; verb: string; size: number }
  | { kind: 'too-long' }
  | { kind: 'syntax'; message: string };

const LF = 10;
const CR = 13;
const SP = 32;
const DQUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const EMPTY = Buffer.alloc(0);

type Mode =
  | { kind: 'tokens' }
  | { kind: 'literal'; need: number; chunks: Buffer[]; got: number }
  /** Dropping a literal's bytes, then the rest of its line. */
  | { kind: 'skip-literal'; left: number }
  /** Dropping up to the next LF, then reporting `frame`. */
  | { kind: 'skip-line'; frame: Frame };

export class CommandReader {
  private buf: Buffer = EMPTY;
  private args: Arg[] = [];
  /** Octets of the current command outside literals. */
  private lineBytes = 0;
  private mode: Mode = { kind: 'tokens' };
  private tooBig: number | null = null;

  constructor(public maxLine: number, public maxLiteral: number) {}

  /**
   * Octets received and not yet parsed. The bytes of a literal being gathered are not counted:
   * they are bounded by maxLiteral, and the connection must keep reading to complete it.
   */
  get buffered(): number {
    return this.buf.length;
  }

  /** Part of a command is here: the client is in the middle of sending. */
  get partial(): boolean {
    return this.buf.length > 0 || this.args.length > 0 || this.mode.kind !== 'tokens' || this.tooBig !== null;
  }

  /** Inside a literal: its own total time applies. */
  get inLiteral(): boolean {
    return this.mode.kind === 'literal' || this.mode.kind === 'skip-literal';
  }

  push(chunk: Buffer): void {
    if (!chunk.length) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** RFC 5804 2.2: nothing the client sent before the TLS handshake is read after it. */
  discard(): void {
    this.buf = EMPTY;
    this.reset();
  }

  private reset(): void {
    this.args = [];
    this.lineBytes = 0;
    this.mode = { kind: 'tokens' };
    this.tooBig = null;
  }

  private verb(): string {
    const first = this.args[0];
    return first?.kind === 'atom' ? first.value.toUpperCase() : '';
  }

  /** The next complete frame, or null when more input is needed. */
  next(): Frame | null {
    for (;;) {
      const m = this.mode;
      if (m.kind === 'skip-line') {
        const lf = this.buf.indexOf(LF);
        if (lf < 0) {
          this.buf = EMPTY;
          return null;
        }
        this.buf = this.buf.subarray(lf + 1);
        this.reset();
        return m.frame;
      }
      if (m.kind === 'skip-literal') {
        const n = Math.min(m.left, this.buf.length);
        this.buf = this.buf.subarray(n);
        m.left -= n;
        if (m.left > 0) return null;
        this.mode = { kind: 'tokens' };
        continue;
      }
      if (m.kind === 'literal') {
        const n = Math.min(m.need - m.got, this.buf.length);
        if (n > 0) {
          m.chunks.push(this.buf.subarray(0, n));
          m.got += n;
          this.buf = this.buf.subarray(n);
        }
        if (m.got < m.need) return null;
        this.args.push({ kind: 'string', value: Buffer.concat(m.chunks) });
        this.mode = { kind: 'tokens' };
        continue;
      }
      const r = this.token();
      if (r === 'more') return null;
      if (r) return r;
    }
  }

  /** Reads one token of the command line: null when one was taken, a frame when the command ended, 'more' to wait. */
  private token(): Frame | null | 'more' {
    let i = 0;
    while (i < this.buf.length && this.buf[i] === SP) i++;
    if (i === this.buf.length) return this.wait(i);
    const c = this.buf[i];
    if (c === CR || c === LF) {
      const end = c === LF ? i + 1 : i + 1 < this.buf.length ? (this.buf[i + 1] === LF ? i + 2 : -1) : 0;
      if (end === 0) return this.wait(i);
      if (end < 0) return this.fail('a bare CR in a command');
      this.buf = this.buf.subarray(end);
      const frame: Frame = this.tooBig !== null ? { kind: 'too-big', verb: this.verb(), size: this.tooBig }
        : !this.args.length ? { kind: 'syntax', message: 'empty command' }
        : this.args[0].kind === 'string' && this.args.length === 1 ? { kind: 'response', value: this.args[0].value }
        : this.args[0].kind !== 'atom' ? { kind: 'syntax', message: 'a command starts with its name' }
        : { kind: 'command', verb: this.verb(), args: this.args.slice(1) };
      this.reset();
      return frame;
    }
    if (c === DQUOTE) return this.quoted(i);
    if (c === LBRACE) return this.literal(i);
    let j = i;
    while (j < this.buf.length && this.buf[j] !== SP && this.buf[j] !== CR && this.buf[j] !== LF) j++;
    if (j === this.buf.length) return this.wait(j);
    if (this.lineBytes + j > this.maxLine) return this.fail(null);
    const word = this.buf.toString('latin1', i, j);
    if (!/^[A-Za-z0-9]+$/.test(word)) return this.fail(`"${word.slice(0, 40)}" is neither a command name, a number nor a string`);
    this.take(j, { kind: 'atom', value: word });
    return null;
  }

  private take(end: number, arg: Arg | null): void {
    this.lineBytes += end;
    this.buf = this.buf.subarray(end);
    if (arg) this.args.push(arg);
  }

  /** Waits for more, unless the line is already over its bound. */
  private wait(seen: number): 'more' | Frame | null {
    if (this.lineBytes + seen > this.maxLine) return this.fail(null);
    return 'more';
  }

  /** The rest of the line is dropped; then `message` (null: too long) is the frame. */
  private fail(message: string | null): null {
    this.mode = { kind: 'skip-line', frame: message === null ? { kind: 'too-long' } : { kind: 'syntax', message } };
    return null;
  }

  private quoted(start: number): Frame | null | 'more' {
    const out: number[] = [];
    for (let j = start + 1; j < this.buf.length; j++) {
      const b = this.buf[j];
      if (b === DQUOTE) {
        this.take(j + 1, { kind: 'string', value: Buffer.from(out) });
        return null;
      }
      if (b === CR || b === LF || b === 0) return this.fail('a quoted string cannot hold CR, LF or NUL (send a literal)');
      if (b === BACKSLASH) {
        if (j + 1 >= this.buf.length) break;
        const e = this.buf[++j];
        if (e !== DQUOTE && e !== BACKSLASH) return this.fail('only \\" and \\\\ are escapes in a quoted string');
        out.push(e);
      } else out.push(b);
      if (this.lineBytes + j > this.maxLine) return this.fail(null);
    }
    return this.wait(this.buf.length);
  }

  private literal(start: number): Frame | null | 'more' {
    const lf = this.buf.indexOf(LF, start);
    if (lf < 0) return this.buf.length - start > 24 ? this.fail('bad literal') : this.wait(this.buf.length);
    const head = /^\{(\d{1,10})(\+?)\}\r?$/.exec(this.buf.toString('latin1', start, lf));
    if (!head) return this.fail('a literal is {N+} CRLF and N octets');
    const n = Number(head[1]);
    this.take(lf + 1, null);
    if (n > this.maxLiteral || this.tooBig !== null) {
      // Dropped as it arrives; the command is refused when its line ends.
      this.tooBig = Math.max(n, this.tooBig ?? 0);
      this.mode = { kind: 'skip-literal', left: n };
    } else {
      this.mode = { kind: 'literal', need: n, chunks: [], got: 0 };
    }
    return null;
  }
}
