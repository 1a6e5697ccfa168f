import { createSocket, type Socket } from 'node:dgram';
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';

/**
 * The "Internet" of the policy tests: a DNS server that never answers (a DNS list down),
 * DKIM keys with the TXT record to publish, and signed messages.
 */

export interface Blackhole {
  /** "127.0.0.1#PORT", for dnsmasq's --server=/zone/ADDR. */
  dnsmasqTarget: string;
  close(): Promise<void>;
}

/** A UDP socket that reads DNS queries and never replies. */
export function startBlackhole(): Promise<Blackhole> {
  return new Promise((resolve) => {
    const s: Socket = createSocket('udp4');
    s.on('message', () => undefined);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      resolve({ dnsmasqTarget: `127.0.0.1#${port}`, close: () => new Promise<void>((r) => s.close(() => r())) });
    });
  });
}

export interface DkimKey {
  privateKey: string;
  /** dnsmasq argument publishing the key at SELECTOR._domainkey.DOMAIN. */
  record: string;
  domain: string;
  selector: string;
}

/** RSA-1024: mailauth's default minimum key size. */
export function dkimKey(domain: string, selector = 's1'): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // Two character-strings (RFC 7208 3.3 style concatenation, RFC 6376 3.6.2.2): each under 255 octets.
    record: `--txt-record=${selector}._domainkey.${domain},v=DKIM1; k=rsa; p=${p.slice(0, 150)},${p.slice(150)}`,
    domain,
    selector,
  };
}

export function message(from: string, to: string, subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(
    `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@${from.split('@')[1]}>\r\n\r\n${body}`,
  );
}

export async function signed(msg: Buffer, key: DkimKey): Promise<Buffer> {
  const r = await dkimSign(msg, { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey, signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey }] });
  if (!r.signatures.trim()) throw new Error('mailauth produced no DKIM signature');
  if (r.errors.length) throw r.errors[0];
  return Buffer.concat([Buffer.from(r.signatures), msg]);
}
