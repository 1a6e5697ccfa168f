import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { SieveStore } from '../store/sieve.js';
import { listenOn } from '../net/listen.js';
import { budgetFrom, createService } from '../net/service.js';
import type { Connection, Expiry, Receiving, Session as NetSession } from '../net/connection.js';
import { CommandReader } from './parser.js';
import { bye } from './responses.js';
import { Session, type Transport } from './session.js';

/**
 * Bounds of one command before login: a line (AUTHENTICATE with a SASL initial response fits)
 * and a string literal (SASL data). After login a line may be longer and a literal as large
 * as a script may be ([sieve] max_script_size; larger ones are skipped and refused, not read).
 */
const LINE_BEFORE_LOGIN = 8 * 1024;
const LITERAL_BEFORE_LOGIN = 8 * 1024;
const LINE_AFTER_LOGIN = 64 * 1024;
/** Received bytes not yet handled beyond which reading stops. */
const MAX_PENDING_INPUT = 64 * 1024;

/** ManageSieve's side of a connection: frames input, feeds the session one frame at a time. */
class SieveConnection implements Transport, NetSession {
  private readonly reader = new CommandReader(LINE_BEFORE_LOGIN, LITERAL_BEFORE_LOGIN);
  private readonly session: Session;
  private busy = false;

  constructor(private readonly ctx: Context, scripts: SieveStore, private readonly conn: Connection, private readonly log: Logger) {
    this.session = new Session(ctx, scripts, this, conn.id, log);
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  get clientAddress(): string {
    return this.conn.ip;
  }

  open(): void {
    this.log.debug(this.conn.id, `connect from ${this.conn.ip}:${this.conn.port}`);
    void this.session.greet().catch(() => undefined);
  }

  input(chunk: Buffer): void {
    this.reader.push(chunk);
    this.pump().catch((e) => this.fail(e));
  }

  pending(): number {
    return this.reader.buffered;
  }

  receiving(): Receiving {
    if (!this.reader.partial) return null;
    return this.reader.inLiteral ? 'literal' : 'line';
  }

  working(): boolean {
    return this.busy;
  }

  expired(why: Expiry): void {
    void this.session.timeout(why);
  }

  ended(): void {
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
      }
    } finally {
      this.busy = false;
    }
    this.conn.progress();
  }

  async write(data: Buffer): Promise<void> {
    await this.conn.send(data).catch(() => undefined);
  }

  async startTls(okLine: Buffer): Promise<boolean> {
    this.reader.discard();
    this.conn.write(okLine);
    return this.conn.startTls();
  }

  loggedIn(yes: boolean): void {
    if (yes) this.conn.loggedIn();
    this.reader.maxLine = yes ? LINE_AFTER_LOGIN : LINE_BEFORE_LOGIN;
    // A script's literal: the size limit itself plus room for CRLF conventions of clients.
    this.reader.maxLiteral = yes ? this.ctx.config.sieve.max_script_size : LITERAL_BEFORE_LOGIN;
  }

  close(): void {
    this.conn.close();
  }

  private fail(e: unknown): void {
    this.log.error(this.conn.id, `connection error, closing: ${(e as Error)?.stack ?? e}`);
    this.conn.destroy();
  }
}

/** RFC 5804 on one address (port 4190): STARTTLS offered; there is no implicit-TLS port for ManageSieve. */
export async function startManageSieve(ctx: Context, scripts: SieveStore, listen: ListenAddress): Promise<net.Server> {
  const log = ctx.log.child('managesieve');
  const c = ctx.config.managesieve;
  const server = createService(ctx, {
    name: 'managesieve',
    log,
    implicitTls: false,
    budget: budgetFrom(c),
    timers: { idle: c.idle_timeout * 1000, login: c.login_timeout * 1000, line: c.command_timeout * 1000, data: c.command_timeout * 1000, literal: c.command_timeout * 1000 },
    highWater: MAX_PENDING_INPUT,
    newId: () => 'S' + randomBytes(5).toString('hex').toUpperCase(),
    refusal: () => bye('Too many connections; try later', 'TRYLATER').toString(),
    session: (conn) => new SieveConnection(ctx, scripts, conn, log),
  });
  await listenOn(server, listen);
  return server;
}
