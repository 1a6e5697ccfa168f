import { parseAddressFields, type Address } from './address.js';
import { imapHumanString, imapNString, imapNStringNoLf, imapString, toBytes } from './imap-string.js';
import { subParts } from './section.js';
import type { MimeParams, MimePart, MimeTree } from './types.js';

export {
  binary, filterHeaderFields, findPart, parseSectionSpec, partialRange, section, sectionBytes,
  SectionSyntaxError, type BinaryResult, type SectionResult, type SectionSpec, type SectionText,
} from './section.js';
export { literal, toBytes } from './imap-string.js';

/**
 * IMAP's views of a stored MIME tree: ENVELOPE (RFC 3501 7.4.2 / RFC 9051 7.5.2), BODY and
 * BODYSTRUCTURE. Everything comes from the tree: no message file is read.
 * Results are bytes (8-bit header octets go out as they came, inside literals).
 */

/** RFC 3501 7.4.2 ENVELOPE of the top-level message. */
export function envelope(tree: MimeTree): Buffer {
  return toBytes(envelopeText(tree.root));
}

/**
 * BODY (extensible = false) or BODYSTRUCTURE (extensible = true) of the message.
 * `imap4rev2`: render message/global like message/rfc822, as RFC 9051's grammar allows;
 * IMAP4rev1's grammar (RFC 3501) only has MESSAGE/RFC822, so there it is a basic part.
 */
export function bodyStructure(tree: MimeTree, extensible: boolean, imap4rev2 = false): Buffer {
  return toBytes(bodyText(tree.root, extensible, imap4rev2));
}

/**
 * The envelope of a message root, as latin1 text.
 * Date, Message-ID, In-Reply-To: the raw value, line breaks removed. Subject: for people
 * (folding and white space runs become one space). Sender and Reply-To default to From when
 * absent or empty (RFC 3501 7.4.2). Encoded words are not decoded: that is the client's job.
 */
export function envelopeText(msg: MimePart): string {
  const env = msg.env ?? {};
  const from = parseAddressFields(env.from);
  const sender = parseAddressFields(env.sender);
  const replyTo = parseAddressFields(env.replyTo);
  return '(' + [
    imapNStringNoLf(env.date),
    env.subject === undefined ? 'NIL' : imapHumanString(env.subject),
    addressList(from),
    addressList(sender.length > 0 ? sender : from),
    addressList(replyTo.length > 0 ? replyTo : from),
    addressList(parseAddressFields(env.to)),
    addressList(parseAddressFields(env.cc)),
    addressList(parseAddressFields(env.bcc)),
    imapNStringNoLf(env.inReplyTo),
    imapNStringNoLf(env.messageId),
  ].join(' ') + ')';
}

/**
 * RFC 3501 7.4.2 address structures. A host is never NIL for a mailbox (NIL host means a group
 * marker), so what is missing is filled in as Dovecot does: MISSING_MAILBOX, MISSING_DOMAIN,
 * and SYNTAX_ERROR for an address that could not be read (an unterminated `<`).
 */
function addressList(list: Address[]): string {
  if (list.length === 0) return 'NIL';
  let s = '(';
  for (const a of list) {
    if (a.group === 'start') {
      s += '(NIL NIL ' + imapNString(a.mailbox) + ' NIL)';
      continue;
    }
    if (a.group === 'end') {
      s += '(NIL NIL NIL NIL)';
      continue;
    }
    const mailbox = a.mailbox ?? 'MISSING_MAILBOX';
    const host = a.syntaxError ? 'SYNTAX_ERROR' : a.host ?? 'MISSING_DOMAIN';
    s += '(' + (a.name === null ? 'NIL' : imapHumanString(a.name)) + ' ' + imapNString(a.adl) + ' ' +
      imapString(mailbox) + ' ' + imapString(host) + ')';
  }
  return s + ')';
}

function bodyText(part: MimePart, ext: boolean, rev2: boolean): string {
  if (part.parts !== undefined) {
    // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    let s = '(';
    for (const child of subParts(part)) s += bodyText(child, ext, rev2);
    s += ' ' + imapString(part.subtype);
    if (ext) {
      s += ' ' + params(part.params, false) + ' ' + disposition(part) + ' ' + language(part) + ' ' +
        imapNStringNoLf(part.location);
    }
    return s + ')';
  }
  const isText = part.type === 'text';
  // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
  let s = '(' + imapString(part.type) + ' ' + imapString(part.subtype) + ' ' + params(part.params, isText) + ' ' +
    imapNStringNoLf(part.id) + ' ' + imapNStringNoLf(part.description) + ' ' +
    imapString(part.encoding ?? '7bit') + ' ' + (part.be - part.bs);
  if (isText) {
    s += ' ' + part.lines;
  } else if (part.message !== undefined && (part.subtype === 'rfc822' || rev2)) {
    s += ' ' + envelopeText(part.message) + ' ' + bodyText(part.message, ext, rev2) + ' ' + part.lines;
  }
  if (ext) {
    // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc ...]]]
    s += ' ' + imapNStringNoLf(part.md5) + ' ' + disposition(part) + ' ' + language(part) + ' ' +
      imapNStringNoLf(part.location);
  }
  return s + ')';
}

/**
 * body-fld-param. A text part without charset says charset us-ascii, its default
 * (RFC 2046 4.1.2), as Dovecot and most servers do.
 */
function params(list: MimeParams, isText: boolean): string {
  let hasCharset = false;
  const items: string[] = [];
  for (const [name, value] of list) {
    if (name.length === 7 && name.toLowerCase() === 'charset') hasCharset = true;
    items.push(imapString(name) + ' ' + imapString(value));
  }
  if (isText && !hasCharset) items.push('"charset" "us-ascii"');
  return items.length === 0 ? 'NIL' : '(' + items.join(' ') + ')';
}

function disposition(part: MimePart): string {
  const d = part.disposition;
  if (d === undefined) return 'NIL';
  return '(' + imapString(d.type) + ' ' + params(d.params, false) + ')';
}

function language(part: MimePart): string {
  const l = part.language;
  if (l === undefined || l.length === 0) return 'NIL';
  return '(' + l.map(imapString).join(' ') + ')';
}
