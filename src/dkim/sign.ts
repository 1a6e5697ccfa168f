import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { relaxedBody, relaxedHeader, splitMessage } from './canon.js';

/**
 * DKIM signing (RFC 6376 5), c=relaxed/relaxed, with rsa-sha256 (RFC 6376 3.3.1) or
 * ed25519-sha256 (RFC 8463 3: PureEdDSA over the SHA-256 hash of the signed data).
 */

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: KeyObject;
}

/**
 * Fields signed when present (RFC 6376 5.4.1's list, plus the MIME fields, whose change
 * would change how the body is read). Each instance present is signed, bottom-up (5.4.2).
 */
export const SIGNED_FIELDS = [
  'from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-id', 'content-description',
  'in-reply-to', 'references', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post',
];

/**
 * Fields named once more than they occur ("oversigning", RFC 6376 8.15): a From or Subject
 * added on the way then breaks the signature instead of being shown to the reader.
 */
const OVERSIGNED = ['from', 'subject', 'to', 'date', 'message-id'];

export function algorithmOf(key: KeyObject): DkimAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  throw new Error(`DKIM keys must be RSA or Ed25519, not ${key.asymmetricKeyType}`);
}

/** Folds a tag list into lines of at most ~76 characters (FWS, RFC 6376 3.2). */
function foldTags(tags: string[]): string {
  let out = 'DKIM-Signature:';
  let col = out.length;
  for (const t of tags) {
    // b= starts its own line, so the signature folds evenly below it.
    if (col + 1 + t.length > 76 || t === 'b=') {
      out += '\r\n\t';
      col = 1;
    } else {
      out += ' ';
      col += 1;
    }
    // h= may itself be long: break it after colons.
    if (t.length > 70 && t.startsWith('h=')) {
      const parts = t.split(':');
      out += parts[0];
      col += parts[0].length;
      for (const p of parts.slice(1)) {
        if (col + 1 + p.length > 76) {
          out += ':\r\n\t';
          col = 1;
        } else {
          out += ':';
          col += 1;
        }
        out += p;
        col += p.length;
      }
      continue;
    }
    out += t;
    col += t.length;
  }
  return out;
}

function foldBase64(b64: string, startCol: number): string {
  let out = '';
  let col = startCol;
  for (let i = 0; i < b64.length; ) {
    const room = 76 - col;
    out += b64.slice(i, i + room);
    i += room;
    if (i < b64.length) {
      out += '\r\n\t';
      col = 1;
    }
  }
  return out;
}

/** The DKIM-Signature field (CRLF-terminated) to put on top of `message`. */
export function dkimSign(message: Buffer, key: DkimKey, now = new Date()): string {
  const { fields, bodyStart } = splitMessage(message);
  const bh = createHash('sha256').update(relaxedBody(message.subarray(bodyStart))).digest('base64');

  // RFC 6376 5.4.2: for a name signed n times, the last n instances, bottom-up.
  const byName = new Map<string, string[]>();
  for (const f of fields) {
    const n = f.name.toLowerCase();
    if (SIGNED_FIELDS.includes(n)) byName.set(n, [...(byName.get(n) ?? []), f.raw]);
  }
  const h: string[] = [];
  const signedData: string[] = [];
  for (const name of SIGNED_FIELDS) {
    const inst = byName.get(name) ?? [];
    for (let i = inst.length - 1; i >= 0; i--) {
      h.push(name);
      signedData.push(relaxedHeader(inst[i]));
    }
    // A name listed with no instance left signs "absent" (RFC 6376 5.4.2).
    if (OVERSIGNED.includes(name) && inst.length) h.push(name);
  }
  const algorithm = algorithmOf(key.privateKey);
  const tags = [
    'v=1;', `a=${algorithm};`, 'c=relaxed/relaxed;', `d=${key.domain};`, `s=${key.selector};`,
    `t=${Math.floor(now.getTime() / 1000)};`, `h=${h.join(':')};`, `bh=${bh};`, 'b=',
  ];
  const unsigned = foldTags(tags);
  // RFC 6376 3.7: the signature field itself, b= empty, canonicalized, without its final CRLF.
  const data = signedData.join('') + relaxedHeader(unsigned).replace(/\r\n$/, '');
  const signature =
    algorithm === 'rsa-sha256'
      ? cryptoSign('sha256', Buffer.from(data, 'utf8'), key.privateKey)
      : cryptoSign(null, createHash('sha256').update(data, 'utf8').digest(), key.privateKey);
  const lastLine = unsigned.slice(unsigned.lastIndexOf('\n') + 1);
  return `${unsigned}${foldBase64(signature.toString('base64'), lastLine.length)}\r\n`;
}
