/**
 * DKIM canonicalization "relaxed" (RFC 6376 3.4.2, 3.4.4), without I/O.
 */

/** One header field as it appears in the message: name and raw text (continuations included, CRLF excluded). */
export interface HeaderField {
  name: string;
  raw: string;
}

/** Splits a message into its header fields and the offset where the body starts. */
export function splitMessage(message: Buffer): { fields: HeaderField[]; bodyStart: number } {
  let end = message.indexOf('\r\n\r\n');
  let bodyStart: number;
  if (message.subarray(0, 2).toString('latin1') === '\r\n') {
    end = 0;
    bodyStart = 2;
  } else if (end < 0) {
    end = message.length;
    bodyStart = message.length;
  } else {
    bodyStart = end + 4;
  }
  // utf8: RFC 6532 headers are signed as their octets; names are ASCII either way.
  const text = message.subarray(0, end).toString('utf8');
  const fields: HeaderField[] = [];
  for (const line of text.split('\r\n')) {
    if (!line) continue;
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1].raw += '\r\n' + line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a header field; nothing to sign
    fields.push({ name: line.slice(0, colon).trim(), raw: line });
  }
  return { fields, bodyStart };
}

/** RFC 6376 3.4.2: lower-case name, unfold, runs of WSP to one SP, no WSP around the colon or at the end. */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).trim().toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r\n(?=[ \t])/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}\r\n`;
}

/**
 * RFC 6376 3.4.4: runs of WSP within a line become one SP, WSP at line ends goes, empty lines
 * at the end go; a non-empty body ends in CRLF; an empty body stays empty.
 */
export function relaxedBody(body: Buffer): Buffer {
  const lines = body.toString('latin1').split('\r\n');
  // A body ending in CRLF splits into a last empty string: not a line of its own.
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (out.length && out[out.length - 1] === '') out.pop();
  return out.length ? Buffer.from(out.join('\r\n') + '\r\n', 'latin1') : Buffer.alloc(0);
}
