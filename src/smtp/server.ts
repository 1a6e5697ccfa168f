import net from 'node:net';
import { listenOn } from '../listen.js';
import tls from 'node:tls';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Codes, formatReply, reply, type Reply } from './codes.js';
import { DataDecoder } from './data.js';
import { LineFramer } from './lines.js';
import { SmtpSession, type Action, type Incoming, type SessionMode, type TlsInfo } from './session.js';
import { ClientNames } from './rdns.js';

/**
 * The SMTP listener (port 25, and implicit TLS when asked): sockets, buffering, PIPELINING,
 * STARTTLS and timeouts. What to answer is decided by session.ts.
 *
 * RFC 2920 (PIPELINING): every complete command already received is processed before the
 * replies are written, in one write; replies go out as soon as the input runs dry.
 */

/** Stop reading from a client whose input we have not processed yet beyond this. */
const INBOX_HIGH_WATER = 1024 * 1024;

/** What all SMTP listeners of one Context share: the connection count (config smtp.max_connections), client names. */
interface Shared {
  connections: number;
  names: ClientNames;
}
const sharedByContext = new WeakMap<Context, Shared>();

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

async function listenSmtp(ctx: Context, listen: ListenAddress, implicitTls: boolean, mode: SessionMode): Promise<net.Server> {
  const log = ctx.log.child(mode === 'submission' ? 'submission' : 'smtp');
  let found = sharedByContext.get(ctx);
  if (!found) sharedByContext.set(ctx, (found = { connections: 0, names: new ClientNames(ctx.dns) }));
  const shared = found;
  const server = net.createServer({ noDelay: true }, (socket) => {
    shared.connections++;
    socket.once('close', () => shared.connections--);
    try {
      if (shared.connections > ctx.config.smtp.max_connections) {
        log.warn(null, `too many connections (${shared.connections - 1}); refusing ${socket.remoteAddress}`);
        socket.end(formatReply(reply(Codes.ClosingBusy, `${ctx.config.hostname} Error: too many connections; try again later`)));
        socket.on('error', () => undefined);
        return;
      }
      new Connection(ctx, log, socket, implicitTls, shared.names, mode).start();
    } catch (e) {
      log.error(null, `smtp: cannot set up connection: ${(e as Error).stack ?? e}`);
      socket.destroy();
    }
  });
  server.on('error', (e) => log.error(null, `smtp listener ${listen.text}: ${e.message}`));
  await listenOn(server, listen);
  return server;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'data'; decoder: DataDecoder; incoming: Incoming }
  /** STARTTLS accepted: nothing more is read as plaintext. */
  | { kind: 'upgrading' }
  | { kind: 'closed' };

class Connection {
  private socket: net.Socket;
  private session!: SmtpSession;
  private readonly framer: LineFramer;
  private mode: Mode = { kind: 'command' };
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private busy = false;
  private out = '';
  private logged = false;
  private readonly onData = (chunk: Buffer) => this.received(chunk);

  constructor(
    private readonly ctx: Context,
    private readonly log: Logger,
    private readonly raw: net.Socket,
    private readonly implicitTls: boolean,
    private readonly names: ClientNames,
    private readonly service: SessionMode,
  ) {
    this.socket = raw;
    this.framer = new LineFramer(ctx.config.smtp.max_line_length);
  }

  start(): void {
    const raw = this.raw;
    const ip = normalizeIp(raw.remoteAddress ?? '');
    const peer = { ip, port: raw.remotePort ?? 0, name: this.names.lookup(ip) };
    this.log.debug(null, `connect from [${ip}]:${peer.port}${this.implicitTls ? ' (TLS)' : ''}`);
    raw.on('error', (e) => this.gone(e));
    raw.on('close', () => this.gone(null));
    this.armTimeout(raw);
    this.session = new SmtpSession(this.ctx, this.log, peer, null, this.service);
    if (this.implicitTls) {
      this.mode = { kind: 'upgrading' };
      this.handshake(() => this.send(this.session.greeting()));
      return;
    }
    raw.on('data', this.onData);
    this.send(this.session.greeting());
  }

  private armTimeout(s: net.Socket): void {
    const ms = this.ctx.config.smtp.idle_timeout * 1000;
    if (!ms) return;
    s.setTimeout(ms);
    s.on('timeout', () => {
      if (this.mode.kind === 'closed') return;
      // We may be the slow side (a long fsync): only a silent client is timed out. Node's
      // timer does not restart by itself without socket activity, hence the re-arm.
      if (this.busy) {
        s.setTimeout(ms);
        return;
      }
      if (this.mode.kind === 'upgrading') {
        this.socket.destroy();
        return;
      }
      const stage = this.mode.kind === 'data' ? 'DATA' : 'command';
      this.log.info(null, `timeout after ${stage} from ${this.session?.clientText() ?? 'client'}`);
      // RFC 5321 4.5.3.2.7 and 3.8: 421 and close.
      this.closeWith([reply(Codes.ClosingTimeout, `${this.ctx.config.hostname} Error: timeout exceeded`)]);
    });
  }

  private received(chunk: Buffer): void {
    if (this.mode.kind === 'closed' || this.mode.kind === 'upgrading') return;
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    if (!this.busy) void this.pump();
    else if (this.inboxBytes > INBOX_HIGH_WATER) this.socket.pause();
  }

