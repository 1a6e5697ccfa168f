import { createServer, type Server, type Socket } from 'node:net';
import { listenOn } from '../listen.js';
import { TLSSocket } from 'node:tls';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import { Session, type ServerShared } from './session.js';
import { notifierFor } from './notifier.js';

const shares = new WeakMap<Context, ServerShared>();

/** The IMAP service (RFC 9051) on one address: STARTTLS on 143-style ports, TLS from the start on 993-style ones. */
export async function startImap(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<Server> {
  let shared = shares.get(ctx);
  if (!shared) {
    shared = { ctx, log: ctx.log.child('imap'), notifier: notifierFor(ctx.changes), perUser: new Map(), perAddress: new Map() };
    shares.set(ctx, shared);
  }
  const sh = shared;
  const server = createServer({ noDelay: true }, (raw: Socket) => {
    const addr = raw.remoteAddress ?? 'unknown';
    raw.on('error', () => raw.destroy());
    const n = (sh.perAddress.get(addr) ?? 0) + 1;
    // Bounded resources per peer: [imap] max_connections_per_address.
    if (n > ctx.config.imap.max_connections_per_address) {
      raw.end('* BYE [UNAVAILABLE] too many connections from your address\r\n');
      return;
    }
    sh.perAddress.set(addr, n);
    try {
      const sock = implicitTls ? new TLSSocket(raw, { isServer: true, secureContext: ctx.tls() }) : raw;
      const session = new Session(sh, sock, implicitTls, addr);
      sh.log.debug(null, `${session.id}: connect from ${addr}${implicitTls ? ' (tls)' : ''}`);
      session.greet();
    } catch (e) {
      sh.log.error(null, `imap: cannot start a session for ${addr}: ${(e as Error).message}`);
      raw.destroy();
    }
  });
  await listenOn(server, listen);
  return server;
}
