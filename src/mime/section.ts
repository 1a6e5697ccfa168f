import { decodeTransfer, isKnownEncoding, TransferDecodeError } from './transfer.js';
import type { MimePart, MimeTree } from './types.js';

/**
 * IMAP section specifications (RFC 3501 6.4.5, RFC 9051 6.4.5) resolved against a stored
 * MIME tree: to a byte range of the message file, or, for HEADER.FIELDS, to a header range
 * and the field names to keep. Part numbers:
 *  - the parts of a multipart are numbered from 1; a message/rfc822 (or message/global) part's
 *    sub-parts are those of its encapsulated message;
 *  - a message whose body is not multipart has one part, 1: its body (so "1.MIME" of a
 *    single-part message is that message's header, as Dovecot answers);
 *  - a multipart with no parts (no usable boundary) has one empty text/plain part, as its
 *    BODYSTRUCTURE shows.
 */

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  /** Part numbers, each >= 1; empty for the whole message. */
  part: number[];
  text?: SectionText;
  /** Field names for HEADER.FIELDS[.NOT]. */
  fields?: string[];
}

export type SectionResult =
  | { kind: 'range'; start: number; end: number }
  | { kind: 'fields'; start: number; end: number; fields: string[]; not: boolean };

export class SectionSyntaxError extends Error {}

/**
 * Parses the text between "[" and "]" of BODY[...] / BINARY[...], e.g. `1.2.HEADER.FIELDS
 * (From "Subject")`. Field names may be atoms or quoted strings (RFC 3501 header-fld-name).
 */
export function parseSectionSpec(text: string): SectionSpec {
  const spec: SectionSpec = { part: [] };
  let i = 0;
  while (i < text.length) {
    const m = /^([1-9][0-9]{0,8})(\.|$)/.exec(text.slice(i));
    if (m === null) break;
    spec.part.push(Number(m[1]));
    i += m[0].length;
    if (m[2] === '') return spec;
  }
  const rest = text.slice(i);
  if (rest === '') {
    if (text.endsWith('.')) throw new SectionSyntaxError(`section "${text}" ends with a dot`);
    return spec;
  }
  const head = /^(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)(?=$| )/i.exec(rest);
  if (head === null) throw new SectionSyntaxError(`unknown section text "${rest}"`);
  const kind = head[1].toUpperCase() as SectionText;
  if (kind === 'MIME' && spec.part.length === 0) throw new SectionSyntaxError('MIME needs a part number');
  spec.text = kind;
  const after = rest.slice(head[0].length);
  if (kind === 'HEADER.FIELDS' || kind === 'HEADER.FIELDS.NOT') {
    const list = /^ \((.*)\)$/s.exec(after);
    if (list === null) throw new SectionSyntaxError(`${kind} needs a parenthesised field list`);
    spec.fields = splitFieldList(list[1]);
    if (spec.fields.length === 0) throw new SectionSyntaxError(`${kind} needs at least one field name`);
  } else if (after !== '') {
    throw new SectionSyntaxError(`unexpected "${after}" after ${kind}`);
  }
  return spec;
}

function splitFieldList(s: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"()]+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
    if (re.lastIndex >= s.length) break;
  }
  if (s.slice(re.lastIndex).trim() !== '') throw new SectionSyntaxError(`bad header field list "${s}"`);
  return out;
}

function emptyPart(at: number): MimePart {
  return { hs: at, bs: at, be: at, type: 'text', subtype: 'plain', params: [], lines: 0 };
}

/**
 * The numbered parts of an entity: a multipart's children (or one empty part when it has
 * none), otherwise the entity itself.
 */
export function subParts(entity: MimePart): MimePart[] {
  if (entity.parts !== undefined) return entity.parts.length > 0 ? entity.parts : [emptyPart(entity.be)];
  return [entity];
}

/** The part a part number designates, or null when there is none. */
export function findPart(tree: MimeTree, path: number[]): MimePart | null {
  let node: MimePart = tree.root;
  for (let i = 0; i < path.length; i++) {
    // Below the top, a message part's numbers are those of the message it encapsulates.
    const kids = i > 0 && node.message !== undefined ? subParts(node.message) : subParts(node);
    const next = kids[path[i] - 1];
    if (next === undefined) return null;
    node = next;
  }
  return node;
}

/**
 * Resolves a section against the tree. Returns null when the part does not exist, or when
 * HEADER/TEXT/HEADER.FIELDS name a part that is not a message/rfc822 (RFC 3501 6.4.5); the
 * IMAP layer answers those with an empty string.
 */