  /** Processes the inbox in order, one chunk at a time; only one pump runs at a time. */
  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.inbox.length && (this.mode.kind === 'command' || this.mode.kind === 'data')) {
        const chunk = this.inbox.shift()!;
        this.inboxBytes -= chunk.length;
        await this.consume(chunk);
        if (this.socket.writableLength > INBOX_HIGH_WATER) await this.drained();
      }
      this.flush();
    } catch (e) {
      this.log.error(null, `session with ${this.session.clientText()} failed: ${(e as Error).stack ?? e}`);
      this.closeWith([reply(Codes.ClosingBusy, `${this.ctx.config.hostname} Error: internal error; closing connection`)]);
    } finally {
      this.busy = false;
      if (this.mode.kind === 'command' || this.mode.kind === 'data') {
        if (this.socket.isPaused()) this.socket.resume();
        if (this.inbox.length) void this.pump();
      }
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private async consume(chunk: Buffer): Promise<void> {
    let buf = chunk;
    while (buf.length) {
      const mode = this.mode;
      if (mode.kind === 'data') {
        const r = mode.decoder.push(buf);
        for (const b of r.out) {
          await mode.incoming.write(b);
          if (this.mode.kind !== 'data') return; // client went away meanwhile
        }
        if (!r.done) return;
        buf = r.rest;
        this.mode = { kind: 'command' };
        const answer = await this.session.endData(mode.incoming);
        this.queue(answer);
        continue;
      }
      if (mode.kind !== 'command') return;
      this.framer.push(buf);
      buf = EMPTY;
      for (let f = this.framer.next(); f; f = this.framer.next()) {
        const action = await this.session.frame(f);
        if (this.mode.kind !== 'command') return; // closed while we waited
        if (!this.apply(action)) return;
        if (action.kind === 'data') {
          this.mode = { kind: 'data', decoder: new DataDecoder(), incoming: action.incoming };
          // RFC 2920 3.1: DATA ends a pipelined group; the client waits for 354.
          this.flush();
          buf = this.framer.takeRest();
          break;
        }
      }
    }
  }

  /** Carries out an action; false when no more input is to be read as commands. */
  private apply(a: Action): boolean {
    switch (a.kind) {
      case 'none':
        return true;
      case 'reply':
      case 'data':
        this.queue(a.reply);
        return true;
      case 'close':
        this.closeWith(a.replies);
        return false;
      case 'starttls':
        this.startTls(a.reply);
        return false;
    }
  }

  private queue(r: Reply): void {
    this.out += formatReply(r);
  }

  private flush(): void {
    if (!this.out || this.mode.kind === 'closed') return;
    this.socket.write(this.out);
    this.out = '';
  }

  private send(r: Reply): void {
    this.queue(r);
    this.flush();
  }

  private closeWith(replies: Reply[]): void {
    if (this.mode.kind === 'closed') return;
    for (const r of replies) this.queue(r);
    this.flush();
    this.abortData();
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.socket.end();
    // A client that never reads its replies must not keep the socket forever; the timer goes
    // with the socket, or it would hold every closed connection in memory for its 10 seconds.
    const t = setTimeout(() => this.socket.destroy(), 10_000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  private gone(e: Error | null): void {
    if (this.mode.kind === 'closed') {
      if (!e) this.disconnected();
      return;
    }
    if (e) this.log.debug(null, `connection error from ${this.session?.clientText() ?? 'client'}: ${e.message}`);
    if (this.mode.kind === 'data') {
      this.log.info(this.mode.incoming.writer.id, `lost connection after DATA (${this.mode.incoming.size} octets) from ${this.session.clientText()}; message discarded`);
    }
    this.abortData();
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.socket.destroy();
    if (!e) this.disconnected();
  }

  private disconnected(): void {
    if (!this.session || this.logged) return;
    this.logged = true;
    this.log.debug(null, `disconnect from ${this.session.clientText()} ${this.session.summary()}`);
  }

  /** Whatever the state, a message not yet committed leaves nothing behind. */
  private abortData(): void {
    if (this.mode.kind === 'data') void this.mode.incoming.abort();
  }

  /**
   * RFC 3207 4.2: after "220 Ready to start TLS" the next bytes must be the TLS handshake.
   * Anything the client pipelined after STARTTLS is thrown away, never executed inside TLS
   * (CVE-2011-0411 and kin). Bytes read before the switch are dropped here; bytes arriving
   * later stay in the socket and go to the TLS layer, which fails on them.
   */
  private startTls(r: Reply): void {
    this.mode = { kind: 'upgrading' };
    this.framer.reset();
    this.inbox = [];
    this.inboxBytes = 0;
    const raw = this.raw;
    raw.pause();
    raw.off('data', this.onData);
    this.queue(r);
    const out = this.out;
    this.out = '';
    raw.write(out, () => {
      if (this.mode.kind !== 'upgrading') return;
      this.handshake(() => undefined);
    });
  }

  private handshake(onSecure: () => void): void {
    const secure = new tls.TLSSocket(this.raw, { isServer: true, secureContext: this.ctx.tls() });
    this.socket = secure;
    secure.on('error', (e) => this.gone(e));
    secure.on('close', () => this.gone(null));
    secure.once('secure', () => {
      if (this.mode.kind === 'closed') return;
      this.raw.setTimeout(0);
      this.armTimeout(secure);
      this.session.tlsStarted(this.tlsInfo());
      this.mode = { kind: 'command' };
      secure.on('data', this.onData);
      onSecure();
    });
  }

  private tlsInfo(): TlsInfo {
    const s = this.socket as tls.TLSSocket;
    const cipher = s.getCipher();
    return { protocol: s.getProtocol() ?? 'TLS', cipher: cipher?.standardName ?? cipher?.name ?? 'unknown' };
  }
}

const EMPTY = Buffer.alloc(0);

/** "::ffff:127.0.0.1" is how an IPv4 client looks on a dual-stack socket. */
function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
