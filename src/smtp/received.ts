import { isIPv6 } from 'node:net';

/**
 * The Received trace header (RFC 5321 4.4, RFC 5322 3.6.7):
 *
 *   Received: from HELO (NAME [IP])
 *           by HOSTNAME (Correo) with ESMTPS id QUEUEID
 *           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *           for <rcpt@example.test>; Fri, 27 Nov 2026 19:00:00 +0000
 *
 * "with" names the protocol as registered by RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA) and
 * RFC 6531 4.3 (UTF8SMTP...). NAME is the forward-confirmed reverse DNS name or "unknown".
 * "for" is only written for a single recipient: with several, it would show every
 * recipient the list of all others (as Postfix and Sendmail do).
 */

export interface ReceivedInfo {
  /** What the client said in HELO/EHLO. */
  helo: string;
  clientIp: string;
  /** Forward-confirmed reverse DNS name, or null. */
  clientName: string | null;
  hostname: string;
  esmtp: boolean;
  tls: { protocol: string; cipher: string } | null;
  authenticated: boolean;
  smtputf8: boolean;
  id: string;
  recipients: string[];
  date: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** RFC 5321 4.1.3: IPv6 address literals carry the "IPv6:" tag. */
export function addressLiteral(ip: string): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return isIPv6(plain) ? `[IPv6:${plain}]` : `[${plain}]`;
}

/**
 * The HELO argument is the client's word; inside a header it must not be able to close the
 * comment, fold the header or smuggle a field, so anything outside visible ASCII/UTF-8 and
 * the parentheses and backslash are replaced.
 */
export function sanitizeHelo(helo: string): string {
  // eslint-disable-next-line no-control-regex
  const s = helo.replace(/[\x00-\x20\x7f()\\;]/g, '_').slice(0, 255);
  return s || 'unknown';
}

export function withProtocol(i: Pick<ReceivedInfo, 'esmtp' | 'tls' | 'authenticated' | 'smtputf8'>): string {
  if (!i.esmtp) return 'SMTP';
  return (i.smtputf8 ? 'UTF8SMTP' : 'ESMTP') + (i.tls ? 'S' : '') + (i.authenticated ? 'A' : '');
}

export function receivedHeader(i: ReceivedInfo): string {
  const lines = [
    `Received: from ${sanitizeHelo(i.helo)} (${i.clientName ?? 'unknown'} ${addressLiteral(i.clientIp)})`,
    `\tby ${i.hostname} (Correo) with ${withProtocol(i)} id ${i.id}`,
  ];
  if (i.tls) lines.push(`\t(using ${i.tls.protocol} with cipher ${i.tls.cipher})`);
  if (i.recipients.length === 1) lines.push(`\tfor <${i.recipients[0]}>; ${rfc5322Date(i.date)}`);
  else {
    lines[lines.length - 1] += ';';
    lines.push(`\t${rfc5322Date(i.date)}`);
  }
  return lines.join('\r\n') + '\r\n';
}
