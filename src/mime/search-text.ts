import type { MimePart, MimeTree } from './types.js';
import { bodyText, decodeEncodedWords } from './text.js';
import { decodeTransfer } from './transfer.js';
import { paramValue } from './params.js';
import { parseAddressFields } from './address.js';
import { byteStringToText } from './charset.js';
import type { IndexedText } from '../store/search.js';

/**
 * The text IMAP SEARCH compares (RFC 9051 6.4.4: substring, case-insensitive, on decoded text)
 * and the full-text index holds (src/store/search.ts). One fold for both sides, so that an
 * indexed substring test and the matcher agree.
 */

/**
 * Upper case, compatibility decomposition (NFKD), combining marks dropped, white space runs
 * made one space: "mañana" and "MANANA" fold alike, "ß" meets "SS", "ﬁ" meets "fi". Dovecot's
 * i;unicode-casemap search folds accents away the same way.
 */
export function foldSearch(s: string): string {
  return s.toUpperCase().normalize('NFKD').replace(/\p{M}+/gu, '').replace(/\s+/g, ' ');
}

/**
 * SEARCH BODY text: the part headers (file names are searchable) and the text of every text/*
 * part with its transfer encoding undone and its charset decoded, encapsulated messages
 * included. Other parts (images, archives) are not text and are not searched, as in Dovecot.
 */
export function searchableBody(tree: MimeTree, raw: Buffer): string {
  const out: string[] = [];
  const walk = (p: MimePart, depth: number) => {
    if (depth > 50) return;
    if (depth > 0 && p.hs < p.bs) out.push(decodeEncodedWords(raw.toString('latin1', p.hs, p.bs)));
    if (p.parts) {
      for (const c of p.parts) walk(c, depth + 1);
      return;
    }
    if (p.message) {
      walk(p.message, depth + 1);
      return;
    }
    if (p.type !== 'text') return;
    const body = raw.subarray(p.bs, p.be);
    let data: Buffer = body;
    try {
      data = decodeTransfer(body, p.encoding, false) ?? body;
    } catch {
      data = body;
    }
    out.push(bodyText(data, paramValue(p.params, 'charset')));
  };
  walk(tree.root, 0);
  return out.join('\n');
}

/** Past this many characters of folded body text a body is indexed as incomplete (always a candidate). */
export const MAX_INDEXED_CHARS = 4 * 1024 * 1024;

/** Address fields whose parsed addresses ("name local@domain") are indexed beside the raw text. */
const ADDRESS_FIELDS = ['from', 'sender', 'replyTo', 'to', 'cc', 'bcc'] as const;

/**
 * What the full-text index keeps of a message (src/store/search.ts), folded by foldSearch:
 * - header: the decoded top-level header as SEARCH TEXT reads it; when it has 8-bit octets,
 *   also each field decoded on its own (SEARCH SUBJECT/HEADER decode one field, and raw 8-bit
 *   text is read as UTF-8 or windows-1252 per decoded run); then the parsed addresses, so an
 *   address search finds "local@domain" however the field wrote it (comments, quoting).
 * - body: searchableBody.
 */
export function indexText(tree: MimeTree, raw: Buffer): IndexedText {
  const rawHeader = raw.toString('latin1', 0, headerLength(raw));
  const header: string[] = [decodeEncodedWords(rawHeader)];
  if (/[\x80-\xff]/.test(rawHeader)) for (const v of fieldValues(rawHeader)) header.push(decodeEncodedWords(v));
  const env = tree.root.env ?? {};
  for (const f of ADDRESS_FIELDS) {
    for (const a of parseAddressFields(env[f])) {
      if (a.group !== undefined) continue;
      const name = a.name === null ? '' : decodeEncodedWords(a.name);
      header.push(`${name} ${byteStringToText((a.mailbox ?? '') + (a.host === null ? '' : '@' + a.host))}`);
    }
  }
  const body = foldSearch(searchableBody(tree, raw));
  const complete = body.length <= MAX_INDEXED_CHARS;
  return { header: foldSearch(header.join('\n')), body: complete ? body : '', complete };
}

/** Where SEARCH TEXT's header ends (src/imap/message.ts headerEnd): past the first empty line. */
function headerLength(raw: Buffer): number {
  if (raw.length >= 2 && raw[0] === 13 && raw[1] === 10) return 2;
  const i = raw.indexOf('\r\n\r\n');
  return i < 0 ? raw.length : i + 4;
}

/** The values of the header's fields (continuation lines joined), as raw octets. */
function fieldValues(rawHeader: string): string[] {
  const out: string[] = [];
  for (const line of rawHeader.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1] += ' ' + line.trim();
    else {
      const colon = line.indexOf(':');
      if (colon > 0) out.push(line.slice(colon + 1).trim());
    }
  }
  return out;
}
