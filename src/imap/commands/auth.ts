import type { CommandSpec, Session } from '../session.js';
import { Answered, bad, bye, no } from '../errors.js';
import { decodeResponse, offeredMechanisms, startExchange } from '../../auth/sasl.js';
import type { AuthOutcome } from '../../auth/types.js';
import { capabilities } from '../capabilities.js';

async function loggedIn(s: Session, outcome: AuthOutcome): Promise<string> {
  if (!outcome.ok) {
    if (outcome.reason === 'throttled') throw no('too many failed logins; try again later', 'UNAVAILABLE');
    throw no('authentication failed', 'AUTHENTICATIONFAILED');
  }
  const u = await s.ctx.store.getUser(outcome.user);
  if (!u) throw no('authentication failed', 'AUTHENTICATIONFAILED');
  // [imap] max_sessions_per_user; beyond it [LIMIT] (RFC 5530).
  if ((s.shared.perUser.get(u.address) ?? 0) >= s.ctx.config.imap.max_sessions_per_user) throw no(`too many sessions for ${u.address}`, 'LIMIT');
  s.login({ id: u.id, address: u.address, admin: s.ctx.config.admins.includes(u.address) });
  s.log.info(null, `${s.id}: login user=${u.address}, client=${s.clientAddress}${s.secure ? ', tls' : ''}`);
  // RFC 9051 6.2.3: the tagged OK may carry the capabilities that changed.
  return `[CAPABILITY ${capabilities(s).join(' ')}] logged in`;
}

/** RFC 9051 6.2: not-authenticated state. */
export const authCommands: Record<string, CommandSpec> = {
  STARTTLS: {
    states: ['not-authenticated'],
    async run(s, c) {
      c.args.end();
      if (s.secure) throw bad('TLS is already active');
      s.write([`${c.tag} OK Begin TLS negotiation now\r\n`]);
      await s.startTls();
      throw new Answered();
    },
  },

  LOGIN: {
    states: ['not-authenticated'],
    async run(s, c) {
      const user = c.args.astring('user name');
      const pass = c.args.astring('password');
      c.args.end();
      if (!s.secure && !s.ctx.config.auth.plaintext_without_tls) throw no('LOGIN needs TLS first (STARTTLS)', 'PRIVACYREQUIRED');
      const text = await loggedIn(s, await s.ctx.auth.verify(user, pass, 'imap', s.clientAddress));
      return text;
    },
  },

  // RFC 9051 6.2.2 with RFC 4959 SASL-IR
  AUTHENTICATE: {
    states: ['not-authenticated'],
    async run(s, c) {
      const mech = c.args.atom('mechanism');
      const ir = c.args.done ? null : c.args.astring('initial response');
      c.args.end();
      const offered = offeredMechanisms(s.secure, s.ctx.config.auth.plaintext_without_tls, s.ctx.config.auth.mechanisms);
      const ex = startExchange(mech, offered, { auth: s.ctx.auth, service: 'imap', clientAddress: s.clientAddress, hostname: s.ctx.config.hostname });
      if (!ex) {
        if (!s.secure && ['PLAIN', 'LOGIN'].includes(mech.toUpperCase())) throw no(`${mech} needs TLS first (STARTTLS)`, 'PRIVACYREQUIRED');
        throw no(`mechanism ${mech} is not supported`, 'CANNOT');
      }
      let initial: Buffer | null = null;
      if (ir !== null) {
        const d = decodeResponse(ir);
        if (d === 'cancel') throw bad('authentication cancelled');
        if (d === 'invalid') throw bad('initial response is not base64');
        initial = d;
      }
      let step = await ex.start(initial);
      for (let rounds = 0; step.kind === 'challenge'; rounds++) {
        if (rounds > 10) throw bad('too many authentication rounds');
        s.write([`+ ${step.data.toString('base64')}\r\n`]);
        await s.out.flush();
        const l = await s.readLine();
        if (!l) throw bye('connection closed during authentication');
        if (l.tooLong) throw bad('authentication response too long');
        const d = decodeResponse(l.line);
        if (d === 'cancel') throw bad('authentication cancelled');
        if (d === 'invalid') throw bad('response is not base64');
        step = await ex.next(d);
      }
      if (step.kind === 'malformed') throw bad(step.message);
      return await loggedIn(s, step.outcome);
    },
  },
};

