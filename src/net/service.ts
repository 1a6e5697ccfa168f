import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import { clientAddress } from './address.js';
import { Connection, type Session, type Timers } from './connection.js';
import { globalBudget } from './fd-limit.js';
import { ConnectionLimits, type Budget, type Refusal } from './limits.js';

/**
 * One listener contract for every line protocol: a socket is admitted by the limits (global,
 * per service, per address, per address and minute), wrapped in a Connection, and handed to
 * the protocol's session. Refused clients hear why in their protocol, over TLS on
 * implicit-TLS ports (RFC 8314 3: nothing in clear there), or lose the socket.
 */
export interface ServiceSpec {
  /** Budget key and name in logs: smtp, submission, lmtp, imap, pop3. */
  name: string;
  log: Logger;
  implicitTls: boolean;
  budget: Budget;
  timers: Timers;
  /** Unprocessed input (octets) beyond which reading stops. */
  highWater: number;
  /** A connection id for the logs. */
  newId?: () => string;
  /** The line (CRLF included) a refused client reads before the socket closes. */
  refusal(why: Refusal): string;
  session(c: Connection): Session;
}

/** A net.Server whose close() also tells its open sessions that the server is stopping. */
export class ServiceServer extends net.Server {
  readonly open = new Set<Connection>();

  override close(callback?: (err?: Error) => void): this {
    super.close(callback);
    for (const c of this.open) c.shutdown();
    return this;
  }
}

/** Refusals on implicit-TLS ports cost a handshake each: at most this many at once, the rest are just closed. */
const MAX_TLS_REFUSALS = 64;
/** A refused client gets this long to take its one line (and, on TLS ports, to shake hands). */
const REFUSAL_MS = 5_000;

const limitsByContext = new WeakMap<Context, ConnectionLimits>();
let tlsRefusals = 0;

/** The limits all services of one running server share (config [limits]). */
export function limitsFor(ctx: Context): ConnectionLimits {
  let l = limitsByContext.get(ctx);
  if (!l) {
    const cfg = ctx.config.limits;
    const g = globalBudget(cfg.max_connections, cfg.reserved_fds);
    if (g.clamped) {
      ctx.log.warn(null, `[limits] max_connections = ${cfg.max_connections} leaves fewer than reserved_fds = ${cfg.reserved_fds} of the open-file limit; using ${g.max}`);
    }
    l = new ConnectionLimits(g.max);
    limitsByContext.set(ctx, l);
  }
  return l;
}

export function createService(ctx: Context, spec: ServiceSpec): ServiceServer {
  const limits = limitsFor(ctx);
  const server = new ServiceServer({ noDelay: true });
  server.on('connection', (raw: net.Socket) => {
    const ip = clientAddress(raw);
    const admitted = limits.admit(spec.name, spec.budget, ip);
    if (!admitted.ok) {
      spec.log.info(null, `refused connection from [${ip}]: ${REFUSAL_TEXT[admitted.why]}`);
      refuse(ctx, raw, spec, admitted.why);
      return;
    }
    const conn = new Connection(raw, {
      id: spec.newId?.() ?? randomBytes(5).toString('hex').toUpperCase(),
      log: spec.log,
      implicitTls: spec.implicitTls,
      timers: spec.timers,
      highWater: spec.highWater,
      tlsContext: () => ctx.tls(),
    });
    server.open.add(conn);
    raw.once('close', () => {
      admitted.release();
      server.open.delete(conn);
    });
    try {
      conn.start(spec.session(conn));
    } catch (e) {
      spec.log.error(conn.id, `${spec.name}: cannot set up a session for [${ip}]: ${(e as Error).stack ?? e}`);
      raw.destroy();
    }
  });
  server.on('error', (e) => spec.log.error(null, `${spec.name} listener: ${e.message}`));
  return server;
}

const REFUSAL_TEXT: Record<Refusal, string> = {
  global: 'all services together are at [limits] max_connections',
  service: 'the service is at its max_connections',
  address: 'the address is at max_connections_per_address',
  rate: 'the address is over max_connection_rate per minute',
};

function refuse(ctx: Context, raw: net.Socket, spec: ServiceSpec, why: Refusal): void {
  raw.on('error', () => raw.destroy());
  const kill = setTimeout(() => raw.destroy(), REFUSAL_MS);
  kill.unref();
  raw.once('close', () => clearTimeout(kill));
  if (!spec.implicitTls) {
    raw.end(spec.refusal(why));
    return;
  }
  // Out of descriptors or under a handshake flood: no TLS work for a refusal.
  if (why === 'global' || tlsRefusals >= MAX_TLS_REFUSALS) {
    raw.destroy();
    return;
  }
  tlsRefusals++;
  const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx.tls() });
  secure.on('error', () => secure.destroy());
  secure.once('secure', () => secure.end(spec.refusal(why)));
  raw.once('close', () => {
    tlsRefusals--;
    secure.destroy();
  });
}

/** A service's budget from its config section. */
export function budgetFrom(c: { max_connections: number; max_connections_per_address: number; max_connection_rate: number }): Budget {
  return { max: c.max_connections, perAddress: c.max_connections_per_address, perMinute: c.max_connection_rate };
}
