/**
 * The DATA decoder (no I/O): SMTP message text in, stored message out.
 *
 * RFC 5321 4.1.1.4: the mail data ends with a line holding a single period, i.e. the
 * sequence CRLF "." CRLF, where the first CRLF ends the last line of the message (the CRLF
 * that ends the DATA command line counts for an empty message).
 * RFC 5321 4.5.2: a line that starts with a period and has other characters loses that
 * first period (transparency, "dot-stuffing").
 *
 * Decisions, because RFC 5321 2.3.8 forbids bare CR and LF but senders still send them and
 * SMTP smuggling (CVE-2023-51766 and kin) exploits servers that disagree on line ends:
 * - ONLY CRLF "." CRLF ends the message. `LF . LF`, `CRLF . LF`, `LF . CRLF`, `CR . CR`...
 *   are message text, never an end and never the start of a second transaction.
 * - A bare LF and a bare CR are each stored as CRLF, so the stored message is always CRLF
 *   (what POP3/IMAP serve and what the SMTP client dot-stuffs later).
 * - Only a real CRLF starts a "line" for the two rules above: a period after a bare LF or
 *   bare CR is kept as text (it cannot be the end marker, so it is not treated as stuffing).
 * - Lines longer than RFC 5321 4.5.3.1.6's 1000 octets are accepted and stored unchanged:
 *   refusing them loses real mail (long HTML lines are common) and the size limit already
 *   bounds memory and disk; nothing is folded or cut.
 *
 * The decoder works on whole runs between line ends with Buffer.indexOf and returns
 * sub-arrays of the input where no change is needed, so a clean message is not copied.
 */

const CR = 13;
const LF = 10;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

const enum S {
  /** At the start of a line (after a real CRLF). */
  LineStart,
  /** Saw "." at a line start; not yet known whether it is stuffing or the end marker. */
  Dot,
  /** Saw "." CR at a line start. */
  DotCr,
  /** Inside a line. */
  Middle,
  /** Inside a line, the previous chunk ended with a CR. */
  MiddleCr,
}

export interface DecodeResult {
  /** Decoded message octets from this chunk, in order (may be empty). */
  out: Buffer[];
  /** True when the end marker was seen; `rest` then holds the octets after it. */
  done: boolean;
  rest: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class DataDecoder {
  private s: S = S.LineStart;
  private finished = false;
  /** Message octets produced so far. */
  size = 0;

  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): DecodeResult {
    if (this.finished) return { out: [], done: true, rest: chunk };
    const out: Buffer[] = [];
    let size = 0;
    const emit = (b: Buffer) => {
      if (b.length) {
        out.push(b);
        size += b.length;
      }
    };
    const n = chunk.length;
    let i = 0;
    // Start of the run of input octets that passes through unchanged.
    let run = 0;
    // Cached position of the next CR at or after i (-1: none left; -2: not searched).
    let nextCr = -2;
    let s = this.s;
    while (i < n) {
      switch (s) {
        case S.LineStart:
          if (chunk[i] === DOT) {
            emit(chunk.subarray(run, i));
            i++;
            run = i;
            s = S.Dot;
          } else {
            s = S.Middle;
          }
          break;
        case S.Dot: {
          const b = chunk[i];
          if (b === CR) {
            i++;
            run = i;
            s = S.DotCr;
          } else if (b === LF) {
            // "." then a bare LF: text, the dot is kept (see the decisions above).
            emit(DOT_CRLF);
            i++;
            run = i;
            s = S.Middle;
          } else {
            // RFC 5321 4.5.2: drop the stuffed period; the octet starts the line's text.
            s = S.Middle;
          }
          break;
        }
        case S.DotCr:
          if (chunk[i] === LF) {
            this.finished = true;
            this.s = S.LineStart;
            this.size += size;
            return { out, done: true, rest: chunk.subarray(i + 1) };
          }
          // "." then a bare CR: kept as a line holding a period.
          emit(DOT_CRLF);
          run = i;
          s = S.Middle;
          break;
        case S.MiddleCr:
          if (chunk[i] === LF) {
            emit(CRLF);
            i++;
            run = i;
            s = S.LineStart;
          } else {
            emit(CRLF);
            run = i;
            s = S.Middle;
          }
          break;
        case S.Middle: {
          const lf = chunk.indexOf(LF, i);
          if (nextCr === -2 || (nextCr >= 0 && nextCr < i)) nextCr = chunk.indexOf(CR, i);
          const cr = nextCr;
          if (cr >= 0 && (lf < 0 || cr < lf)) {
            if (cr === n - 1) {
              emit(chunk.subarray(run, cr));
              i = n;
              run = n;
              s = S.MiddleCr;
            } else if (chunk[cr + 1] === LF) {
              i = cr + 2;
              s = S.LineStart;
            } else {
              // Bare CR inside a line.
              emit(chunk.subarray(run, cr));
              emit(CRLF);
              i = cr + 1;
              run = i;
            }
          } else if (lf >= 0) {
            // Bare LF (a CR before it would have been found first).
            emit(chunk.subarray(run, lf));
            emit(CRLF);
            i = lf + 1;
            run = i;
          } else {
            i = n;
          }
          break;
        }
      }
    }
    // Hold back what is undecided: the stuffing dot, "." CR, or a trailing CR.
    if (s === S.Middle || s === S.LineStart) emit(chunk.subarray(run, n));
    this.s = s;
    this.size += size;
    return { out, done: false, rest: EMPTY };
  }
}

/** Convenience for tests and small inputs: the whole decoded message, or null if unfinished. */
export function decodeAll(input: Buffer): { message: Buffer; rest: Buffer } | null {
  const d = new DataDecoder();
  const r = d.push(input);
  return r.done ? { message: Buffer.concat(r.out), rest: r.rest } : null;
}
