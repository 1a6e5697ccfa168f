/**
 * 8-bit to 7-bit conversion of a MIME message (RFC 6152 3, RFC 1652 3): a message with 8-bit
 * octets must not go to a server that does not offer 8BITMIME. Like sendmail (MIME8to7) and
 * Postfix, Correo converts instead of bouncing: every leaf part whose body holds 8-bit octets
 * is re-encoded, text/* as quoted-printable (RFC 2045 6.7), anything else as base64 (6.8),
 * with its Content-Transfer-Encoding header replaced. multipart/* and message/rfc822 are
 * walked (RFC 2046 5.1, 5.2: their own encoding stays 7bit/8bit, so their contents are
 * converted instead). What cannot be converted is a permanent failure, 5.6.3:
 * 8-bit octets in a header (that is RFC 6532 content and needs SMTPUTF8, not 8BITMIME), or
 * in a part that already claims base64/quoted-printable.
 * Preamble and epilogue text of a multipart (never shown to a reader) have 8-bit octets
 * replaced by "?".
 */

export type Conversion = { ok: true; message: Buffer } | { ok: false; status: string; text: string };

class Unconvertible extends Error {}

const CRLF = '\r\n';
const MAX_DEPTH = 50;

function has8bit(b: Buffer, from = 0, to = b.length): boolean {
  for (let i = from; i < to; i++) if (b[i] > 127) return true;
  return false;
}

interface Entity {
  /** Header block including the CRLF that ends its last field (empty when there is none). */
  header: string;
  body: Buffer;
  /** The empty line between them, when present. */
  separator: boolean;
}

function splitEntity(b: Buffer): Entity {
  if (b.subarray(0, 2).toString('latin1') === CRLF) return { header: '', body: b.subarray(2), separator: true };
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) {
    if (has8bit(b)) throw new Unconvertible('8-bit octets in a header');
    return { header: b.toString('latin1'), body: Buffer.alloc(0), separator: false };
  }
  if (has8bit(b, 0, end)) throw new Unconvertible('8-bit octets in a header (needs SMTPUTF8)');
  return { header: b.subarray(0, end + 2).toString('latin1'), body: b.subarray(end + 4), separator: true };
}

/** Unfolded value of the first field named `name`, or null. */
function field(header: string, name: string): string | null {
  const re = new RegExp(`^${name}[ \\t]*:(.*(?:\\r\\n[ \\t].*)*)`, 'im');
  const m = re.exec(header);
  return m ? m[1].replace(/\r\n/g, '').trim() : null;
}

/** Removes every field named `name` (with its continuation lines). */
function dropField(header: string, name: string): string {
  return header.replace(new RegExp(`^${name}[ \\t]*:.*\\r\\n(?:[ \\t].*\\r\\n)*`, 'gim'), '');
}

/** type/subtype (lower case) and parameters of a Content-Type value (RFC 2045 5.1). */
export function parseContentType(v: string | null, fallback: string): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (!v) return { type: fallback, params };
  const m = /^\s*([^\s\/;]+)\s*\/\s*([^\s;]+)/.exec(v);
  const type = m ? `${m[1]}/${m[2]}`.toLowerCase() : fallback;
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  for (let p = re.exec(v); p; p = re.exec(v)) params.set(p[1].toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]);
  return { type, params };
}

/** RFC 2045 6.7 quoted-printable of text whose line breaks are CRLF (kept as hard breaks). */
export function quotedPrintable(body: Buffer): Buffer {
  const out: string[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf('\r\n', start);
    const last = end < 0;
    if (last) end = body.length;
    out.push(qpLine(body.subarray(start, end)));
    if (last) break;
    out.push(CRLF);
    start = end + 2;
  }
  return Buffer.from(out.join(''), 'latin1');
}

const HEX = '0123456789ABCDEF';

function qpLine(line: Buffer): string {
  let out = '';
  let col = 0;
  for (let i = 0; i < line.length; i++) {
    const b = line[i];
    const lastOfLine = i === line.length - 1;
    // Rule 3: white space at the end of a line is encoded; rules 1-2: the rest literal if safe.
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !lastOfLine);
    const tok = literal ? String.fromCharCode(b) : `=${HEX[b >> 4]}${HEX[b & 15]}`;
    // Rule 5: at most 76 characters per line, a soft break "=" counting as one.
    if (col + tok.length > 75 && !(lastOfLine && col + tok.length <= 76)) {
      out += '=\r\n';
      col = 0;
    }
    out += tok;
    col += tok.length;
  }
  return out;
}

