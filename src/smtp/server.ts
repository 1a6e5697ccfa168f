import type net from 'node:net';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import { listenOn } from '../net/listen.js';
import { budgetFrom, createService } from '../net/service.js';
import type { Refusal } from '../net/limits.js';
import type { Timers } from '../net/connection.js';
import { Codes, formatReply, reply } from './codes.js';
import { SmtpSession, type SessionMode } from './session.js';
import { SmtpConnection, smtpDialogue, type SmtpLimits } from './connection.js';
import { ClientNames } from './rdns.js';

/**
 * The SMTP listeners: port 25 (the MTA) and, in submission mode, 587/465 (the MSA). Each has
 * its own connection budget ([smtp] and [submission] max_connections...), so that a flood on
 * port 25 leaves submission usable (issue 9 item 6).
 */

const namesByContext = new WeakMap<Context, ClientNames>();

/** Stop reading from a client whose input we have not processed yet beyond this. */
const INBOX_HIGH_WATER = 1024 * 1024;

export function startSmtp(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<net.Server> {
  return listenSmtp(ctx, listen, implicitTls, 'mta');
}

/**
 * S6 the MSA (RFC 6409): 587 with STARTTLS, 465 with implicit TLS (RFC 8314), the same
 * connection and session code in submission mode (AUTH required, sender checks, fix-ups).
 */
export function startSubmission(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<net.Server> {
  return listenSmtp(ctx, listen, implicitTls, 'submission');
}

/** The SMTP family's timers (LMTP uses them too); `login` only for submission. */
export function smtpTimers(ctx: Context, mode: SessionMode | 'lmtp'): { timers: Timers; limits: SmtpLimits } {
  const c = ctx.config.smtp;
  const login = mode === 'submission' ? ctx.config.submission.login_timeout : null;
  return {
    timers: { idle: c.idle_timeout * 1000, login: login === null ? null : login * 1000, line: c.command_timeout * 1000, data: c.data_timeout * 1000, literal: c.command_timeout * 1000 },
    limits: {
      hostname: ctx.config.hostname,
      maxLineLength: c.max_line_length,
      seconds: { login: login ?? 0, line: c.command_timeout, data: c.data_timeout, literal: c.command_timeout },
    },
  };
}

/** What a refused SMTP client reads (RFC 5321 3.8: 421, then the close). */
export function smtpRefusal(hostname: string, why: Refusal): string {
  if (why === 'global' || why === 'service') return formatReply(reply(Codes.ClosingBusy, `${hostname} Error: too many connections; try again later`));
  const more = why === 'rate' ? ' in the last minute' : '';
  return formatReply(reply(Codes.ClosingTooManyErrors, `${hostname} Error: too many connections from your address${more}; try again later`));
}

async function listenSmtp(ctx: Context, listen: ListenAddress, implicitTls: boolean, mode: SessionMode): Promise<net.Server> {
  const log = ctx.log.child(mode === 'submission' ? 'submission' : 'smtp');
  let names = namesByContext.get(ctx);
  if (!names) namesByContext.set(ctx, (names = new ClientNames(ctx.dns)));
  const lookup = names;
  const { timers, limits } = smtpTimers(ctx, mode);
  const server = createService(ctx, {
    name: mode === 'submission' ? 'submission' : 'smtp',
    log,
    implicitTls,
    budget: budgetFrom(mode === 'submission' ? ctx.config.submission : ctx.config.smtp),
    timers,
    highWater: INBOX_HIGH_WATER,
    refusal: (why) => smtpRefusal(ctx.config.hostname, why),
    session: (conn) => {
      const peer = { ip: conn.ip, port: conn.port, name: lookup.lookup(conn.ip) };
      return new SmtpConnection(conn, smtpDialogue(new SmtpSession(ctx, log, peer, null, mode)), log, limits);
    },
  });
  await listenOn(server, listen);
  return server;
}
