import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ReplyParser, ReplyError, parseEhlo, replyText, statusOf, type Extensions, type Reply } from './reply.js';
import { DotStuffer } from './data.js';

/**
 * The SMTP client outbound delivery uses (RFC 5321 as the sender-SMTP): one connection to
 * one address, greeting, EHLO (HELO if refused), STARTTLS (RFC 3207), AUTH PLAIN/LOGIN
 * (RFC 4954) to a smart host, then transactions with per-recipient replies, PIPELINING
 * (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and DSN (RFC 3461)
 * parameters. The connection can carry several transactions (RSET between failed ones).
 *
 * Errors are SmtpClientError: `temporary` says whether the recipients should be retried,
 * `status` is the enhanced code to report, `reply` the server's words when it said something.
 */

export type TlsMode = 'none' | 'opportunistic' | 'required';

export interface ClientOptions {
  /** The address to connect to. */
  address: string;
  port: number;
  /** The host's name (MX name), for TLS SNI/verification and logs. */
  hostname: string;
  /** Our name in EHLO (S30). */
  helo: string;
  /** Milliseconds. */
  connectTimeout: number;
  commandTimeout: number;
  dataTimeout: number;
  tls: TlsMode;
  /** Only with tls "required": verify the certificate chain and name. */
  tlsVerify: boolean;
  auth?: { user: string; password: string } | null;
  /** Send a password over a connection without TLS (only when the admin chose tls "none"). */
  authWithoutTls?: boolean;
  /** Transcript lines (C: / S:), for a debug log. */
  trace?: (line: string) => void;
}

export class SmtpClientError extends Error {
  constructor(
    message: string,
    readonly temporary: boolean,
    readonly status: string,
    readonly reply: Reply | null = null,
    /** The connection failed before any transaction: the next MX may do better. */
    readonly hostLevel = true,
  ) {
    super(message);
  }
}

export interface OutRecipient {
  address: string;
  /** RFC 3461 NOTIFY values, passed on when the server has DSN. */
  notify?: string[];
  /** RFC 3461 ORCPT, "type;address" or a bare address. */
  orcpt?: string | null;
}