function base64Lines(body: Buffer): Buffer {
  const b64 = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(lines.join(CRLF) + CRLF, 'latin1');
}

function convertEntity(b: Buffer, defaultType: string, depth: number): Buffer {
  if (!has8bit(b)) return b;
  if (depth > MAX_DEPTH) throw new Unconvertible(`MIME nesting deeper than ${MAX_DEPTH}`);
  const e = splitEntity(b);
  const { type, params } = parseContentType(field(e.header, 'Content-Type'), defaultType);
  const cte = (field(e.header, 'Content-Transfer-Encoding') ?? '7bit').toLowerCase();
  const rebuild = (header: string, body: Buffer) => Buffer.concat([Buffer.from(header + (e.separator ? CRLF : ''), 'latin1'), body]);

  if (type.startsWith('multipart/') && params.get('boundary')) {
    const body = convertMultipart(e.body, params.get('boundary')!, type === 'multipart/digest' ? 'message/rfc822' : 'text/plain', depth);
    return rebuild(cte === '8bit' || cte === 'binary' ? dropField(e.header, 'Content-Transfer-Encoding') : e.header, body);
  }
  if (type === 'message/rfc822' || type === 'message/global') {
    if (cte === 'base64' || cte === 'quoted-printable') throw new Unconvertible(`8-bit octets in a ${type} part encoded as ${cte}`);
    return rebuild(dropField(e.header, 'Content-Transfer-Encoding'), convertEntity(e.body, 'text/plain', depth + 1));
  }
  if (!has8bit(e.body)) return b;
  if (cte === 'base64' || cte === 'quoted-printable') throw new Unconvertible(`8-bit octets in a part that claims ${cte}`);
  const text = type.startsWith('text/');
  const header = dropField(e.header, 'Content-Transfer-Encoding') + `Content-Transfer-Encoding: ${text ? 'quoted-printable' : 'base64'}\r\n`;
  return rebuild(header, text ? quotedPrintable(e.body) : base64Lines(e.body));
}

/** RFC 2046 5.1.1: delimiter lines are CRLF "--" boundary, at the start of the body too. */
function convertMultipart(body: Buffer, boundary: string, partType: string, depth: number): Buffer {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const starts: number[] = [];
  for (let at = 0; at <= body.length; ) {
    const i = body.indexOf(delim, at);
    if (i < 0) break;
    if (i === 0 || (body[i - 1] === 10 && body[i - 2] === 13)) starts.push(i);
    at = i + delim.length;
  }
  if (!starts.length) return scrub(body);
  const out: Buffer[] = [scrub(body.subarray(0, starts[0]))];
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k];
    const lineEnd = body.indexOf('\r\n', s);
    const delimLine = body.subarray(s, lineEnd < 0 ? body.length : lineEnd + 2);
    out.push(delimLine);
    const closing = body.subarray(s + delim.length, s + delim.length + 2).toString('latin1') === '--';
    const contentStart = s + delimLine.length;
    if (closing || lineEnd < 0) {
      out.push(scrub(body.subarray(contentStart)));
      return Buffer.concat(out);
    }
    // The CRLF before the next delimiter belongs to the delimiter, not to the part.
    const next = k + 1 < starts.length ? starts[k + 1] - 2 : body.length;
    const content = body.subarray(contentStart, Math.max(contentStart, next));
    out.push(convertEntity(content, partType, depth + 1));
    if (k + 1 < starts.length) out.push(Buffer.from(CRLF));
  }
  return Buffer.concat(out);
}

function scrub(b: Buffer): Buffer {
  if (!has8bit(b)) return b;
  const c = Buffer.from(b);
  for (let i = 0; i < c.length; i++) if (c[i] > 127) c[i] = 0x3f;
  return c;
}

/** The message converted to 7 bits, or why it cannot be (to bounce with 5.6.3). */
export function to7bit(message: Buffer): Conversion {
  try {
    return { ok: true, message: convertEntity(message, 'text/plain', 0) };
  } catch (e) {
    if (e instanceof Unconvertible) return { ok: false, status: '5.6.3', text: `conversion to 7 bit for a server without 8BITMIME not possible: ${e.message}` };
    throw e;
  }
}
