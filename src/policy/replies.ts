import type { Reply } from '../smtp/codes.js';

/**
 * The policy's refusals, named (STYLE.md), with the texts sendmail gives for the same
 * verdicts where it has one, so that admins coming from the seed recognise them.
 */

const r = (code: number, enhanced: string, text: string): Reply => ({ code, enhanced, text });

export const PolicyReplies = {
  /** S25 access REJECT for a client or sender (sendmail: "550 5.7.1 Access denied"). */
  accessDenied: () => r(550, '5.7.1', 'Access denied'),
  /** S25 blacklist_recipients: REJECT on a recipient (sendmail's text). */
  mailboxDisabled: (rcpt: string) => r(550, '5.2.1', `<${rcpt}>: Mailbox disabled for this recipient`),
  /** S28 a DNS block list named the client. */
  listed: (text: string) => r(550, '5.7.1', text),
  /** Rate limits: RFC 3463 X.7.0 other security status; a 4xx so the client retries later. */
  tooManyConnections: (ip: string) => r(421, '4.7.0', `Error: too many connections from ${ip}; try again later`),
  tooManyMessages: (who: string) => r(451, '4.7.1', `Error: too many messages from ${who}; try again later`),
  tooManyRecipients: (who: string) => r(451, '4.7.1', `Error: too many recipients from ${who}; try again later`),
  /** Greylisting (RFC 6647): a temporary refusal any real MTA retries. */
  greylisted: (seconds: number) => r(451, '4.7.1', `Greylisted; please try again in ${seconds} seconds`),
  /** RFC 5321 6.3: too many Received lines is a loop; RFC 3463 X.4.6 routing loop detected. */
  loop: (hops: number) => r(554, '5.4.6', `Too many hops (${hops}); mail loop?`),
  /** RFC 7489 7.1 / RFC 7372: DMARC p=reject honoured. */
  dmarcReject: (domain: string) => r(550, '5.7.1', `Email rejected per DMARC policy for ${domain}`),
  /** RFC 7208 8.4 / RFC 7372 3.2: SPF "fail". */
  spfFail: (sender: string) => r(550, '5.7.23', `SPF validation failed for <${sender}>`),
  /** The policy could not decide (a map unreadable ...): try again later, never a silent 250. */
  tempfail: () => r(451, '4.3.0', 'Temporary policy failure; try again later'),
} as const;
