import { randomBytes } from 'node:crypto';
import type { VacationAction } from '../sieve/index.js';

/**
 * The mail Sieve sends: vacation replies (RFC 5230 5) and redirected copies (RFC 5228 4.2),
 * and the header checks that keep Sieve from answering machines or looping.
 */

/** The header block of a stored message (up to the empty line), unfolded, by lower-cased name. */
export function headerFields(message: Buffer): Map<string, string[]> {
  let end = message.indexOf('\r\n\r\n');
  if (end < 0) end = message.indexOf('\n\n');
  const text = message.toString('latin1', 0, end < 0 ? message.length : end).replace(/\r?\n(?=[ \t])/g, '');
  const out = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    out.set(name, [...(out.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return out;
}

/**
 * Why no automatic reply may go to this message's sender, or null (RFC 5230 4.5 and 5,
 * RFC 3834 2): the null sender, mail a machine sent (Auto-Submitted other than "no"),
 * list and bulk mail (List-Id and other List- fields, Precedence bulk/list/junk), mail from
 * the user's own addresses, and the usual daemon senders.
 */
export function noReplyReason(sender: string, headers: Map<string, string[]>, own: string[]): string | null {
  if (!sender) return 'the envelope sender is null';
  const s = sender.toLowerCase();
  if (own.includes(s)) return 'the sender is the user';
  const local = s.slice(0, s.lastIndexOf('@'));
  if (/^(mailer-daemon|postmaster|listserv|majordomo|owner-.*|.*-request|.*-owner|no-?reply)$/.test(local)) return `the sender ${sender} is a daemon or list address`;
  const auto = headers.get('auto-submitted')?.[0]?.toLowerCase();
  if (auto && !/^no\b/.test(auto)) return `the message is Auto-Submitted: ${auto}`;
  const prec = headers.get('precedence')?.[0]?.toLowerCase();
  if (prec && /^(bulk|list|junk)\b/.test(prec)) return `the message has Precedence: ${prec}`;
  for (const name of ['list-id', 'list-unsubscribe', 'list-post', 'list-help']) if (headers.has(name)) return `the message has a ${name} field (mailing list)`;
  return null;
}

/** RFC 2047 for a header value that is not ASCII. */
function encodeWord(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?utf-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

const rfc5322Date = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');

/**
 * RFC 5230 5: the reply. From the user (or :from), To the sender, In-Reply-To/References the
 * message answered, Auto-Submitted: auto-replied (5.1, RFC 3834 5), the reason as text/plain
 * (or as the MIME entity :mime gave).
 */
export function vacationReply(v: VacationAction, user: string, hostname: string, now: Date): Buffer {
  const lines = [
    `From: ${v.from ?? `<${user}>`}`,
    `To: <${v.to}>`,
    `Subject: ${encodeWord(v.subject)}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${randomBytes(9).toString('hex')}.vacation@${hostname}>`,
  ];
  if (v.inReplyTo) lines.push(`In-Reply-To: ${v.inReplyTo}`);
  if (v.references || v.inReplyTo) lines.push(`References: ${[v.references, v.inReplyTo].filter(Boolean).join(' ')}`);
  lines.push('Auto-Submitted: auto-replied (vacation)', 'MIME-Version: 1.0');
  const reason = v.reason.replace(/\r?\n/g, '\r\n');
  const body = v.mime ? reason : ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', reason].join('\r\n');
  return Buffer.from(lines.join('\r\n') + '\r\n' + body + (body.endsWith('\r\n') ? '' : '\r\n'), 'utf8');
}

/** The field that marks a copy Sieve redirected, per user (Dovecot's name): a loop shows up as our own name in it. */
export const REDIRECTED_FIELD = 'X-Sieve-Redirected-From';

/** A redirected copy: the message as it arrived (without our Return-Path), marked with who redirected it. */
export function redirectedCopy(stored: Buffer, traceSkip: number, user: string): Buffer {
  return Buffer.concat([Buffer.from(`${REDIRECTED_FIELD}: ${user}\r\n`), stored.subarray(traceSkip)]);
}
