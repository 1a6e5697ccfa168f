/**
 * SMTP replies as a client reads them (RFC 5321 4.2), parsed without I/O.
 *
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
 *
 * Decisions:
 * - A line may end in a bare LF (some servers do); the reply is the same.
 * - Every line of one reply must carry the same code; a line that does not start with three
 *   digits is a protocol error (the connection is then useless: we cannot tell where the next
 *   reply starts).
 * - Bounded: a line over MAX_LINE octets or a reply over MAX_LINES lines is an error, so a
 *   hostile server cannot make us buffer without end.
 */

export interface Reply {
  code: number;
  /** RFC 3463 enhanced status code when the server gave one ("5.1.1"), else null. */
  enhanced: string | null;
  /** Text of each line, without code, separator and enhanced code. */
  lines: string[];
}

export const MAX_LINE = 4096;
export const MAX_LINES = 200;

export class ReplyError extends Error {}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/** "250 2.1.0 Ok" as one line for logs and Diagnostic-Code (RFC 3464 2.3.6). */
export function replyText(r: Reply): string {
  const first = r.lines.join(' ').trim();
  return `${r.code}${r.enhanced ? ' ' + r.enhanced : ''}${first ? ' ' + first : ''}`;
}

/** Enhanced code of a reply, or one derived from its class (RFC 3463: X.0.0). */
export function statusOf(r: Reply): string {
  if (r.enhanced && r.enhanced[0] === String(r.code)[0]) return r.enhanced;
  return `${String(r.code)[0]}.0.0`;
}

/** Feeds bytes, yields complete replies. Keep one per connection. */
export class ReplyParser {
  private buf = '';
  private pending: { code: number; lines: string[] } | null = null;

  /** Octets received but not yet part of a complete reply (e.g. after a STARTTLS 220). */
  get buffered(): number {
    return this.buf.length + (this.pending ? 1 : 0);
  }

  push(chunk: Buffer | string): Reply[] {
    // latin1 keeps one char per octet, so lengths are octet counts; the text is decoded below.
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: Reply[] = [];
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl < 0) {
        if (this.buf.length > MAX_LINE) throw new ReplyError(`reply line longer than ${MAX_LINE} octets`);
        return out;
      }
      const raw = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      if (raw.length > MAX_LINE) throw new ReplyError(`reply line longer than ${MAX_LINE} octets`);
      const r = this.line(Buffer.from(raw, 'latin1').toString('utf8'));
      if (r) out.push(r);
    }
  }

  private line(l: string): Reply | null {
    const m = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(l);
    if (!m) throw new ReplyError(`not an SMTP reply line: ${JSON.stringify(l.slice(0, 80))}`);
    const code = Number(m[1]);
    if (this.pending && this.pending.code !== code) throw new ReplyError(`reply code changed from ${this.pending.code} to ${code} inside one reply`);
    const p = (this.pending ??= { code, lines: [] });
    p.lines.push(m[3]);
    if (p.lines.length > MAX_LINES) throw new ReplyError(`reply longer than ${MAX_LINES} lines`);
    if (m[2] === '-') return null;
    this.pending = null;
    // RFC 2034 3: the enhanced code starts every line's text; keep it once, strip it from all.
    const e = ENHANCED.exec(p.lines[0]);
    const enhanced = e && e[1] === String(code)[0] ? `${e[1]}.${e[2]}.${e[3]}` : null;
    const lines = enhanced ? p.lines.map((t) => t.replace(ENHANCED, '')) : p.lines;
    return { code, enhanced, lines };
  }
}

/** What an EHLO reply says the server can do (RFC 5321 4.1.1.1). */
export interface Extensions {
  pipelining: boolean;
  eightBitMime: boolean;
  smtputf8: boolean;
  dsn: boolean;
  starttls: boolean;
  enhancedStatusCodes: boolean;
  /** RFC 1870 SIZE: the limit, 0 for "no limit given", null when SIZE is not offered. */
  size: number | null;
  /** RFC 4954 AUTH mechanisms, upper-case. */
  auth: string[];
}

export function parseEhlo(r: Reply): Extensions {
  const ext: Extensions = { pipelining: false, eightBitMime: false, smtputf8: false, dsn: false, starttls: false, enhancedStatusCodes: false, size: null, auth: [] };
  // The first line is the greeting's domain; extensions follow, one per line.
  for (const line of r.lines.slice(1)) {
    const [kw, ...params] = line.trim().split(/\s+/);
    switch (kw.toUpperCase()) {
      case 'PIPELINING': ext.pipelining = true; break;
      case '8BITMIME': ext.eightBitMime = true; break;
      case 'SMTPUTF8': ext.smtputf8 = true; break;
      case 'DSN': ext.dsn = true; break;
      case 'STARTTLS': ext.starttls = true; break;
      case 'ENHANCEDSTATUSCODES': ext.enhancedStatusCodes = true; break;
      case 'SIZE': ext.size = /^\d+$/.test(params[0] ?? '') ? Number(params[0]) : 0; break;
      case 'AUTH': ext.auth.push(...params.map((p) => p.toUpperCase())); break;
    }
  }
  return ext;
}
