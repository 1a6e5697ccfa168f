import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { listenOn } from '../net/listen.js';
import { budgetFrom, createService } from '../net/service.js';
import type { Connection, Expiry, Receiving, Session as NetSession } from '../net/connection.js';
import { LineReader } from './framing.js';
import { Reply } from './replies.js';
import { ConnectionLost, Session, type Transport } from './session.js';

/** Received bytes not yet handled beyond which we stop reading (a client pipelining without reading). */
const MAX_PENDING_INPUT = 64 * 1024;

/**
 * POP3's side of a connection: frames input and feeds the session one frame at a time (so
 * pipelined commands run in order, RFC 2449 6.6). Socket, TLS, timers and limits are the
 * connection layer's (src/net/).
 */
class Pop3Connection implements Transport, NetSession {
  private readonly reader = new LineReader();
  private readonly session: Session;
  private busy = false;

  constructor(ctx: Context, private readonly conn: Connection, private readonly log: Logger) {
    this.session = new Session(ctx, this, conn.id, log);
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  get clientAddress(): string {
    return this.conn.ip;
  }

  open(): void {
    this.log.debug(this.conn.id, `connect from ${this.conn.ip}:${this.conn.port}${this.conn.secure ? ' (tls)' : ''}`);
    void this.session.greet().catch(() => {});
  }

  input(chunk: Buffer): void {
    this.reader.push(chunk);
    this.pump().catch((e) => this.fail(e));
  }

  pending(): number {
    return this.reader.buffered;
  }

  receiving(): Receiving {
    return this.reader.partial ? 'line' : null;
  }

  working(): boolean {
    return this.busy;
  }

  expired(why: Expiry): void {
    void this.session.timeout(why);
  }

  ended(): void {
    this.session.ended();
    this.log.debug(this.conn.id, `disconnect from ${this.conn.ip}`);
  }

  shutdown(): void {
    void this.session.shutdown();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        if (this.session.closed) break;
        const f = this.reader.next();
        if (!f) break;
        await this.session.handle(f);
        if (this.session.loggedIn) this.conn.loggedIn();
      }
    } finally {
      this.busy = false;
    }
    this.conn.progress();
  }

  async write(data: string | Buffer): Promise<void> {
    try {
      await this.conn.send(data);
    } catch (e) {
      throw new ConnectionLost((e as Error).message);
    }
  }

  setLineLimit(max: number): void {
    this.reader.max = max;
  }

  /** RFC 2595 4: anything the client pipelined after STLS is dropped, never read as commands inside TLS. */
  async startTls(okLine: string): Promise<void> {
    this.reader.discard();
    this.conn.write(okLine + '\r\n');
    if (!(await this.conn.startTls())) throw new ConnectionLost('tls handshake failed');
  }

  close(): void {
    this.conn.close();
  }

  /** A bug outside any one command: this connection ends, the server goes on. */
  private fail(e: unknown): void {
    this.log.error(this.conn.id, `connection error, closing: ${(e as Error)?.stack ?? e}`);
    this.conn.destroy();
  }
}

/** POP3 on one address: STLS offered when `implicitTls` is false (110), TLS from the first byte otherwise (995). */
export async function startPop3(ctx: Context, listen: ListenAddress, implicitTls: boolean): Promise<net.Server> {
  const log = ctx.log.child('pop3');
  const c = ctx.config.pop3;
  const server = createService(ctx, {
    name: 'pop3',
    log,
    implicitTls,
    budget: budgetFrom(c),
    timers: { idle: c.idle_timeout * 1000, login: c.login_timeout * 1000, line: c.command_timeout * 1000, data: c.command_timeout * 1000, literal: c.command_timeout * 1000 },
    highWater: MAX_PENDING_INPUT,
    newId: () => 'P' + randomBytes(5).toString('hex').toUpperCase(),
    refusal: (why) => (why === 'address' || why === 'rate' ? Reply.tooManyFromAddress : Reply.tooManyConnections) + '\r\n',
    session: (conn) => new Pop3Connection(ctx, conn, log),
  });
  await listenOn(server, listen);
  return server;
}
