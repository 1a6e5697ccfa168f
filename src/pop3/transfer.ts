/**
 * Multi-line responses (RFC 1939 3), streaming and without I/O: a message goes through these
 * chunk by chunk, so a large message is never held in memory whole.
 */

const LF = 10;
const CR = 13;
const DOT = 46;
const DOT_BUF = Buffer.from('.');
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');

/**
 * RFC 1939 3: "If any line of the multi-line response begins with the termination octet, the
 * line is 'byte-stuffed' by pre-pending the termination octet to that line". The response ends
 * with CRLF "." CRLF; a message whose last line lacks its CRLF gets one, or the terminator
 * would be glued to it.
 */
export class DotStuffer {
  private atLineStart = true;
  private last = -1;

  push(chunk: Buffer): Buffer {
    if (!chunk.length) return chunk;
    const parts: Buffer[] = [];
    let from = 0;
    // The first line start in this chunk: 0 when the previous chunk ended a line.
    let i = this.atLineStart ? 0 : chunk.indexOf(LF) + 1;
    if (i === 0 && !this.atLineStart) i = chunk.length;
    while (i < chunk.length) {
      if (chunk[i] === DOT) {
        parts.push(chunk.subarray(from, i), DOT_BUF);
        from = i;
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) break;
      i = lf + 1;
    }
    this.atLineStart = chunk[chunk.length - 1] === LF;
    this.last = chunk[chunk.length - 1];
    if (!parts.length) return chunk;
    parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** The end of the response: ".\r\n", preceded by CRLF when the data did not end a line. */
  end(): Buffer {
    return this.last === -1 || this.last === LF ? TERMINATOR : CRLF_TERMINATOR;
  }
}

/**
 * RFC 1939 7 TOP msg n: "the headers of the message, the blank line separating the headers
 * from the body, and then the number of lines of the indicated message's body". Push the
 * message's bytes; each call returns what to send, and `done` turns true once nothing more is
 * wanted (the caller then stops reading the file). A message without a blank line is all header.
 */
export class TopFilter {
  private inHeader = true;
  /** Octets of the current line so far (header part), and whether its only octet is CR. */
  private lineLen = 0;
  private lineIsCr = false;
  private bodyLinesLeft: number;
  done = false;

  constructor(bodyLines: number) {
    this.bodyLinesLeft = bodyLines;
  }

  push(chunk: Buffer): Buffer {
    if (this.done || !chunk.length) return chunk.subarray(0, 0);
    let i = 0;
    while (this.inHeader && i < chunk.length) {
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        if (this.lineLen === 0 && chunk.length - i === 1 && chunk[i] === CR) this.lineIsCr = true;
        else this.lineIsCr = false;
        this.lineLen += chunk.length - i;
        return chunk;
      }
      const n = this.lineLen + (lf - i);
      const blank = n === 0 || (n === 1 && (this.lineLen === 1 ? this.lineIsCr : chunk[i] === CR));
      this.lineLen = 0;
      this.lineIsCr = false;
      i = lf + 1;
      if (blank) {
        this.inHeader = false;
        if (this.bodyLinesLeft === 0) {
          this.done = true;
          return chunk.subarray(0, i);
        }
      }
    }
    while (i < chunk.length) {
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) return chunk;
      i = lf + 1;
      if (--this.bodyLinesLeft === 0) {
        this.done = true;
        return chunk.subarray(0, i);
      }
    }
    return chunk;
  }
}
