/**
 * POP3 command-line framing (no I/O): bytes in, complete lines out.
 *
 * RFC 1939 3: commands end with CRLF. RFC 2449 4: a command line, CRLF included, is at most
 * 255 octets. RFC 5034 4 keeps that limit for AUTH with its initial response; the session
 * raises `max` while it reads SASL continuation responses.
 *
 * Decisions (test/pop3/framing.test.ts):
 * - A line ending in a bare LF is taken as a line (the CR, when present, is removed). POP3
 *   clients send no message data, so there is nothing to smuggle, and `nc` users get answers.
 * - An overlong line is reported as `too-long` as soon as `max` octets without LF have been
 *   seen, and its bytes are dropped up to the next LF without being buffered. Every further
 *   `max` octets of the same line are reported as `too-long-more`, so a flood with no line
 *   ends is counted as errors and the session can hang up. The frames reported depend only on
 *   the bytes, never on how they were cut into packets.
 */

export type Frame =
  | { kind: 'line'; line: Buffer }
  | { kind: 'too-long' }
  | { kind: 'too-long-more' };

const LF = 10;
const CR = 13;
const EMPTY = Buffer.alloc(0);

/** RFC 2449 4: 255 octets including CRLF. */
export const MAX_COMMAND_LINE = 255;

export class LineReader {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Bytes in [pos, scanned) are known to hold no LF. */
  private scanned = 0;
  /** Inside an overlong line: octets of it seen so far, and frames already reported for it. */
  private discarding = false;
  private lineCount = 0;
  private reported = 0;
  /** The overlong line's LF has been seen; it ends once its frames are out. */
  private lineEnded = false;

  constructor(public max: number = MAX_COMMAND_LINE) {}

  /** Octets received and not yet returned as frames. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** Part of a line is here (or an overlong one is being skipped): the client is mid-command. */
  get partial(): boolean {
    return this.discarding || this.pos < this.buf.length;
  }

  push(chunk: Buffer): void {
    if (!chunk.length) return;
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.scanned = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.scanned = Math.max(0, this.scanned - this.pos);
    }
    this.pos = 0;
  }

  /** Drops everything buffered (RFC 2595 4: nothing sent before the TLS handshake counts). */
  discard(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.scanned = 0;
    this.discarding = false;
    this.lineCount = 0;
    this.reported = 0;
    this.lineEnded = false;
  }

  /** The next complete frame, or null when more input is needed. */
  next(): Frame | null {
    for (;;) {
      if (this.discarding) {
        const due = Math.floor(this.lineCount / this.max);
        if (this.reported < due) {
          this.reported++;
          return this.reported === 1 ? { kind: 'too-long' } : { kind: 'too-long-more' };
        }
        if (this.lineEnded) {
          this.discarding = false;
          continue;
        }
        const lf = this.buf.indexOf(LF, this.pos);
        if (lf >= 0) {
          this.lineCount += lf - this.pos;
          this.pos = lf + 1;
          this.lineEnded = true;
          continue;
        }
        this.lineCount += this.buf.length - this.pos;
        this.pos = this.buf.length;
        if (this.reported < Math.floor(this.lineCount / this.max)) continue;
        return null;
      }

      const lf = this.buf.indexOf(LF, Math.max(this.pos, this.scanned));
      if (lf >= 0) {
        const n = lf - this.pos; // octets before LF; with the LF the line is n + 1 long
        if (n < this.max) {
          const end = n > 0 && this.buf[lf - 1] === CR ? lf - 1 : lf;
          const line = this.buf.subarray(this.pos, end);
          this.pos = lf + 1;
          return { kind: 'line', line };
        }
        this.startDiscarding(n, true);
        this.pos = lf + 1;
        continue;
      }
      const waiting = this.buf.length - this.pos;
      if (waiting >= this.max) {
        this.startDiscarding(waiting, false);
        this.pos = this.buf.length;
        continue;
      }
      this.scanned = this.buf.length;
      return null;
    }
  }

  private startDiscarding(count: number, ended: boolean): void {
    this.discarding = true;
    this.lineCount = count;
    this.reported = 0;
    this.lineEnded = ended;
  }
}
