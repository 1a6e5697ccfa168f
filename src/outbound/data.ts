/**
 * The DATA encoder (no I/O): stored message in, SMTP mail data out.
 *
 * RFC 5321 4.5.2: a line that starts with "." gets one more "." (transparency).
 * RFC 5321 4.1.1.4: the data ends with CRLF "." CRLF; a message that does not end in CRLF
 * gets one first.
 * RFC 5321 2.3.8: lines end in CRLF only. Messages from our SMTP intake are already CRLF,
 * but a DSN, a local program or a file from elsewhere may hold a bare CR or bare LF. Each one
 * goes out as CRLF, so the next server sees exactly the line ends we see, and no bare LF "."
 * sequence can be taken by a lenient receiver as the end of the data (SMTP smuggling).
 *
 * Works on runs between line ends (Buffer.indexOf); a clean message passes through as a few
 * large sub-arrays of the input, copied only where a "." or a line end must be added.
 */

const CR = 13;
const LF = 10;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT1 = Buffer.from('.');
const END = Buffer.from('.\r\n');

export class DotStuffer {
  /** At the start of a line, as the receiver will see it. */
  private lineStart = true;
  /** The previous chunk ended in CR: CRLF or a bare CR, decided by the next octet. */
  private pendingCr = false;

  push(c: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = c.length;
    let i = 0;
    if (this.pendingCr && n) {
      out.push(CRLF);
      this.pendingCr = false;
      this.lineStart = true;
      if (c[0] === LF) i = 1;
    }
    let run = i;
    let nextCr = c.indexOf(CR, i);
    let nextLf = c.indexOf(LF, i);
    while (i < n) {
      if (this.lineStart) {
        this.lineStart = false;
        if (c[i] === DOT) {
          if (i > run) out.push(c.subarray(run, i));
          out.push(DOT1);
          run = i;
        }
      }
      if (nextCr >= 0 && nextCr < i) nextCr = c.indexOf(CR, i);
      if (nextLf >= 0 && nextLf < i) nextLf = c.indexOf(LF, i);
      const j = nextCr < 0 ? nextLf : nextLf < 0 ? nextCr : Math.min(nextCr, nextLf);
      if (j < 0) break;
      this.lineStart = true;
      if (c[j] === CR) {
        if (j + 1 === n) {
          // Undecided until the next chunk: hold the CR back.
          if (j > run) out.push(c.subarray(run, j));
          run = n;
          this.pendingCr = true;
          this.lineStart = false;
          i = n;
          break;
        }
        if (c[j + 1] === LF) {
          i = j + 2; // a proper CRLF stays inside the run
          continue;
        }
      }
      // A bare CR or a bare LF: end the line properly.
      if (j > run) out.push(c.subarray(run, j));
      out.push(CRLF);
      i = run = j + 1;
    }
    if (run < n) out.push(c.subarray(run, n));
    return out;
  }

  /** The octets that end the data: a CRLF if the last line is open, then "." CRLF. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    if (this.pendingCr || !this.lineStart) out.push(CRLF);
    this.pendingCr = false;
    this.lineStart = true;
    out.push(END);
    return out;
  }
}

/** A whole message as SMTP data, terminator included. */
export function dotStuff(message: Buffer): Buffer {
  const s = new DotStuffer();
  return Buffer.concat([...s.push(message), ...s.end()]);
}

/** True when the octets hold anything outside 7-bit ASCII (RFC 6152 needs 8BITMIME for it). */
export function has8bit(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] > 127) return true;
  return false;
}

/** Every bare CR and bare LF made a CRLF (what DotStuffer sends), so a signature covers the octets sent. */
export function toCrlf(b: Buffer): Buffer {
  let clean = true;
  for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) if (i === 0 || b[i - 1] !== CR) { clean = false; break; }
  if (clean) for (let i = b.indexOf(CR); i >= 0; i = b.indexOf(CR, i + 1)) if (b[i + 1] !== LF) { clean = false; break; }
  if (clean) return b;
  return Buffer.from(b.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}
