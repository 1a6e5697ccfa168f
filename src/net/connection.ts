import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import { clientAddress } from './address.js';

/**
 * One client connection of any line protocol (SMTP, submission, LMTP, POP3, IMAP): the
 * socket, TLS (implicit or started by a command), back-pressure, the idle timer, the
 * total-time limits, and closing with a deadline. What to answer is the protocol's Session.
 */

/** A limit that ran out; the session says its last words for it. */
export type Expiry =
  /** No byte from the client for the idle time while we waited for it. */
  | 'idle'
  /** Not logged in within the login time (issue 9 item 11: every protocol with a login). */
  | 'login'
  /** One command line took longer than its total time to arrive. */
  | 'line'
  /** SMTP DATA took longer than its total time (RFC 5321 4.5.3.2). */
  | 'data'
  /** An IMAP literal (APPEND) took longer than its total time. */
  | 'literal';

/** What the client is in the middle of sending; each kind has its own total-time limit. */
export type Receiving = 'line' | 'data' | 'literal' | null;

/** What a protocol supplies: bytes in, and a few questions the layer asks. */
export interface Session {
  /** The connection is ready (after the handshake on implicit-TLS ports): greet. */
  open(): void;
  /** Bytes from the client, in order (already decrypted). Call `progress()` after processing. */
  input(chunk: Buffer): void;
  /** Octets received and not yet processed: above the high-water mark reading stops. */
  pending(): number;
  receiving(): Receiving;
  /** True while the server is working on a command: our own slowness is not the client's idleness. */
  working(): boolean;
  /** A limit ran out: say so in the protocol's words, then `close()`. */
  expired(why: Expiry): void;
  /** The socket is gone, whatever the way; called once. */
  ended(): void;
  /** The server is stopping: say goodbye, then `close()`. Without it, sessions run to their end. */
  shutdown?(): void;
}

/**
 * What a session may use of its connection: a Connection over a socket, or another carrier
 * (`sendmail -bs` runs the SMTP connection code over standard input and output).
 */
export interface Wire {
  readonly ip: string;
  readonly port: number;
  readonly secure: boolean;
  tlsInfo(): { protocol: string; cipher: string } | null;
  /** Writes now; false when the output buffer is full (wait with `drained()`). */
  write(data: string | Buffer): boolean;
  /** Octets written and not yet taken by the peer. */
  readonly writeBacklog: number;
  drained(): Promise<void>;
  progress(): void;
  loggedIn(): void;
  startTls(): Promise<boolean>;
  close(): void;
}

/** Milliseconds. `login` null: the service has no login (port 25, LMTP). */
export interface Timers {
  idle: number;
  login: number | null;
  line: number;
  data: number;
  literal: number;
}

export interface ConnectionOptions {
  id: string;
  log: Logger;
  implicitTls: boolean;
  timers: Timers;
  /** Unprocessed input beyond which we stop reading from the client. */
  highWater: number;
  tlsContext: () => tls.SecureContext;
}

/** A TLS handshake not finished by then is abandoned. */
const HANDSHAKE_MS = 30_000;
/** After our last words, a client that does not read them loses the socket after this. */
const CLOSE_GRACE_MS = 5_000;

export class ConnectionClosed extends Error {}

type State = 'handshake' | 'open' | 'upgrading' | 'closing' | 'closed';

export class Connection implements Wire {
  readonly ip: string;
  readonly port: number;
  private sock: net.Socket;
  private state: State = 'open';
  private session!: Session;
  private secureNow = false;
  private pausedByUs = false;
  private idleMs: number;
  private loginTimer: NodeJS.Timeout | null = null;
  private unit: { kind: Exclude<Receiving, null>; timer: NodeJS.Timeout } | null = null;
  private endedOnce = false;
  /** Writers waiting for the client to read: then the client, not the server, is the slow side. */
  private waitingForReader = 0;
  /** A limit ran out: the session is saying its last words; input is no longer read. */
  private expiring = false;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onTimeout = () => this.expire('idle');