export function section(tree: MimeTree, spec: SectionSpec | string): SectionResult | null {
  const s = typeof spec === 'string' ? parseSectionSpec(spec) : spec;
  if (s.part.length === 0) {
    const root = tree.root;
    switch (s.text) {
      case undefined: return { kind: 'range', start: 0, end: tree.size };
      case 'MIME': return null;
      default: return messageText(root, s);
    }
  }
  const node = findPart(tree, s.part);
  if (node === null) return null;
  switch (s.text) {
    case undefined: return { kind: 'range', start: node.bs, end: node.be };
    case 'MIME': return { kind: 'range', start: node.hs, end: node.bs };
    default:
      if (node.message === undefined) return null;
      return messageText(node.message, s);
  }
}

function messageText(msg: MimePart, s: SectionSpec): SectionResult {
  switch (s.text) {
    case 'TEXT': return { kind: 'range', start: msg.bs, end: msg.be };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return { kind: 'fields', start: msg.hs, end: msg.bs, fields: s.fields ?? [], not: s.text === 'HEADER.FIELDS.NOT' };
    default: return { kind: 'range', start: msg.hs, end: msg.bs };
  }
}

/**
 * The header fields of `header` (a whole header block) whose names are (or, with `not`, are
 * not) in `names`, each with its continuation lines, in their order, then the empty line that
 * ends a header (RFC 3501 6.4.5). Names compare case-insensitively; white space before the
 * colon is allowed (RFC 5322 4.5). Lines without a colon are not fields and never included.
 */
export function filterHeaderFields(header: Buffer, names: string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const chunks: Buffer[] = [];
  let keep = false;
  let pos = 0;
  const n = header.length;
  while (pos < n) {
    const eol = header.indexOf(10, pos);
    const next = eol < 0 ? n : eol + 1;
    let end = eol < 0 ? n : eol;
    if (end > pos && header[end - 1] === 13) end--;
    if (end === pos) break; // the empty line: end of the header
    const c = header[pos];
    if (c !== 0x20 && c !== 0x09) {
      let colon = -1;
      for (let i = pos; i < end; i++) if (header[i] === 0x3a) { colon = i; break; }
      if (colon < 0) {
        keep = false;
      } else {
        let ne = colon;
        while (ne > pos && (header[ne - 1] === 0x20 || header[ne - 1] === 0x09)) ne--;
        keep = wanted.has(header.toString('latin1', pos, ne).toLowerCase()) !== not;
      }
    }
    if (keep) {
      chunks.push(header.subarray(pos, end));
      chunks.push(CRLF);
    }
    pos = next;
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

const CRLF = Buffer.from('\r\n');

/** The bytes of a resolved section, given the message bytes. */
export function sectionBytes(buf: Buffer, r: SectionResult): Buffer {
  const slice = buf.subarray(r.start, r.end);
  return r.kind === 'range' ? slice : filterHeaderFields(slice, r.fields, r.not);
}

export type BinaryResult =
  | { ok: true; data: Buffer; /** Content was transfer-decoded or holds NUL: send as literal8. */ binary: boolean }
  | { ok: false; code: 'UNKNOWN-CTE' | 'PARSE'; message: string };

/**
 * BINARY[part] (RFC 3516 4.1, RFC 9051 6.4.5): the part's body with its Content-Transfer-
 * Encoding undone. An empty part number is the whole message, unchanged. A nonexistent part
 * gives null. An encoding we do not know gives UNKNOWN-CTE (IMAP: NO [UNKNOWN-CTE]); content
 * that is not valid in its encoding gives PARSE (NO [PARSE]).
 */
export function binary(tree: MimeTree, buf: Buffer, part: number[]): BinaryResult | null {
  if (part.length === 0) return { ok: true, data: buf.subarray(0, tree.size), binary: hasNul(buf) };
  const node = findPart(tree, part);
  if (node === null) return null;
  const raw = buf.subarray(node.bs, node.be);
  if (!isKnownEncoding(node.encoding)) {
    return { ok: false, code: 'UNKNOWN-CTE', message: `unknown Content-Transfer-Encoding "${node.encoding}"` };
  }
  try {
    const data = decodeTransfer(raw, node.encoding, true)!;
    return { ok: true, data, binary: data !== raw || hasNul(data) };
  } catch (e) {
    if (e instanceof TransferDecodeError) return { ok: false, code: 'PARSE', message: e.message };
    throw e;
  }
}

function hasNul(b: Buffer): boolean {
  return b.indexOf(0) >= 0;
}

/** RFC 3501 6.4.5 partial fetch `<origin.count>` applied to a range. */
export function partialRange(start: number, end: number, origin: number, count?: number): [number, number] {
  const s = Math.min(end, start + origin);
  const e = count === undefined ? end : Math.min(end, s + count);
  return [s, e];
}
