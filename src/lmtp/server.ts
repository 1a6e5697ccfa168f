import type net from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import { listenOn } from '../net/listen.js';
import { createService, type ServiceServer } from '../net/service.js';
import { SmtpConnection } from '../smtp/connection.js';
import { smtpRefusal, smtpTimers } from '../smtp/server.js';
import { LmtpSession } from './session.js';

/**
 * The LMTP listener (RFC 2033), on a TCP address or a Unix socket: another MTA (sendmail's
 * cyrusv2-style mailer, Postfix's lmtp transport) hands local mail to Correo's store. The
 * connection is SMTP's (src/smtp/connection.ts: framing, PIPELINING as RFC 2033 4.4 requires,
 * DATA, timers); the session is SMTP's in LMTP mode (./session.ts). No TLS: LMTP is for
 * trusted local peers (loopback or a socket file).
 */

export async function startLmtp(ctx: Context, listen: ListenAddress): Promise<net.Server> {
  const server = lmtpService(ctx);
  await listenOn(server, listen);
  return server;
}

/** A Unix socket, mode 0660 (like Cyrus's lmtp socket). */
export async function startLmtpSocket(ctx: Context, path: string): Promise<net.Server> {
  rmSync(path, { force: true });
  const server = lmtpService(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
  return server;
}

function lmtpService(ctx: Context): ServiceServer {
  const log = ctx.log.child('lmtp');
  const { timers, limits } = smtpTimers(ctx, 'lmtp');
  const max = ctx.config.lmtp.max_connections;
  return createService(ctx, {
    name: 'lmtp',
    log,
    implicitTls: false,
    // Trusted peers: one budget, whichever address they come from.
    budget: { max, perAddress: max, perMinute: Number.MAX_SAFE_INTEGER },
    timers,
    highWater: 1024 * 1024,
    refusal: (why) => smtpRefusal(ctx.config.hostname, why),
    session: (conn) => new SmtpConnection(conn, new LmtpSession(ctx, log, { ip: conn.ip, port: conn.port, name: Promise.resolve(null) }), log, limits),
  });
}
