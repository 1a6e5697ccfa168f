/**
 * The parts of a stored message that FETCH needs without a MIME parse: where the header ends,
 * header fields by name (RFC 5322 2.2), and the section texts of RFC 9051 6.4.5.
 */

/** Offset of the body: just past the first empty line, or the end when there is none. */
export function headerEnd(raw: Buffer): number {
  if (raw.length >= 2 && raw[0] === 13 && raw[1] === 10) return 2;
  const i = raw.indexOf('\r\n\r\n');
  return i < 0 ? raw.length : i + 4;
}

/** Header fields as raw lines (continuations included), with their lower-case names. */
export function headerFields(header: Buffer): { name: string; raw: Buffer }[] {
  const out: { name: string; raw: Buffer }[] = [];
  let start = 0;
  const n = header.length;
  let pos = 0;
  while (pos < n) {
    let eol = header.indexOf(10, pos);
    if (eol < 0) eol = n - 1;
    const next = eol + 1;
    const cont = next < n && (header[next] === 32 || header[next] === 9);
    if (!cont) {
      const line = header.subarray(start, next);
      if (line.length > 2 || (line.length && line[0] !== 13 && line[0] !== 10)) {
        const colon = line.indexOf(58);
        const name = colon > 0 ? line.subarray(0, colon).toString('latin1').trim().toLowerCase() : '';
        out.push({ name, raw: line });
      }
      start = next;
    }
    pos = next;
  }
  return out;
}

/** HEADER.FIELDS / HEADER.FIELDS.NOT: the chosen fields, then the empty line. */
export function pickFields(header: Buffer, names: string[], not: boolean): Buffer {
  const want = new Set(names.map((x) => x.toLowerCase()));
  const parts: Buffer[] = [];
  for (const f of headerFields(header)) {
    if (!f.name) continue;
    if (want.has(f.name) !== not) parts.push(f.raw[f.raw.length - 1] === 10 ? f.raw : Buffer.concat([f.raw, Buffer.from('\r\n')]));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** A literal may not carry NUL (RFC 9051 4.3); like Dovecot, 0x80 stands in for it in BODY[]. */
export function withoutNul(b: Buffer): Buffer {
  if (b.indexOf(0) < 0) return b;
  const c = Buffer.from(b);
  for (let i = c.indexOf(0); i >= 0; i = c.indexOf(0, i + 1)) c[i] = 0x80;
  return c;
}

