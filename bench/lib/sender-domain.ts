/**
 * The benchmark's sending domain as the Internet would publish it, so that a receiver's sender
 * checks do their full work: SPF, DKIM and DMARC records for bench.test served by a dnsmasq on
 * loopback, a message DKIM-signed by that domain, and the client's forward-confirmed PTR.
 * smtp-source sends the message with -F, so every server under test gets the same bytes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { RECIPIENT, SENDER } from './target.js';

export const SENDER_DOMAIN = SENDER.split('@')[1];
const SELECTOR = 'bench';
/** smtp-source's HELO name (-M) and the name the PTR of 127.0.0.1 gives. */
export const CLIENT_NAME = 'client.bench.test';

export interface SenderDomain {
  /** dnsmasq options answering the sender domain's records and the client's name. */
  dnsRecords: string[];
  /** A file of LF-terminated lines for smtp-source -F (it turns each line end into CRLF). */
  messageFile: string;
  /** Size of the message on the wire, headers and signature included. */
  bytes: number;
}

/**
 * A TXT record as a dnsmasq command-line option: each comma starts a new character-string (at
 * most 255 bytes each, RFC 1035 3.3); quotes are only understood in its config file, so none here.
 */
function txt(name: string, value: string): string {
  if (value.includes(',')) throw new Error(`TXT value with a comma cannot be passed to dnsmasq: ${value}`);
  return `--txt-record=${name},${(value.match(/.{1,250}/g) ?? ['']).join(',')}`;
}

function body(size: number): string {
  const line = 'The quick brown fox jumps over the lazy dog while the benchmark counts messages.\r\n';
  return line.repeat(Math.max(1, Math.ceil(size / line.length)));
}

/** Writes the signed message of about `size` body bytes to `file` and returns the records that make it pass. */
export async function senderDomain(file: string, size: number): Promise<SenderDomain> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const unsigned =
    `From: Bench Sender <${SENDER}>\r\nTo: <${RECIPIENT}>\r\nSubject: inbound benchmark\r\n` +
    `Date: Thu, 03 Dec 2026 18:00:00 +0000\r\nMessage-ID: <bench-inbound@${SENDER_DOMAIN}>\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n\r\n${body(size)}`;
  const key = { signingDomain: SENDER_DOMAIN, selector: SELECTOR, privateKey: pem };
  const signed = await dkimSign(unsigned, { ...key, signatureData: [key] });
  if (signed.errors?.length || !signed.signatures.startsWith('DKIM-Signature:')) throw new Error(`DKIM signing failed: ${JSON.stringify(signed.errors)}`);
  const message = signed.signatures + unsigned;
  writeFileSync(file, message.replace(/\r\n/g, '\n'));
  return {
    dnsRecords: [
      '--local=/test/',
      txt(SENDER_DOMAIN, 'v=spf1 ip4:127.0.0.0/8 -all'),
      txt(`${SELECTOR}._domainkey.${SENDER_DOMAIN}`, `v=DKIM1; k=rsa; p=${spki}`),
      txt(`_dmarc.${SENDER_DOMAIN}`, `v=DMARC1; p=reject; rua=mailto:dmarc@${SENDER_DOMAIN}`),
      `--host-record=${CLIENT_NAME},127.0.0.1`,
    ],
    messageFile: file,
    bytes: Buffer.byteLength(message),
  };
}