  constructor(private readonly raw: net.Socket, private readonly opts: ConnectionOptions) {
    this.sock = raw;
    this.ip = clientAddress(raw);
    this.port = raw.remotePort ?? 0;
    this.idleMs = opts.timers.idle;
  }

  get id(): string {
    return this.opts.id;
  }

  get secure(): boolean {
    return this.secureNow;
  }

  /** The socket to write to (the TLS one once TLS runs); for streaming writers like IMAP's Output. */
  get socket(): net.Socket {
    return this.sock;
  }

  get closed(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  get writeBacklog(): number {
    return this.sock.writableLength;
  }

  /** Protocol and cipher, once TLS runs. */
  tlsInfo(): { protocol: string; cipher: string } | null {
    if (!this.secureNow) return null;
    const s = this.sock as tls.TLSSocket;
    const c = s.getCipher();
    return { protocol: s.getProtocol() ?? 'TLS', cipher: c?.standardName ?? c?.name ?? 'unknown' };
  }

  start(session: Session): void {
    this.session = session;
    const raw = this.raw;
    raw.on('error', (e) => this.lost(e));
    raw.on('close', () => this.lost(null));
    if (this.opts.timers.login !== null) {
      this.loginTimer = setTimeout(() => this.expire('login'), this.opts.timers.login);
      this.loginTimer.unref();
    }
    if (this.opts.implicitTls) {
      this.state = 'handshake';
      void this.handshake().then((ok) => ok && session.open());
      return;
    }
    this.attach(raw);
    session.open();
  }

  /** The client logged in: the login time no longer applies. */
  loggedIn(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
  }

  /** A new idle time (IMAP allows more once logged in, RFC 9051 5.4). */
  setIdle(ms: number): void {
    this.idleMs = ms;
    if (this.state === 'open') this.sock.setTimeout(ms);
  }

  /** Writes now; false when the socket's buffer is full (wait with `drained()`). */
  write(data: string | Buffer): boolean {
    if (this.closed || this.sock.destroyed) return false;
    return this.sock.write(data);
  }

  /** Writes and resolves once the socket can take more; rejects when the connection is gone. */
  async send(data: string | Buffer): Promise<void> {
    if (this.closed || this.sock.destroyed || !this.sock.writable) throw new ConnectionClosed('connection closed');
    if (this.sock.write(data)) return;
    await this.drained();
    if (this.state === 'closed') throw new ConnectionClosed('connection closed while sending');
  }

  /** Resolves when the socket's write buffer has room again, or the socket is gone. */
  drained(): Promise<void> {
    const s = this.sock;
    if (!s.writableNeedDrain || s.destroyed) return Promise.resolve();
    this.waitingForReader++;
    return new Promise((resolve) => {
      const done = () => {
        this.waitingForReader--;
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  /** The session processed input: read again if it is below the high-water mark; restart the right total-time timer. */
  progress(): void {
    if (this.state !== 'open' || this.expiring) return;
    const over = this.session.pending() > this.opts.highWater;
    if (over && !this.pausedByUs) {
      this.pausedByUs = true;
      this.sock.pause();
    } else if (!over && this.pausedByUs) {
      this.pausedByUs = false;
      this.sock.resume();
    }
    this.watchUnit();
  }

  /** The session is hanging up on input it will not read (e.g. an oversized literal already on its way). */
  stopReading(): void {
    if (this.state !== 'open') return;
    this.expiring = true;
    this.clearUnit();
    this.sock.pause();
  }

  /**
   * RFC 3207 4.2, RFC 2595 4, RFC 9051 6.2.1: the session has written its "go ahead"; from
   * here on the next bytes must be the TLS handshake. Whatever the client pipelined after the
   * command is not read as commands: the session drops what it had buffered, and bytes still
   * in the socket go to the TLS layer, which fails on them. Resolves false if the handshake
   * failed (the connection is then closed).
   */
  async startTls(): Promise<boolean> {
    if (this.state !== 'open') return false;
    this.state = 'upgrading';
    const raw = this.sock;
    raw.off('data', this.onData);
    raw.off('timeout', this.onTimeout);
    raw.setTimeout(0);
    raw.pause();
    this.clearUnit();
    await new Promise<void>((resolve) => raw.write('', () => resolve()));
    if (this.state !== 'upgrading') return false;
    return this.handshake();
  }

  private handshake(): Promise<boolean> {
    const secure = new tls.TLSSocket(this.raw, { isServer: true, secureContext: this.opts.tlsContext() });
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(new Error('timed out')), HANDSHAKE_MS);
      timer.unref();
      const fail = (e: Error) => {
        clearTimeout(timer);
        this.opts.log.debug(this.id, `TLS handshake with [${this.ip}] failed: ${e.message}`);
        secure.destroy();
        this.lost(null);
        resolve(false);
      };
      secure.once('error', fail);
      secure.once('secure', () => {
        clearTimeout(timer);
        secure.off('error', fail);
        if (this.closed) return resolve(false);
        secure.on('error', (e) => this.lost(e));
        secure.on('close', () => this.lost(null));
        this.sock = secure;
        this.secureNow = true;
        this.state = 'open';
        this.attach(secure);
        resolve(true);
      });
    });
  }

  private attach(s: net.Socket): void {
    s.setNoDelay(true);
    s.setTimeout(this.idleMs);
    s.on('timeout', this.onTimeout);
    s.on('data', this.onData);
  }

  private received(chunk: Buffer): void {
    if (this.state !== 'open' || this.expiring) return;
    this.session.input(chunk);
    this.progress();
  }

  /** One timer for what the client is in the middle of sending; it restarts when that changes. */
  private watchUnit(): void {
    const kind = this.session.receiving();
    if (this.unit?.kind === kind) return;
    this.clearUnit();
    if (!kind) return;
    const timer = setTimeout(() => this.expire(kind), this.opts.timers[kind]);
    timer.unref();
    this.unit = { kind, timer };
  }

  private clearUnit(): void {
    if (this.unit) clearTimeout(this.unit.timer);
    this.unit = null;
  }

  private expire(why: Expiry): void {
    if (this.closed || this.expiring) return;
    if (this.state !== 'open') {
      // A handshake that does not finish: nothing can be said in the protocol.
      this.destroy();
      return;
    }
    if (why === 'idle' && this.session.working() && this.waitingForReader === 0) {
      // Node does not re-arm the idle timer by itself without socket activity.
      this.sock.setTimeout(this.idleMs);
      return;
    }
    // No more input is read; the session closes after its last words (which may need a
    // flush first), and if it does not, the socket goes anyway.
    this.expiring = true;
    this.clearUnit();
    this.session.expired(why);
    const t = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    t.unref();
    this.raw.once('close', () => clearTimeout(t));
  }

  /**
   * Ends the connection after what was written: the peer gets its last words, but a client
   * that never reads cannot hold the socket (and its descriptor) beyond the grace time.
   */
  close(lastWords?: string | Buffer): void {
    if (this.closed) return;
    this.state = 'closing';
    this.stopTimers();
    const s = this.sock;
    s.off('data', this.onData);
    if (lastWords !== undefined && !s.destroyed) s.write(lastWords);
    s.end();
    const t = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    t.unref();
    // Else the timer keeps the closed session in memory for its grace time.
    s.once('close', () => clearTimeout(t));
  }

  destroy(): void {
    this.sock.destroy();
    if (this.sock !== this.raw) this.raw.destroy();
  }

  /** The server is stopping. */
  shutdown(): void {
    if (this.closed) return;
    if (this.session.shutdown) this.session.shutdown();
  }

  private lost(e: Error | null): void {
    if (e) this.opts.log.debug(this.id, `connection error from [${this.ip}]: ${e.message}`);
    this.state = 'closed';
    this.stopTimers();
    this.destroy();
    if (this.endedOnce) return;
    this.endedOnce = true;
    try {
      this.session.ended();
    } catch (err) {
      this.opts.log.error(this.id, `error ending session: ${(err as Error).stack ?? err}`);
    }
  }

  private stopTimers(): void {
    this.loggedIn();
    this.clearUnit();
    this.sock.setTimeout(0);
  }
}
