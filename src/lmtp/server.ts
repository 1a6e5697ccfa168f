import net from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import type { Context } from '../context.js';
import type { ListenAddress } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Codes, formatReply, reply, type Reply } from '../smtp/codes.js';
import { DataDecoder } from '../smtp/data.js';
import { LineFramer } from '../smtp/lines.js';
import type { Incoming } from '../smtp/session.js';
import { LmtpSession } from './session.js';

/**
 * The LMTP listener (RFC 2033), on a TCP address or a Unix socket: another MTA (sendmail's
 * cyrusv2-style mailer, Postfix's lmtp transport) hands local mail to Correo's store.
 * PIPELINING as in SMTP (RFC 2033 4.4 requires it): every complete command received is
 * answered in order, replies written when the input runs dry. No TLS: LMTP is for trusted
 * local peers (loopback or a socket file).
 */

export async function startLmtp(ctx: Context, listen: ListenAddress): Promise<net.Server> {
  return listenOn(ctx, (server) => server.listen(listen.port, listen.host));
}

/** A Unix socket, mode 0660 (like Cyrus's lmtp socket). */
export async function startLmtpSocket(ctx: Context, path: string): Promise<net.Server> {
  rmSync(path, { force: true });
  const server = await listenOn(ctx, (s) => s.listen(path));
  chmodSync(path, 0o660);
  return server;
}

async function listenOn(ctx: Context, listen: (s: net.Server) => void): Promise<net.Server> {
  const log = ctx.log.child('lmtp');
  const server = net.createServer({ noDelay: true }, (socket) => {
    try {
      new LmtpConnection(ctx, log, socket).start();
    } catch (e) {
      log.error(null, `lmtp: cannot set up connection: ${(e as Error).stack ?? e}`);
      socket.destroy();
    }
  });
  server.on('error', (e) => log.error(null, `lmtp listener: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    listen(server);
  });
  return server;
}

type Mode = { kind: 'command' } | { kind: 'data'; decoder: DataDecoder; incoming: Incoming } | { kind: 'closed' };

class LmtpConnection {
  private session!: LmtpSession;
  private readonly framer: LineFramer;
  private mode: Mode = { kind: 'command' };
  private inbox: Buffer[] = [];
  private busy = false;
  private out = '';

  constructor(private readonly ctx: Context, private readonly log: Logger, private readonly socket: net.Socket) {
    this.framer = new LineFramer(ctx.config.smtp.max_line_length);
  }

  start(): void {
    const s = this.socket;
    const ip = s.remoteAddress ?? 'local';
    this.session = new LmtpSession(this.ctx, this.log, { ip: ip.replace(/^::ffff:(?=\d+\.)/, ''), port: s.remotePort ?? 0, name: Promise.resolve(null) });
    this.log.debug(null, `connect from ${ip}`);
    s.on('error', () => this.gone());
    s.on('close', () => this.gone());
    const ms = this.ctx.config.smtp.idle_timeout * 1000;
    if (ms) {
      s.setTimeout(ms);
      s.on('timeout', () => {
        if (this.busy) return s.setTimeout(ms);
        this.closeWith([reply(Codes.ClosingTimeout, `${this.ctx.config.hostname} Error: timeout exceeded`)]);
      });
    }
    s.on('data', (chunk: Buffer) => {
      if (this.mode.kind === 'closed') return;
      this.inbox.push(chunk);
      if (!this.busy) void this.pump();
      else if (this.inbox.length > 64) s.pause(); // the store is slower than the peer: stop reading
    });
    this.send(this.session.greeting());
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.inbox.length && this.mode.kind !== 'closed') await this.consume(this.inbox.shift()!);
      this.flush();
    } catch (e) {
      this.log.error(null, `lmtp session failed: ${(e as Error).stack ?? e}`);
      this.closeWith([reply(Codes.ClosingBusy, `${this.ctx.config.hostname} Error: internal error; closing connection`)]);
    } finally {
      this.busy = false;
      if (this.mode.kind !== 'closed' && this.socket.isPaused()) this.socket.resume();
      if (this.inbox.length && this.mode.kind !== 'closed') void this.pump();
    }
  }

  private async consume(chunk: Buffer): Promise<void> {
    let buf = chunk;
    while (buf.length) {
      const mode = this.mode;
      if (mode.kind === 'data') {
        const r = mode.decoder.push(buf);
        for (const b of r.out) {
          await mode.incoming.write(b);
          if (this.mode.kind !== 'data') return;
        }
        if (!r.done) return;
        buf = r.rest;
        this.mode = { kind: 'command' };
        // RFC 2033 4.2: one reply per recipient.
        for (const answer of await this.session.endData(mode.incoming)) this.out += formatReply(answer);
        continue;
      }
      if (mode.kind !== 'command') return;
      this.framer.push(buf);
      buf = Buffer.alloc(0);
      for (let f = this.framer.next(); f; f = this.framer.next()) {
        const a = await this.session.frame(f);
        if (this.mode.kind !== 'command') return;
        if (a.kind === 'none') continue;
        if (a.kind === 'close') {
          this.closeWith(a.replies);
          return;
        }
        if (a.kind === 'starttls') {
          this.out += formatReply(reply(Codes.NotImplemented, 'Error: STARTTLS is not offered on LMTP'));
          continue;
        }
        this.out += formatReply(a.reply);
        if (a.kind === 'data') {
          this.mode = { kind: 'data', decoder: new DataDecoder(), incoming: a.incoming };
          this.flush();
          buf = this.framer.takeRest();
          break;
        }
      }
    }
  }

  private flush(): void {
    if (!this.out || this.mode.kind === 'closed') return;
    this.socket.write(this.out);
    this.out = '';
  }

  private send(r: Reply): void {
    this.out += formatReply(r);
    this.flush();
  }

  private closeWith(replies: Reply[]): void {
    if (this.mode.kind === 'closed') return;
    for (const r of replies) this.out += formatReply(r);
    this.flush();
    if (this.mode.kind === 'data') void this.mode.incoming.abort();
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 10_000).unref();
  }

  private gone(): void {
    if (this.mode.kind === 'data') {
      this.log.info(this.mode.incoming.writer.id, 'lost connection after DATA; message discarded');
      void this.mode.incoming.abort();
    }
    if (this.mode.kind !== 'closed') this.log.debug(null, `disconnect ${this.session?.summary() ?? ''}`);
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.socket.destroy();
  }
}