export interface Transaction {
  sender: string;
  recipients: OutRecipient[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** The data uses 8-bit octets (BODY=8BITMIME). */
  eightBit: boolean;
  /** Addresses or headers use UTF-8 (RFC 6531 SMTPUTF8). */
  smtputf8: boolean;
  /** The message, not yet dot-stuffed. */
  message: Buffer;
}

export interface TransactionResult {
  /** One reply per recipient, in order (the MAIL reply for all when MAIL failed). */
  rcpt: Reply[];
  /** The reply after the data, for the recipients RCPT accepted; null when none were. */
  data: Reply | null;
}

/** RFC 3461 4: xtext, for ENVID and ORCPT. */
export function xtext(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 33 && b <= 126 && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : '+' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;

export class SmtpConnection {
  private socket: Socket | TLSSocket;
  private parser = new ReplyParser();
  private replies: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private onData = (d: Buffer) => this.receive(d);
  ext: Extensions = parseEhlo({ code: 250, enhanced: null, lines: [''] });
  tls = false;
  authenticated = false;
  /** Transactions sent on this connection. */
  transactions = 0;
  /** "mx.example[192.0.2.1]:25", as log lines name a relay. */
  readonly relay: string;

  private constructor(private readonly o: ClientOptions, socket: Socket) {
    this.socket = socket;
    this.relay = `${o.hostname}[${o.address}]:${o.port}`;
    this.attach(socket);
  }

  /** Connects and gets the session ready for MAIL: greeting, EHLO, STARTTLS, AUTH. */
  static async open(o: ClientOptions): Promise<SmtpConnection> {
    try {
      return await SmtpConnection.openOnce(o);
    } catch (e) {
      // RFC 7435: a failed opportunistic handshake is retried in the clear, on a new connection.
      if (e instanceof TlsHandshakeError && o.tls === 'opportunistic') {
        o.trace?.(`TLS handshake with ${o.address} failed (${e.message}); retrying without STARTTLS`);
        return SmtpConnection.openOnce({ ...o, tls: 'none', authWithoutTls: false });
      }
      throw e;
    }
  }

  private static async openOnce(o: ClientOptions): Promise<SmtpConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: o.address, port: o.port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new SmtpClientError(`connect to ${o.hostname}[${o.address}]:${o.port}: timed out after ${o.connectTimeout / 1000} s`, true, '4.4.1'));
      }, o.connectTimeout);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(t);
        reject(new SmtpClientError(`connect to ${o.hostname}[${o.address}]:${o.port}: ${e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message}`, true, '4.4.1'));
      });
    });
    const c = new SmtpConnection(o, socket);
    try {
      await c.handshake();
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  get usable(): boolean {
    return !this.failure && !this.socket.destroyed;
  }

  private attach(s: Socket | TLSSocket): void {
    s.on('data', this.onData);
    s.on('error', (e) => this.fail(new SmtpClientError(`${this.relay}: ${e.message}`, true, '4.4.2')));
    s.on('close', () => this.fail(new SmtpClientError(`${this.relay}: lost connection`, true, '4.4.2')));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  private receive(d: Buffer): void {
    let got: Reply[];
    try {
      got = this.parser.push(d);
    } catch (e) {
      this.fail(new SmtpClientError(`${this.relay}: ${(e as ReplyError).message}`, true, '4.5.0'));
      this.socket.destroy();
      return;
    }
    for (const r of got) {
      this.o.trace?.(`S: ${replyText(r)}`);
      this.replies.push(r);
    }
    if (this.waiter && this.replies.length) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(this.replies.shift()!);
    }
  }

  private read(what: string, timeoutMs = this.o.commandTimeout): Promise<Reply> {
    if (this.replies.length) return Promise.resolve(this.replies.shift()!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        const e = new SmtpClientError(`${this.relay}: timed out after ${timeoutMs / 1000} s waiting for the reply to ${what}`, true, '4.4.2');
        this.fail(e);
        this.socket.destroy();
        reject(e);
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => { clearTimeout(t); resolve(r); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
    });
  }

  private write(text: string, secret = false): void {
    if (this.failure) throw this.failure;
    if (this.o.trace) for (const l of text.split('\r\n')) if (l) this.o.trace(`C: ${secret ? l.replace(/^(AUTH \S+ )?.*$/, '$1<secret>') : l}`);
    this.socket.write(text);
  }

  private async command(line: string, what = line.split(/[ :]/)[0], secret = false): Promise<Reply> {
    this.write(line + '\r\n', secret);
    return this.read(what);
  }

  private async handshake(): Promise<void> {
    const greeting = await this.read('the greeting');
    if (greeting.code !== 220) throw this.refusal('greeting', greeting);
    await this.ehlo();
    if (this.o.tls !== 'none' && this.ext.starttls) {
      const r = await this.command('STARTTLS');
      if (r.code === 220) {
        await this.startTls();
        await this.ehlo();
      } else if (this.o.tls === 'required') {
        throw new SmtpClientError(`${this.relay}: STARTTLS refused: ${replyText(r)}`, true, '4.7.0', r);
      }
    } else if (this.o.tls === 'required') {
      throw new SmtpClientError(`${this.relay}: TLS is required but the server does not offer STARTTLS`, true, '4.7.0');
    }
    if (this.o.auth) await this.authenticate(this.o.auth);
  }

  private async ehlo(): Promise<void> {
    const r = await this.command(`EHLO ${this.o.helo}`);
    if (r.code === 250) {
      this.ext = parseEhlo(r);
      return;
    }
    // RFC 5321 3.2: a server that does not know EHLO gets HELO (and no extensions).
    if (r.code >= 500 && r.code < 600) {
      const h = await this.command(`HELO ${this.o.helo}`);
      if (h.code === 250) {
        this.ext = parseEhlo({ ...h, lines: [h.lines[0] ?? ''] });
        return;
      }
      throw this.refusal('HELO', h);
    }
    throw this.refusal('EHLO', r);
  }

  /**
   * RFC 3207 4.2 (and the client side of CVE-2011-0411): anything the server sent after its
   * 220 and before the handshake would be read as if it came through TLS. Such a server is
   * not talked to further.
   */
  private async startTls(): Promise<void> {
    if (this.replies.length || this.parser.buffered) {
      throw new SmtpClientError(`${this.relay}: server sent data after its STARTTLS reply (response injection?)`, true, '4.7.0');
    }
    const plain = this.socket as Socket;
    plain.removeListener('data', this.onData);
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const verify = this.o.tls === 'required' && this.o.tlsVerify;
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const servername = /^[0-9.]+$|:/.test(this.o.hostname) || this.o.hostname.startsWith('[') ? undefined : this.o.hostname;
      const s = tlsConnect({ socket: plain, servername, rejectUnauthorized: verify, minVersion: 'TLSv1.2' });
      const t = setTimeout(() => {
        s.destroy();
        reject(new TlsHandshakeError('handshake timed out'));
      }, this.o.connectTimeout);
      s.once('secureConnect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(verify ? new SmtpClientError(`${this.relay}: TLS certificate not accepted: ${e.message}`, true, '4.7.5') : new TlsHandshakeError(e.message));
      });
    });
    this.socket = secure;
    this.parser = new ReplyParser();
    this.tls = true;
    this.attach(secure);
  }

  private async authenticate(cred: { user: string; password: string }): Promise<void> {
    if (!this.tls && !this.o.authWithoutTls) {
      throw new SmtpClientError(`${this.relay}: no TLS, so the password is not sent (set smart_host_tls = "none" to allow it)`, true, '4.7.0');
    }
    const mechs = this.ext.auth;
    {
      let r: Reply;
      if (mechs.includes('PLAIN')) {
        // RFC 4616: authzid NUL authcid NUL passwd.
        r = await this.command(`AUTH PLAIN ${Buffer.from(`\0${cred.user}\0${cred.password}`).toString('base64')}`, 'AUTH PLAIN', true);
      } else if (mechs.includes('LOGIN')) {
        r = await this.command('AUTH LOGIN');
        if (r.code === 334) r = await this.command(Buffer.from(cred.user).toString('base64'), 'AUTH LOGIN user name', true);
        if (r.code === 334) r = await this.command(Buffer.from(cred.password).toString('base64'), 'AUTH LOGIN password', true);
      } else {
        throw new SmtpClientError(`${this.relay}: no AUTH mechanism in common (server offers ${mechs.join(' ') || 'none'}; we have PLAIN, LOGIN)`, true, '4.7.0');
      }
      // A failed login is our configuration's fault, not the recipients': keep the mail queued.
      if (r.code !== 235) throw new SmtpClientError(`${this.relay}: authentication failed: ${replyText(r)}`, true, '4.7.0', r);
      this.authenticated = true;
    }
  }

  private refusal(stage: string, r: Reply): SmtpClientError {
    return new SmtpClientError(`${this.relay} refused ${stage}: ${replyText(r)}`, r.code < 500, statusOf(r), r);
  }

  /** MAIL FROM with the parameters this server understands. */
  private mailCommand(tx: Transaction): string {
    let cmd = `MAIL FROM:<${tx.sender}>`;
    if (this.ext.size !== null) cmd += ` SIZE=${tx.message.length}`;
    if (tx.eightBit && this.ext.eightBitMime) cmd += ' BODY=8BITMIME';
    if (tx.smtputf8 && this.ext.smtputf8) cmd += ' SMTPUTF8';
    if (this.ext.dsn) {
      if (tx.ret) cmd += ` RET=${tx.ret}`;
      if (tx.envid) cmd += ` ENVID=${xtext(tx.envid)}`;
    }
    return cmd;
  }

  private rcptCommand(r: OutRecipient): string {
    let cmd = `RCPT TO:<${r.address}>`;
    if (this.ext.dsn) {
      if (r.notify?.length) cmd += ` NOTIFY=${r.notify.join(',')}`;
      if (r.orcpt) {
        const semi = r.orcpt.indexOf(';');
        const [type, addr] = semi > 0 ? [r.orcpt.slice(0, semi), r.orcpt.slice(semi + 1)] : ['rfc822', r.orcpt];
        cmd += ` ORCPT=${type};${xtext(addr)}`;
      }
    }
    return cmd;
  }

  /**
   * One mail transaction. Problems the server states (4xx/5xx to MAIL, RCPT, DATA) come back
   * as replies; problems of the connection (timeouts, a closed socket) throw SmtpClientError.
   */
  async send(tx: Transaction): Promise<TransactionResult> {
    this.transactions++;
    // RFC 6531 3.4 / RFC 6152: what the server cannot carry is refused here, not sent broken.
    if (tx.smtputf8 && !this.ext.smtputf8) {
      const r: Reply = { code: 553, enhanced: '5.6.7', lines: ['SMTPUTF8 is required for this message but the server does not offer it'] };
      return { rcpt: tx.recipients.map(() => r), data: null };
    }
    if (this.ext.size && tx.message.length > this.ext.size) {
      const r: Reply = { code: 552, enhanced: '5.3.4', lines: [`message of ${tx.message.length} octets exceeds the server's SIZE limit of ${this.ext.size}`] };
      return { rcpt: tx.recipients.map(() => r), data: null };
    }
    const mail = this.mailCommand(tx);
    const rcpts = tx.recipients.map((r) => this.rcptCommand(r));
    let mailReply: Reply;
    const rcptReplies: Reply[] = [];
    let dataReply: Reply | null = null;
    if (this.ext.pipelining) {
      // RFC 2920 3.1: MAIL, every RCPT and DATA in one group; replies come back in order.
      this.write([mail, ...rcpts, 'DATA'].join('\r\n') + '\r\n');
      mailReply = await this.read('MAIL FROM');
      for (let i = 0; i < rcpts.length; i++) rcptReplies.push(await this.read('RCPT TO'));
      dataReply = await this.read('DATA');
    } else {
      mailReply = await this.command(mail, 'MAIL FROM');
      if (mailReply.code === 250) {
        for (const c of rcpts) rcptReplies.push(await this.command(c, 'RCPT TO'));
        if (rcptReplies.some((r) => r.code >= 200 && r.code < 300)) dataReply = await this.command('DATA');
      }
    }
    if (mailReply.code !== 250) {
      await this.reset();
      return { rcpt: tx.recipients.map(() => mailReply), data: null };
    }
    const accepted = rcptReplies.some((r) => r.code >= 200 && r.code < 300);
    if (!dataReply || dataReply.code !== 354) {
      await this.reset();
      if (accepted) {
        const r = dataReply ?? { code: 451, enhanced: '4.3.0', lines: ['DATA not accepted'] };
        return { rcpt: rcptReplies, data: r };
      }
      return { rcpt: rcptReplies, data: null };
    }
    // RFC 2920 3.1: a 354 with no valid recipient: send an empty message, then forget it.
    const stuffer = new DotStuffer();
    const out = accepted ? [...stuffer.push(tx.message), ...stuffer.end()] : stuffer.end();
    await this.writeData(out);
    const final = await this.read('the end of data', this.o.dataTimeout);
    if (!accepted) {
      await this.reset();
      return { rcpt: rcptReplies, data: null };
    }
    return { rcpt: rcptReplies, data: final };
  }

  private async writeData(chunks: Buffer[]): Promise<void> {
    const s = this.socket;
    s.cork();
    for (const c of chunks) {
      if (this.failure) throw this.failure;
      if (!s.write(c)) {
        s.uncork();
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new SmtpClientError(`${this.relay}: timed out sending data`, true, '4.4.2')), this.o.dataTimeout);
          const done = () => { clearTimeout(t); s.removeListener('close', done); resolve(); };
          s.once('drain', done);
          s.once('close', done);
        });
        s.cork();
      }
    }
    s.uncork();
    if (this.failure) throw this.failure;
    this.o.trace?.(`C: <${chunks.reduce((n, c) => n + c.length, 0)} octets of data>`);
  }

  /** RSET: ends a failed transaction so the connection can carry another. */
  async reset(): Promise<void> {
    const r = await this.command('RSET');
    if (r.code !== 250) {
      this.fail(new SmtpClientError(`${this.relay}: RSET refused: ${replyText(r)}`, true, statusOf(r), r));
      this.close();
    }
  }

  async quit(): Promise<void> {
    if (!this.usable) return this.close();
    try {
      this.write('QUIT\r\n');
      await this.read('QUIT', 5000);
    } catch {
      // The server may close before or instead of answering; nothing depends on it.
    }
    this.close();
  }

  close(): void {
    this.fail(new SmtpClientError(`${this.relay}: connection closed`, true, '4.4.2'));
    this.socket.destroy();
  }
}

class TlsHandshakeError extends Error {}

/** True when an address or header needs SMTPUTF8 (RFC 6531 3.2). */
export function needsSmtputf8(sender: string, recipients: string[], headers: Buffer): boolean {
  return NON_ASCII.test(sender) || recipients.some((r) => NON_ASCII.test(r)) || headers.some((b) => b > 127);
}
