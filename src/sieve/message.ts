import { parseAddressList } from '../mime/address.js';
import { byteStringToText } from '../mime/charset.js';
import { parseMessage } from '../mime/parse.js';
import { decodeEncodedWords } from '../mime/text.js';
import type { MimeTree } from '../mime/types.js';

/**
 * The message as a script sees it: the top-level header as an editable list of fields
 * (editheader, RFC 5293, changes what later tests and actions see), the body bytes, and the
 * MIME tree from the project's parser (body test, RFC 5173). Header values are ByteStrings
 * (one char per octet) until a test asks for text.
 */
export interface Field {
  /** Name as written. */
  name: string;
  /** Lower-cased name. */
  key: string;
  /** Raw value after the colon, folding kept, no line end. */
  raw: string;
}

export class MessageView {
  readonly tree: MimeTree;
  fields: Field[];
  edited = false;
  /** Offset of the body in the original bytes. */
  private readonly bodyStart: number;

  constructor(readonly original: Buffer) {
    this.tree = parseMessage(original);
    this.bodyStart = this.tree.root.bs;
    this.fields = splitFields(original.subarray(0, this.tree.root.bs).toString('latin1'));
  }

  get size(): number {
    return this.original.length;
  }

  /** Raw values of a field, in order (top first). */
  raw(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.raw);
    return out;
  }

  /** RFC 5228 5.7: values unfolded, RFC 2047 decoded, surrounding white space removed. */
  text(name: string): string[] {
    return this.raw(name).map(fieldText);
  }

  exists(name: string): boolean {
    const key = name.toLowerCase();
    return this.fields.some((f) => f.key === key);
  }

  /** The current message bytes (with header edits). */
  bytes(): Buffer {
    if (!this.edited) return this.original;
    const head = this.fields.map((f) => `${f.name}:${f.raw}\r\n`).join('') + '\r\n';
    return Buffer.concat([Buffer.from(head, 'latin1'), this.original.subarray(this.bodyStart)]);
  }

  headerSize(): number {
    let n = 2;
    for (const f of this.fields) n += f.name.length + f.raw.length + 3;
    return n;
  }
}

export function fieldText(raw: string): string {
  return decodeEncodedWords(raw).trim();
}

/** Splits a header block into fields; lines without a colon are skipped, as the MIME parser does. */
function splitFields(head: string): Field[] {
  const out: Field[] = [];
  const lines = head.split(/\r?\n/);
  let cur: Field | null = null;
  for (const line of lines) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t')) {
      if (cur !== null) cur.raw += '\r\n' + line;
      continue;
    }
    const c = line.indexOf(':');
    if (c <= 0) {
      cur = null;
      continue;
    }
    const name = line.slice(0, c).replace(/[ \t]+$/, '');
    cur = { name, key: name.toLowerCase(), raw: line.slice(c + 1) };
    out.push(cur);
  }
  return out;
}

export interface SimpleAddress {
  /** local@domain, or the local part alone when there is no domain. */
  all: string;
  local: string;
  domain: string | null;
}

/** The addresses of header values (RFC 5228 5.1), group markers left out, as text. */
export function headerAddresses(raws: string[]): SimpleAddress[] {
  const out: SimpleAddress[] = [];
  for (const raw of raws) {
    for (const a of parseAddressList(raw)) {
      if (a.group !== undefined || a.mailbox === null) continue;
      const local = byteStringToText(a.mailbox);
      const domain = a.host === null ? null : byteStringToText(a.host);
      out.push({ all: domain === null ? local : `${local}@${domain}`, local, domain });
    }
  }
  return out;
}

/** An envelope address (already without angle brackets) split at its last "@". */
export function envelopeAddress(s: string): SimpleAddress {
  const at = s.lastIndexOf('@');
  if (at < 0) return { all: s, local: s, domain: null };
  return { all: s, local: s.slice(0, at), domain: s.slice(at + 1) };
}
