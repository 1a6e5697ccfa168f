/**
 * RFC 5228 8.1 lexical tokens: identifiers, tags, numbers with K/M/G quantifiers, quoted and
 * multi-line strings, the punctuation of 8.2, with white space, hash and bracket comments
 * skipped. One forward pass, no regex over the whole input, so a 10 MB script costs its length.
 */

export type TokenKind = 'ident' | 'tag' | 'num' | 'str' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** ident/tag: the name (tag without ':'), lower-cased; punct: the character; str: the value. */
  value: string;
  /** num: the value with its quantifier applied. */
  num?: number;
  line: number;
  column: number;
}

export class SieveSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, message: string) {
    super(message);
  }
}

const PUNCT = new Set([';', ',', '[', ']', '(', ')', '{', '}']);
const QUANT: Record<string, number> = { k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };
/** RFC 5228 2.4.1: numbers up to 2^32 - 1 must be supported; bigger ones are refused. */
const MAX_NUMBER = 4294967295;

export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly s: string) {}

  private err(message: string, line = this.line, column = this.i - this.lineStart + 1): never {
    throw new SieveSyntaxError(line, column, message);
  }

  /** Next token; throws SieveSyntaxError on bad input. */
  next(): Token {
    this.skipSpace();
    const s = this.s;
    const line = this.line;
    const column = this.i - this.lineStart + 1;
    if (this.i >= s.length) return { kind: 'eof', value: '', line, column };
    const c = s[this.i];
    if (PUNCT.has(c)) {
      this.i++;
      return { kind: 'punct', value: c, line, column };
    }
    if (c === '"') return { kind: 'str', value: this.quoted(), line, column };
    if (c === ':') {
      this.i++;
      const name = this.identifier();
      if (name === '') this.err('expected a tag name after ":"');
      return { kind: 'tag', value: name.toLowerCase(), line, column };
    }
    if (c >= '0' && c <= '9') return this.number(line, column);
    if (isIdentStart(c)) {
      const name = this.identifier();
      if (name.toLowerCase() === 'text' && s[this.i] === ':') {
        this.i++;
        return { kind: 'str', value: this.multiline(line, column), line, column };
      }
      return { kind: 'ident', value: name.toLowerCase(), line, column };
    }
    return this.err(`unexpected character ${JSON.stringify(c)}`);
  }

  private newline(at: number): void {
    this.line++;
    this.lineStart = at + 1;
  }

  private skipSpace(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === '\n') {
        this.newline(this.i);
        this.i++;
      } else if (c === ' ' || c === '\t' || c === '\r') {
        this.i++;
      } else if (c === '#') {
        const e = s.indexOf('\n', this.i);
        this.i = e < 0 ? s.length : e;
      } else if (c === '/' && s[this.i + 1] === '*') {
        this.bracketComment();
      } else {
        return;
      }
    }
  }

  private bracketComment(): void {
    const line = this.line;
    const column = this.i - this.lineStart + 1;
    const e = this.s.indexOf('*/', this.i + 2);
    if (e < 0) this.err('unterminated comment', line, column);
    this.countLines(this.i, e);
    this.i = e + 2;
  }

  private countLines(from: number, to: number): void {
    for (let j = this.s.indexOf('\n', from); j >= 0 && j < to; j = this.s.indexOf('\n', j + 1)) this.newline(j);
  }

  private identifier(): string {
    const start = this.i;
    const s = this.s;
    if (this.i < s.length && isIdentStart(s[this.i])) {
      this.i++;
      while (this.i < s.length && (isIdentStart(s[this.i]) || (s[this.i] >= '0' && s[this.i] <= '9'))) this.i++;
    }
    return s.slice(start, this.i);
  }

  private number(line: number, column: number): Token {
    const s = this.s;
    const start = this.i;
    while (this.i < s.length && s[this.i] >= '0' && s[this.i] <= '9') this.i++;
    let n = Number(s.slice(start, this.i));
    const q = QUANT[(s[this.i] ?? '').toLowerCase()];
    if (q !== undefined) {
      n *= q;
      this.i++;
    }
    if (this.i < s.length && isIdentStart(s[this.i])) this.err('bad number');
    if (!(n <= MAX_NUMBER)) this.err('number too large (more than 4294967295)', line, column);
    return { kind: 'num', value: s.slice(start, this.i), num: n, line, column };
  }

  /** RFC 5228 2.4.2: \" and \\ are escapes; any other backslash is dropped. */
  private quoted(): string {
    const s = this.s;
    const line = this.line;
    const column = this.i - this.lineStart + 1;
    this.i++;
    let out = '';
    let from = this.i;
    for (;;) {
      if (this.i >= s.length) this.err('unterminated string', line, column);
      const c = s[this.i];
      if (c === '"') break;
      if (c === '\\') {
        out += s.slice(from, this.i);
        this.i++;
        if (this.i >= s.length) continue;
        if (s[this.i] === '\n') this.newline(this.i);
        from = this.i;
        this.i++;
        continue;
      }
      if (c === '\n') this.newline(this.i);
      this.i++;
    }
    out += s.slice(from, this.i);
    this.i++;
    // RFC 5228 2.4.2: line breaks in quoted strings are CRLF whatever the script used
    return out.replace(/\r?\n/g, '\r\n');
  }

  /** RFC 5228 2.4.2 multi-line: "text:" then lines up to a lone ".", with dot-unstuffing. */
  private multiline(line: number, column: number): string {
    const s = this.s;
    while (s[this.i] === ' ' || s[this.i] === '\t') this.i++;
    if (s[this.i] === '#') {
      const e = s.indexOf('\n', this.i);
      this.i = e < 0 ? s.length : e;
    }
    if (s[this.i] === '\r') this.i++;
    if (s[this.i] !== '\n') this.err('expected a line break after "text:"');
    this.newline(this.i);
    this.i++;
    const lines: string[] = [];
    for (;;) {
      if (this.i >= s.length) this.err('unterminated multi-line string (no "." line)', line, column);
      let e = s.indexOf('\n', this.i);
      if (e < 0) e = s.length;
      let l = s.slice(this.i, e);
      if (l.endsWith('\r')) l = l.slice(0, -1);
      this.i = e < s.length ? e + 1 : e;
      if (e < s.length) this.newline(e);
      if (l === '.') break;
      lines.push(l.startsWith('.') ? l.slice(1) : l);
    }
    return lines.map((l) => l + '\r\n').join('');
  }
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
