import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import { Codes, reply, type Reply } from '../smtp/codes.js';
import { parseRcpt, splitCommand } from '../smtp/command.js';
import type { Frame } from '../smtp/lines.js';
import { SmtpSession, type Action, type Incoming, type Peer, type TlsInfo } from '../smtp/session.js';
import type { SmtpDialogue } from '../smtp/connection.js';

/**
 * RFC 2033 LMTP on top of the SMTP session: the same commands, states, limits, DATA handling
 * and durability (a reply of 250 only once the message is on disk), with LMTP's differences:
 *
 * - 4.1 LHLO instead of HELO/EHLO (which are refused); no STARTTLS (LMTP runs on a trusted
 *   local socket or port, as sendmail's cyrusv2 mailer uses it).
 * - 4.2 after the final "." one reply per recipient that got a 250 to RCPT, in RCPT order,
 *   so that the client (sendmail, Postfix) bounces or retries each recipient on its own.
 *   A recipient whose mailbox is over quota gets its own 552 5.2.2 while the others are
 *   delivered.
 * - Only local recipients are accepted: nothing arriving by LMTP is relayed.
 */
export class LmtpSession implements SmtpDialogue {
  readonly smtp: SmtpSession;
  /** Addresses that got 250 to RCPT in this transaction, in order (duplicates included). */
  private accepted: string[] = [];

  constructor(private readonly ctx: Context, log: Logger, peer: Peer) {
    this.smtp = new SmtpSession({ ...ctx, policy: ctx.policy.forService('lmtp') }, log, peer, null);
  }

  greeting(): Reply {
    return { code: 220, text: `${this.ctx.config.hostname} LMTP Correo` };
  }

  async frame(f: Frame): Promise<Action> {
    if (f.kind !== 'line') return this.smtp.frame(f);
    const parsed = splitCommand(f.line);
    if (!parsed.ok) return this.smtp.frame(f);
    const { verb, arg } = parsed.value;
    switch (verb) {
      case 'LHLO': {
        this.accepted = [];
        const a = await this.smtp.frame({ kind: 'line', line: Buffer.from(`EHLO ${arg}`, 'latin1') });
        if (a.kind !== 'reply' || !Array.isArray(a.reply.text)) return a;
        return { kind: 'reply', reply: { ...a.reply, text: a.reply.text.filter((l) => l !== 'STARTTLS') } };
      }
      case 'HELO':
      case 'EHLO':
        return { kind: 'reply', reply: reply(Codes.SyntaxError, 'Error: this is LMTP; say LHLO (RFC 2033 4.1)') };
      case 'STARTTLS':
        return { kind: 'reply', reply: reply(Codes.NotImplemented, 'Error: STARTTLS is not offered on LMTP') };
      case 'MAIL':
      case 'RSET':
        this.accepted = [];
        break;
    }
    const action = await this.smtp.frame(f);
    if (verb === 'RCPT' && action.kind === 'reply' && action.reply.code === 250) {
      const s = this.smtp.state;
      const r = parseRcpt(arg, { smtputf8: s.kind === 'rcpt' && s.tx.params.smtputf8, postmasterDomain: this.ctx.config.domains[0] ?? this.ctx.config.hostname });
      if (r.ok) {
        const at = r.value.address.lastIndexOf('@');
        this.accepted.push(at < 0 ? r.value.address : `${r.value.address.slice(0, at)}@${r.value.address.slice(at + 1).toLowerCase()}`);
      }
    }
    return action;
  }

  /** RFC 2033 4.2: the replies after the final ".", one per accepted recipient. */
  async endData(incoming: Incoming): Promise<Reply[]> {
    const accepted = this.accepted;
    this.accepted = [];
    const refused = new Map<string, Reply>();
    if (!incoming.oversize && incoming.failure === null) {
      for (const address of new Set(accepted)) {
        const r = await this.overQuota(address, incoming.size);
        if (r) refused.set(address, r);
      }
    }
    // The refused leave the envelope before it is written (the array is the envelope's).
    const rcpts = incoming.tx.recipients;
    for (let i = rcpts.length - 1; i >= 0; i--) if (refused.has(rcpts[i].address)) rcpts.splice(i, 1);
    let common: Reply;
    if (!rcpts.length) {
      await incoming.abort();
      this.smtp.rset();
      common = reply(Codes.Ok, 'nothing to deliver');
    } else {
      common = await this.smtp.endData(incoming);
    }
    return accepted.map((address) => {
      const own = refused.get(address);
      if (own) return own;
      if (common.code !== 250) return common;
      return { code: 250, enhanced: '2.1.5', text: `<${address}> ${Array.isArray(common.text) ? common.text.join(' ') : common.text}` };
    });
  }

  /** S35 a mailbox over quota refuses this recipient only (Cyrus answers the same way over LMTP). */
  private async overQuota(address: string, size: number): Promise<Reply | null> {
    const user = await this.ctx.store.getUser(address);
    if (!user) return null;
    const q = await this.ctx.store.getQuota(user.id);
    const bytes = q.storageLimit !== null && q.bytes + size > q.storageLimit * 1024;
    const count = q.messageLimit !== null && q.messages + 1 > q.messageLimit;
    if (!bytes && !count) return null;
    return { code: 552, enhanced: '5.2.2', text: `<${address}> Mailbox full (quota exceeded)` };
  }

  summary(): string {
    return this.smtp.summary();
  }

  clientText(): string {
    return this.smtp.clientText();
  }

  /** LMTP has no TLS (RFC 2033 runs on trusted local sockets); never called. */
  tlsStarted(info: TlsInfo): void {
    this.smtp.tlsStarted(info);
  }

  /** LMTP has no login (the peer is a trusted MTA): no login time applies. */
  loggedIn(): boolean {
    return true;
  }
}
