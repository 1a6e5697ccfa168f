import { randomBytes } from 'node:crypto';

/** One recipient's line in a delivery status notification (RFC 3464 2.3). */
export interface DsnRecipient {
  /** Final-Recipient: the address we tried. */
  address: string;
  /** Original-Recipient from ORCPT (RFC 3461 4.2), when known. */
  original?: string;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
  /** Enhanced status code (RFC 3463), e.g. "5.1.1". */
  status: string;
  /** Diagnostic-Code, e.g. "smtp; 550 5.1.1 User unknown". */
  diagnostic?: string;
  remoteMta?: string;
  /** RFC 3464 2.3.7 Last-Attempt-Date. */
  lastAttempt?: Date;
  /** RFC 3464 2.3.8 Will-Retry-Until (delayed DSNs). */
  willRetryUntil?: Date;
}

export interface DsnInput {
  reportingMta: string;
  /** Envelope sender of the original message: the DSN goes there. */
  to: string;
  queueId: string;
  arrivalDate: Date;
  envid?: string;
  recipients: DsnRecipient[];
  /** The original message (headers only for RET=HDRS). */
  original: Buffer;
  headersOnly: boolean;
}

function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * Builds a multipart/report; report-type=delivery-status message (RFC 3464, RFC 6522) from
 * MAILER-DAEMON. The caller sends it with an empty envelope sender, so that it can never
 * cause another bounce (RFC 5321 6.1).
 */
export function buildDsn(input: DsnInput): Buffer {
  const boundary = `${input.queueId}.${randomBytes(6).toString('hex')}/${input.reportingMta}`;
  const failed = input.recipients.some((r) => r.action === 'failed');
  const delayed = !failed && input.recipients.some((r) => r.action === 'delayed');
  const subject = failed ? 'Undelivered Mail Returned to Sender' : delayed ? 'Delayed Mail (still being retried)' : 'Successful Mail Delivery Report';
  const human = input.recipients
    .map((r) => `<${r.address}>: ${r.action}${r.diagnostic ? `\r\n    ${r.diagnostic}` : ''}`)
    .join('\r\n\r\n');
  const until = input.recipients.find((r) => r.willRetryUntil)?.willRetryUntil;
  const intro = failed
    ? "I'm sorry to have to inform you that your message could not be delivered to one or more recipients. It's attached below."
    : delayed
      ? `Your message could not be delivered yet to one or more recipients. It will be retried${until ? ` until ${rfc5322Date(until)}` : ''}; you do not need to send it again.`
      : 'Your message was delivered to, or passed on to a system that does not report delivery for, the recipients below.';
  const perMessage = [
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `X-Correo-Queue-ID: ${input.queueId}`,
    ...(input.envid ? [`Original-Envelope-Id: ${input.envid}`] : []),
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
  ].join('\r\n');
  const perRecipient = input.recipients
    .map((r) =>
      [
        ...(r.original ? [`Original-Recipient: ${r.original.includes(';') ? r.original : 'rfc822;' + r.original}`] : []),
        `Final-Recipient: rfc822; ${r.address}`,
        `Action: ${r.action}`,
        `Status: ${r.status}`,
        ...(r.remoteMta ? [`Remote-MTA: dns; ${r.remoteMta}`] : []),
        ...(r.diagnostic ? [`Diagnostic-Code: ${r.diagnostic}`] : []),
        ...(r.lastAttempt ? [`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`] : []),
        ...(r.willRetryUntil ? [`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`] : []),
      ].join('\r\n'),
    )
    .join('\r\n\r\n');
  let original = input.original;
  if (input.headersOnly) {
    const end = original.indexOf('\r\n\r\n');
    original = end >= 0 ? original.subarray(0, end + 2) : original;
  }
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.to}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(new Date())}`,
    `Message-ID: <${input.queueId}.${randomBytes(4).toString('hex')}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This is the mail system at host ${input.reportingMta}.`,
    '',
    intro,
    '',
    human,
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    perMessage,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    `Content-Description: ${input.headersOnly ? 'Undelivered Message Headers' : 'Undelivered Message'}`,
    `Content-Type: ${input.headersOnly ? 'text/rfc822-headers' : 'message/rfc822'}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), original, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
