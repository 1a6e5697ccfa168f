/**
 * Command-line framing for SMTP (no I/O): bytes in, complete lines out.
 *
 * RFC 5321 2.3.8: lines end with CRLF, and nothing else. RFC 5321 4.5.3.1.4 caps a command
 * line at 512 octets including CRLF; service extensions may raise it (RFC 1870, 3461 add
 * parameters), so the cap is `max_line_length` from the config (at least 512).
 *
 * Decisions (see the tests in test/smtp/lines.test.ts):
 * - A line that ends in a bare LF is reported as `bare-lf` and never executed: a command
 *   whose terminator was not CRLF is exactly what SMTP smuggling relies on, and answering it
 *   with an error (instead of waiting forever for a CR) tells a broken client what is wrong.
 * - An overlong line is reported once as `too-long` as soon as it passes the limit, then its
 *   bytes are discarded up to the next LF without being buffered; every further `max` octets
 *   of the same line are reported as `too-long-more` so that the session can count them as
 *   errors and hang up on a flood with no line ends. The frames depend only on the bytes,
 *   never on how they were cut into packets (test/fuzz/smtp.test.ts).
 */

export type Frame =
  | { kind: 'line'; line: Buffer }
  | { kind: 'bare-lf' }
  | { kind: 'too-long' }
  | { kind: 'too-long-more' };

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

/** Pull-based so that an async session can take one command at a time and stop anywhere. */
export class LineFramer {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Where the search for LF resumes (bytes before it are known to hold none). */
  private scanned = 0;
  /** Inside an overlong line: octets dropped since the last report; -1 when not discarding. */
  private discarding = -1;
  /** The overlong line's LF has been seen: it is over once its reports are out. */
  private lineEnded = false;

  constructor(private readonly max: number) {}

  /** Octets received and not yet returned as frames. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** Part of a line is here (or an overlong one is being skipped): the client is mid-command. */
  get partial(): boolean {
    return this.discarding >= 0 || this.pos < this.buf.length;
  }

  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.scanned = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.scanned -= this.pos;
    }
    this.pos = 0;
  }

  /** The next complete frame, or null when more input is needed. */
  next(): Frame | null {
    const buf = this.buf;
    for (;;) {
      if (this.discarding >= this.max) {
        this.discarding -= this.max;
        return { kind: 'too-long-more' };
      }
      if (this.lineEnded) {
        this.discarding = -1;
        this.lineEnded = false;
      }
      if (this.pos >= buf.length) return null;
      const i = this.pos;
      const lf = buf.indexOf(LF, Math.max(i, this.scanned));
      if (this.discarding >= 0) {
        // Every octet of the line counts, wherever the packets were cut.
        this.discarding += (lf < 0 ? buf.length : lf) - i;
        this.pos = lf < 0 ? buf.length : lf + 1;
        this.lineEnded = lf >= 0;
        continue;
      }
      if (lf < 0) {
        // RFC 5321 4.5.3.1.4: the limit counts the CRLF, so `max` octets without an LF
        // can no longer become a valid line.
        if (buf.length - i >= this.max) {
          this.discarding = buf.length - i - this.max;
          this.pos = buf.length;
          return { kind: 'too-long' };
        }
        this.scanned = buf.length;
        return null;
      }
      this.pos = lf + 1;
      if (lf + 1 - i > this.max) {
        // Reported as if it had arrived without its LF: the same frames for any cut.
        this.discarding = lf - i - this.max;
        this.lineEnded = true;
        return { kind: 'too-long' };
      }
      if (lf > i && buf[lf - 1] === CR) return { kind: 'line', line: buf.subarray(i, lf - 1) };
      return { kind: 'bare-lf' };
    }
  }

  /** Hands back the bytes after the last frame (the start of DATA) and empties the framer. */
  takeRest(): Buffer {
    const rest = this.buf.subarray(this.pos);
    this.reset();
    return rest;
  }

  /** Forgets everything buffered (STARTTLS: pipelined plaintext is never executed). */
  reset(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.scanned = 0;
    this.discarding = -1;
    this.lineEnded = false;
  }
}
