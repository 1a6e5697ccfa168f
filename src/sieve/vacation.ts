import { createHash } from 'node:crypto';
import type { Command } from './ast.js';
import type { Runtime } from './interpreter.js';
import { envelopeAddress, headerAddresses } from './message.js';
import type { VacationAction } from './types.js';

/**
 * RFC 5230 vacation (with RFC 6131 :seconds): the reply's parameters, and whether the
 * interpreter already knows it must not be sent (4.5, 5: the user is not a recipient, the
 * sender is null, one of the user's own, a list or an automatic one). Delivery applies the
 * :days memory and sends.
 */
const DAY = 86400;
/** RFC 5230 4.1: :days at least 1; 7 by default. Bounded above at 90 days. */
const DEFAULT_SECONDS = 7 * DAY, MAX_SECONDS = 90 * DAY;

export function buildVacation(rt: Runtime, c: Command): VacationAction {
  const reason = rt.str(c.pos[0]);
  const subjectTag = c.tags.subject !== undefined ? rt.str(c.tags.subject) : undefined;
  const from = c.tags.from !== undefined ? rt.str(c.tags.from) : undefined;
  const given = rt.list(c.tags.addresses);
  const mime = c.tags.mime === true;
  const days = rt.num(c.tags.days), secs = rt.num(c.tags.seconds);
  let seconds = DEFAULT_SECONDS;
  if (days !== undefined) seconds = Math.max(1, days) * DAY;
  if (secs !== undefined) seconds = secs;
  seconds = Math.min(seconds, MAX_SECONDS);
  // RFC 5230 4.2: without :handle, a handle derived from the other arguments
  const handle = c.tags.handle !== undefined
    ? rt.str(c.tags.handle)
    : createHash('sha1').update(JSON.stringify([reason, subjectTag ?? null, from ?? null, mime])).digest('hex');
  const original = rt.view.text('subject')[0];
  const subject = subjectTag ?? `Auto: ${original ?? ''}`.trim();
  const addresses = [...given, ...(rt.input.userAddresses ?? [])];
  const out: VacationAction = {
    type: 'vacation', to: rt.input.envelope.from, seconds, handle, subject, addresses, reason, mime,
  };
  if (from !== undefined) out.from = from;
  const mid = rt.view.raw('message-id')[0];
  if (mid !== undefined) {
    out.inReplyTo = mid.trim();
    const refs = rt.view.raw('references')[0];
    out.references = ((refs ?? '').replace(/\s+/g, ' ').trim() + ' ' + mid.trim()).trim();
  }
  const why = suppressReason(rt, addresses);
  if (why !== undefined) out.suppress = why;
  return out;
}

function suppressReason(rt: Runtime, addresses: string[]): string | undefined {
  const sender = rt.input.envelope.from;
  if (sender === '') return 'null envelope sender (RFC 5230 4.6)';
  const mine = new Set([rt.input.envelope.to, rt.input.envelope.origTo ?? '', ...addresses]
    .filter((a) => a !== '').map((a) => a.toLowerCase()));
  if (mine.has(sender.toLowerCase())) return 'the sender is the user (RFC 5230 4.6)';
  const local = envelopeAddress(sender).local.toLowerCase();
  if (local === 'mailer-daemon' || local.startsWith('owner-') || local.endsWith('-request') || local === 'listserv' || local === 'majordomo') {
    return `sender ${sender} is an automatic address (RFC 5230 4.6)`;
  }
  const auto = rt.view.text('auto-submitted')[0];
  if (auto !== undefined && auto.toLowerCase().split(';')[0].trim() !== 'no') return 'Auto-Submitted mail (RFC 3834 2)';
  const prec = rt.view.text('precedence')[0]?.toLowerCase();
  if (prec === 'bulk' || prec === 'list' || prec === 'junk') return `Precedence: ${prec} (RFC 3834 2)`;
  if (rt.view.exists('list-id')) return 'mailing list mail (List-Id, RFC 5230 4.6)';
  const recipients = headerAddresses([
    ...rt.view.raw('to'), ...rt.view.raw('cc'), ...rt.view.raw('bcc'),
    ...rt.view.raw('resent-to'), ...rt.view.raw('resent-cc'), ...rt.view.raw('resent-bcc'),
  ]);
  const own = mine;
  const toUser = recipients.some((a) => own.has(a.all.toLowerCase()) || ownBase(own, a.all, rt.input.recipientDelimiter ?? '+'));
  if (!toUser) return 'the user is not in To, Cc or Bcc (RFC 5230 4.5)';
  return undefined;
}

/** "user+detail@d" in a header counts as "user@d" of the user (RFC 5233). */
function ownBase(own: Set<string>, address: string, delim: string): boolean {
  if (delim === '') return false;
  const a = envelopeAddress(address.toLowerCase());
  const cut = a.local.indexOf(delim);
  if (cut < 0 || a.domain === null) return false;
  return own.has(`${a.local.slice(0, cut)}@${a.domain}`);
}
