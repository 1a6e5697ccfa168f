import net from 'node:net';
import { listenOn } from '../listen.js';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { LineReader } from './framing.js';
import { ConnectionLost, Session, type Transport } from './session.js';

/** Received bytes not yet handled beyond which we stop reading (a client pipelining without reading). */
const MAX_PENDING_INPUT = 64 * 1024;
/** A TLS handshake that has not finished by then is abandoned. */
const TLS_HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * One client connection: socket plumbing under a Session. It frames input, feeds the session
 * one frame at a time (so pipelined commands run in order, RFC 2449 6.6), applies the idle
 * timer, and swaps the socket for a TLS one on STLS.
 */
class Connection implements Transport {
  private socket: net.Socket;
  private readonly reader = new LineReader();
  private readonly session: Session;
  private busy = false;
  private done = false;
  /** Set while STLS hands the socket to TLS: incoming bytes belong to the handshake. */
  private upgrading = false;
  secure: boolean;
  readonly clientAddress: string;

  constructor(
    private readonly ctx: Context,
    raw: net.Socket,
    private readonly log: Logger,
    private readonly onEnd: (c: Connection) => void,
  ) {
    this.socket = raw;
    this.secure = false;
    this.clientAddress = (raw.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    const id = 'P' + randomBytes(5).toString('hex').toUpperCase();
    this.session = new Session(ctx, this, id, log);
    raw.on('error', (e) => this.log.debug(id, `socket error: ${e.message}`));
    raw.on('close', () => this.finish());
  }

  get id(): string {
    return this.session.id;
  }

  async start(implicitTls: boolean): Promise<void> {
    this.log.debug(this.id, `connect from ${this.clientAddress}:${this.socket.remotePort}${implicitTls ? ' (tls)' : ''}`);
    if (implicitTls) {
      try {
        await this.handshake();
      } catch (e) {
        this.log.debug(this.id, `tls handshake failed: ${(e as Error).message}`);
        this.socket.destroy();
        return;
      }
    } else {
      this.listen();
    }
    await this.session.greet().catch(() => {});
  }

  /** Reads from the current socket into the framer. */
  private listen(): void {
    const s = this.socket;
    // Replies go out in several writes (status line, message, terminator): no Nagle delay between them.
    s.setNoDelay(true);
    s.setTimeout(this.ctx.config.pop3.idle_timeout * 1000);
    s.on('timeout', () => this.session.timeout().catch((e) => this.fail(e)));
    s.on('data', (chunk: Buffer) => {
      if (this.upgrading || this.done) return;
      this.reader.push(chunk);
      if (this.reader.buffered > MAX_PENDING_INPUT) s.pause();
      this.pump().catch((e) => this.fail(e));
    });
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        if (this.session.closed || this.upgrading) break;
        const f = this.reader.next();
        if (!f) break;
        await this.session.handle(f);
      }
    } finally {
      this.busy = false;
    }
    if (!this.done && !this.upgrading && this.reader.buffered <= MAX_PENDING_INPUT && this.socket.isPaused()) this.socket.resume();
  }

  write(data: string | Buffer): Promise<void> {
    const s = this.socket;
    if (this.done || s.destroyed || !s.writable) return Promise.reject(new ConnectionLost('connection closed'));
    if (s.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        s.off('drain', onDrain);
        s.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new ConnectionLost('connection closed while sending'));
      };
      s.on('drain', onDrain);
      s.on('close', onClose);
    });
  }

  setLineLimit(max: number): void {
    this.reader.max = max;
  }

  async startTls(okLine: string): Promise<void> {
    // RFC 2595 4: anything the client pipelined after STLS was sent before it saw our answer;
    // it is dropped, never read as commands inside TLS.
    this.upgrading = true;
    this.reader.discard();
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('timeout');
    raw.setTimeout(0);
    raw.pause();
    await this.write(okLine + '\r\n');
    try {
      await this.handshake();
    } catch (e) {
      throw new ConnectionLost(`tls handshake failed: ${(e as Error).message}`);
    } finally {
      this.upgrading = false;
    }
  }

  /** Wraps the current socket in TLS (server side), then reads from the TLS socket. */
  private handshake(): Promise<void> {
    const raw = this.socket;
    return new Promise((resolve, reject) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls() });
      const timer = setTimeout(() => fail(new Error('timed out')), TLS_HANDSHAKE_TIMEOUT_MS);
      const fail = (e: Error) => {
        clearTimeout(timer);
        secure.destroy();
        raw.destroy();
        reject(e);
      };
      secure.once('error', fail);
      secure.once('secure', () => {
        clearTimeout(timer);
        secure.off('error', fail);
        secure.on('error', (e) => this.log.debug(this.id, `tls error: ${e.message}`));
        secure.on('close', () => this.finish());
        this.socket = secure;
        this.secure = true;
        this.listen();
        resolve();
      });
    });
  }

  close(): void {
    const s = this.socket;
    s.end();
    // A client that never reads must not keep the connection open forever.
    const t = setTimeout(() => s.destroy(), 10_000);
    t.unref();
    s.once('close', () => clearTimeout(t)); // else the timer keeps the closed session in memory
  }

  shutdown(): void {
    void this.session.shutdown();
  }

  /** A bug outside any one command: this connection ends, the server goes on. */
  private fail(e: unknown): void {
    this.log.error(this.id, `connection error, closing: ${(e as Error)?.stack ?? e}`);
    this.socket.destroy();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    try {
      this.session.ended();
    } catch (e) {
      this.log.error(this.id, `error ending session: ${(e as Error).stack ?? e}`);
    }
    this.log.debug(this.id, `disconnect from ${this.clientAddress}`);
    this.onEnd(this);
  }
}

/**
 * A net.Server whose close() also ends the open POP3 sessions (they would otherwise hold the
 * shutdown until their idle timer runs out). Like a dropped connection, this deletes nothing.
 */
class Pop3Server extends net.Server {
  readonly sessions = new Set<Connection>();

  override close(callback?: (err?: Error) => void): this {
    super.close(callback);
    for (const c of this.sessions) c.shutdown();
    return this;
  }
}

/** POP3 on one address: STLS offered when `implicitTls` is false (110), TLS from the first byte otherwise (995). */
export async function startPop3(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<net.Server> {
  const log = ctx.log.child('pop3');
  const server = new Pop3Server();
  server.on('connection', (raw: net.Socket) => {
    const conn = new Connection(ctx, raw, log, (c) => server.sessions.delete(c));
    server.sessions.add(conn);
    conn.start(implicitTls).catch((e) => {
      log.error(conn.id, `connection failed: ${(e as Error).stack ?? e}`);
      raw.destroy();
    });
  });
  await listenOn(server, listen);
  server.on('error', (e) => log.error(null, `pop3 listener ${listen.text}: ${e.message}`));
  return server;
}
