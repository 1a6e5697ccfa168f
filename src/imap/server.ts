import type { Server } from 'node:net';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import { listenOn } from '../net/listen.js';
import { budgetFrom, createService } from '../net/service.js';
import { Session, type ServerShared } from './session.js';
import { notifierFor } from './notifier.js';

const shares = new WeakMap<Context, ServerShared>();

/**
 * The IMAP service (RFC 9051) on one address: STARTTLS on 143-style ports, TLS from the start
 * on 993-style ones. Connection limits ([imap] max_connections, max_connections_per_address,
 * max_connection_rate) and timers are the connection layer's (src/net/).
 */
export async function startImap(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<Server> {
  let shared = shares.get(ctx);
  if (!shared) {
    shared = { ctx, log: ctx.log.child('imap'), notifier: notifierFor(ctx.changes), perUser: new Map() };
    shares.set(ctx, shared);
  }
  const sh = shared;
  const c = ctx.config.imap;
  const server = createService(ctx, {
    name: 'imap',
    log: sh.log,
    implicitTls,
    budget: budgetFrom(c),
    timers: {
      idle: Session.idleMs(c.idle_timeout, false),
      login: c.login_timeout * 1000,
      line: c.command_timeout * 1000,
      data: c.command_timeout * 1000,
      literal: c.literal_timeout * 1000,
    },
    highWater: c.max_line_length * 4,
    refusal: (why) => `* BYE [UNAVAILABLE] too many connections${why === 'address' || why === 'rate' ? ' from your address' : ''}\r\n`,
    session: (conn) => new Session(sh, conn),
  });
  await listenOn(server, listen);
  return server;
}
