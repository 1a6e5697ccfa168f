import type { Logger } from '../log/logger.js';
import type { MessageEnvelope } from '../queue/types.js';
import type { DkimKeys } from '../dkim/keys.js';
import { dkimSign } from '../dkim/sign.js';
import { has8bit, toCrlf } from './data.js';
import { to7bit } from './eightbit.js';
import { needsSmtputf8 } from './client.js';
import type { Extensions } from './reply.js';

/**
 * A queued message made ready for one server: line ends made CRLF, converted to 7 bit when
 * the server lacks 8BITMIME (see eightbit.ts), then DKIM-signed (after any conversion, so the
 * signature covers the octets that go out). Each variant is made once per delivery.
 */

export type Variant = { ok: true; message: Buffer; eightBit: boolean } | { ok: false; status: string; text: string };

export interface PreparedMessage {
  sender: string;
  envelope: MessageEnvelope;
  /** Addresses or headers need RFC 6531 SMTPUTF8. */
  smtputf8: boolean;
  forServer(ext: Extensions): Variant;
}

/** The domain of the first address in the From: field, for the DKIM d= choice. */
export function fromDomain(message: Buffer): string | null {
  const end = message.indexOf('\r\n\r\n');
  const head = message.subarray(0, end < 0 ? message.length : end).toString('utf8');
  const m = /^From[ \t]*:((?:.*)(?:\r\n[ \t].*)*)/im.exec(head);
  if (!m) return null;
  const value = m[1].replace(/\r\n/g, ' ');
  const addr = /<([^<>]*@[^<>]*)>/.exec(value)?.[1] ?? /([^\s<>,;:"()]+@[^\s<>,;:"()]+)/.exec(value)?.[1];
  return addr ? addr.slice(addr.lastIndexOf('@') + 1).toLowerCase() : null;
}

export function prepareMessage(raw: Buffer, envelope: MessageEnvelope, recipients: string[], dkim: DkimKeys, log: Logger, queueId: string): PreparedMessage {
  const message = toCrlf(raw);
  const end = message.indexOf('\r\n\r\n');
  const headers = message.subarray(0, end < 0 ? message.length : end);
  const eightBit = has8bit(message);
  const smtputf8 = !!envelope.smtputf8 || needsSmtputf8(envelope.sender, recipients, headers);
  const variants = new Map<string, Variant>();

  const sign = (m: Buffer): Buffer => {
    if (!dkim.enabled) return m;
    const key = dkim.keyFor(fromDomain(m), envelope.sender.slice(envelope.sender.lastIndexOf('@') + 1));
    if (!key) return m;
    try {
      return Buffer.concat([Buffer.from(dkimSign(m, key), 'utf8'), m]);
    } catch (e) {
      log.error(queueId, `dkim: signing as ${key.domain} failed: ${(e as Error).message}; sending unsigned`);
      return m;
    }
  };

  return {
    sender: envelope.sender,
    envelope,
    smtputf8,
    forServer(ext: Extensions): Variant {
      // RFC 6531 requires an SMTPUTF8 server to take 8-bit data as well.
      const convert = eightBit && !ext.eightBitMime && !(smtputf8 && ext.smtputf8);
      const k = convert ? '7bit' : 'asis';
      let v = variants.get(k);
      if (!v) {
        if (convert) {
          const c = to7bit(message);
          v = c.ok ? { ok: true, message: sign(c.message), eightBit: false } : c;
          if (c.ok) log.info(queueId, 'converted to 7 bit (quoted-printable/base64): the server does not offer 8BITMIME');
        } else {
          v = { ok: true, message: sign(message), eightBit };
        }
        variants.set(k, v);
      }
      return v;
    },
  };
}
