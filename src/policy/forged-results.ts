/**
 * RFC 8601 section 5: a border MTA that adds Authentication-Results MUST NOT let an incoming
 * Authentication-Results field that claims its own authserv-id through, or a sender could
 * write "dkim=pass" for us. Such fields are renamed to X-Original-Authentication-Results
 * (kept for a human to read, invisible to MUAs and filters that trust the field by its name);
 * those of other authserv-ids are passed as they are (RFC 8601 5 leaves them to the reader).
 *
 * A streaming filter over the message as it arrives: only the header block is looked at, one
 * field at a time (a field is held until the next line shows it is complete); the body goes
 * through untouched and is never held. No I/O here.
 */

const NAME = /^authentication-results[ \t]*:/i;
const RENAMED = 'X-Original-';
/** A field longer than this is decided on what has arrived (it cannot be a normal A-R field). */
const MAX_FIELD = 64 * 1024;

/** The authserv-id of an Authentication-Results field value (RFC 8601 2.2), or null. */
export function authservId(value: string): string | null {
  let v = value.replace(/\r?\n/g, '');
  // CFWS before the id: white space and (possibly nested) comments.
  for (;;) {
    v = v.replace(/^[ \t]+/, '');
    if (!v.startsWith('(')) break;
    let depth = 0;
    let i = 0;
    for (; i < v.length; i++) {
      if (v[i] === '\\') i++;
      else if (v[i] === '(') depth++;
      else if (v[i] === ')' && --depth === 0) break;
    }
    if (i >= v.length) return null;
    v = v.slice(i + 1);
  }
  const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(v);
  if (quoted) return quoted[1].replace(/\\(.)/g, '$1');
  const token = /^[^\s;()"]+/.exec(v);
  return token ? token[0] : null;
}

/** Whether a raw header field (name, colon, value, folding kept) claims `hostname` as authserv-id. */
export function claimsOurId(field: string, hostname: string): boolean {
  if (!NAME.test(field)) return false;
  const id = authservId(field.slice(field.indexOf(':') + 1));
  // An id we cannot read in a field of that name is treated as ours: renaming is harmless.
  return id === null || id.toLowerCase() === hostname.toLowerCase();
}

export class ForgedResultsFilter {
  private inHeader = true;
  /** The current line, not yet ended by LF. */
  private line: Buffer[] = [];
  private lineLength = 0;
  /** The current header field, complete lines only. */
  private field: Buffer[] = [];
  private fieldLength = 0;
  /** Fields renamed so far, for the log. */
  renamed = 0;

  constructor(private readonly hostname: string) {}

  /** Bytes of the message in, bytes to store out (possibly fewer now, the rest later). */
  push(chunk: Buffer): Buffer {
    if (!this.inHeader) return chunk;
    const out: Buffer[] = [];
    let start = 0;
    // Line ends found by indexOf, not a byte-at-a-time loop: this runs on every inbound message.
    for (let i = chunk.indexOf(0x0a); i >= 0 && this.inHeader; i = chunk.indexOf(0x0a, start)) {
      this.line.push(chunk.subarray(start, i + 1));
      start = i + 1;
      const line = Buffer.concat(this.line);
      this.line = [];
      this.lineLength = 0;
      this.takeLine(line, out);
    }
    const rest = chunk.subarray(start);
    if (!this.inHeader) {
      out.push(rest);
    } else if (rest.length) {
      this.line.push(rest);
      this.lineLength += rest.length;
      // A header "line" without end that grows without bound: give up on the header.
      if (this.lineLength + this.fieldLength > MAX_FIELD) this.endHeader(out);
    }
    return Buffer.concat(out);
  }

  /** The message is complete: whatever is held. */
  flush(): Buffer {
    const out: Buffer[] = [];
    if (this.inHeader) this.endHeader(out);
    return Buffer.concat(out);
  }

  private takeLine(line: Buffer, out: Buffer[]): void {
    const first = line[0];
    if (first === 0x20 || first === 0x09) {
      // RFC 5322 2.2.3: a folded continuation of the current field.
      this.field.push(line);
      this.fieldLength += line.length;
      if (this.fieldLength > MAX_FIELD) this.emitField(out);
      return;
    }
    this.emitField(out);
    if (line.length <= 2 && (line.equals(Buffer.from('\r\n')) || line.equals(Buffer.from('\n')))) {
      out.push(line);
      this.inHeader = false;
      return;
    }
    this.field = [line];
    this.fieldLength = line.length;
  }

  private emitField(out: Buffer[]): void {
    if (!this.field.length) return;
    const raw = Buffer.concat(this.field);
    this.field = [];
    this.fieldLength = 0;
    if (claimsOurId(raw.toString('latin1'), this.hostname)) {
      this.renamed++;
      out.push(Buffer.from(RENAMED, 'latin1'));
    }
    out.push(raw);
  }

  private endHeader(out: Buffer[]): void {
    this.emitField(out);
    out.push(...this.line);
    this.line = [];
    this.lineLength = 0;
    this.inHeader = false;
  }
}
