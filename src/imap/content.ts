import { headerEnd } from './message.js';
import { bytesText, decodeWords, decoderFor, headerValues } from './text.js';

/**
 * The searchable text of a message body (RFC 9051 6.4.4 BODY/TEXT): every leaf part with its
 * transfer encoding undone (base64, quoted-printable) and, for text parts, its charset decoded.
 * Attachments are searched too (their decoded octets as text), as Dovecot does.
 */
export function bodyText(raw: Buffer, depth = 0): string {
  const he = headerEnd(raw);
  const header = raw.subarray(0, he).toString('latin1');
  const body = raw.subarray(he);
  const ct = (headerValues(header, 'content-type')[0] ?? 'text/plain').toLowerCase();
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(headerValues(header, 'content-type')[0] ?? '');
  if (ct.startsWith('multipart/') && boundary && depth < 20) {
    const b = boundary[1] ?? boundary[2];
    const parts: string[] = [];
    for (const p of splitParts(body, b)) {
      // Part headers are inside the body; their encoded words (file names) are searchable.
      parts.push(decodeWords(p.subarray(0, headerEnd(p)).toString('latin1')));
      parts.push(bodyText(p, depth + 1));
    }
    return parts.join('\n');
  }
  if (ct.startsWith('message/rfc822') && depth < 20) {
    const inner = body;
    const ih = headerEnd(inner);
    return bytesText(inner.subarray(0, ih)) + '\n' + bodyText(inner, depth + 1);
  }
  const cte = (headerValues(header, 'content-transfer-encoding')[0] ?? '').trim().toLowerCase();
  const decoded = cte === 'base64' ? Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64')
    : cte === 'quoted-printable' ? decodeQp(body) : body;
  const cs = /charset\s*=\s*"?([^\s;"]+)/i.exec(ct)?.[1];
  if (cs && ct.startsWith('text/')) {
    const d = decoderFor(cs);
    if (d) return d.decode(decoded);
  }
  return bytesText(decoded);
}

function splitParts(body: Buffer, boundary: string): Buffer[] {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const out: Buffer[] = [];
  let start = -1;
  let pos = 0;
  while (pos < body.length) {
    const i = body.indexOf(delim, pos);
    if (i < 0) break;
    const atLineStart = i === 0 || body[i - 1] === 10;
    if (!atLineStart) {
      pos = i + 1;
      continue;
    }
    if (start >= 0) out.push(body.subarray(start, Math.max(start, i - 2)));
    const close = body[i + delim.length] === 45 && body[i + delim.length + 1] === 45;
    if (close) return out;
    const eol = body.indexOf(10, i);
    if (eol < 0) break;
    start = eol + 1;
    pos = start;
  }
  if (start >= 0) out.push(body.subarray(start));
  return out;
}

export function decodeQp(b: Buffer): Buffer {
  const s = b.toString('latin1').replace(/=\r?\n/g, '');
  const out = Buffer.alloc(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out[o++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[o++] = s.charCodeAt(i) & 0xff;
  }
  return out.subarray(0, o);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The day of the Date header, as written (RFC 9051 6.4.4 SENT*: time and zone disregarded),
 * as UTC midnight in ms; null when there is none or it cannot be read.
 */
export function sentDate(header: string): number | null {
  const v = headerValues(header, 'date')[0];
  if (!v) return null;
  const p = parseRfc5322Date(v);
  return p ? Date.UTC(p.year, p.month, p.day) : null;
}

/** RFC 5322 3.3 (and obsolete forms); the parts as written plus the instant in ms. */
export function parseRfc5322Date(v: string): { year: number; month: number; day: number; ms: number } | null {
  const s = v.replace(/\([^)]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  const m = /^(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s+([+-]\d{4}|[A-Za-z]{1,5}))?)?/.exec(s);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2].toLowerCase());
  if (month < 0) return null;
  let year = Number(m[3]);
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  const day = Number(m[1]);
  if (day < 1 || day > 31) return null;
  const h = Number(m[4] ?? 0), mi = Number(m[5] ?? 0), sec = Number(m[6] ?? 0);
  if (h > 23 || mi > 59 || sec > 60) return null;
  let off = 0;
  const z = m[7];
  if (z && /^[+-]\d{4}$/.test(z)) off = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3)));
  else if (z) off = ({ UT: 0, GMT: 0, Z: 0, EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420 } as Record<string, number>)[z.toUpperCase()] ?? 0;
  const ms = Date.UTC(year, month, day, h, mi, sec) - off * 60000;
  return { year, month, day, ms };
}
