/**
 * The relay benchmark's submission client: N connections at once, each doing EHLO, STARTTLS
 * (port 587) or a TLS handshake at connect (port 465), EHLO again, AUTH PLAIN, then M messages
 * one after the other (MAIL, RCPT, DATA, each waiting for its reply, as smtp-source does), QUIT.
 * Any reply other than the expected one fails the run: a benchmark that loses mail measures nothing.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export type TlsMode = 'starttls' | 'implicit';

export interface RelayLoad {
  host: string;
  port: number;
  tls: TlsMode;
  connections: number;
  /** Messages per connection. */
  perConnection: number;
  /** Approximate message size in bytes, headers included. */
  size: number;
  user: string;
  password: string;
  /** Envelope sender and From: an address the user owns (Correo answers 553 otherwise). */
  sender: string;
  /** Recipient domain; each connection sends to its own local part there. */
  domain: string;
}

/** Reads SMTP replies (RFC 5321 4.2: the last line of a reply has a space after the code). */
class Replies {
  private buf = '';
  private waiting: ((r: string) => void) | null = null;
  private ready: string[] = [];
  private failure: Error | null = null;
  private failWaiter: ((e: Error) => void) | null = null;

  attach(s: Socket | TLSSocket): void {
    s.setEncoding('latin1');
    s.on('data', (d: string) => this.push(d));
    s.on('error', (e) => this.fail(e));
    s.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  detach(s: Socket): void {
    s.removeAllListeners('data');
    s.removeAllListeners('error');
    s.removeAllListeners('close');
    s.on('error', () => undefined);
  }

  private push(d: string): void {
    this.buf += d;
    for (;;) {
      let start = 0;
      let found = -1;
      for (;;) {
        const nl = this.buf.indexOf('\n', start);
        if (nl < 0) break;
        if (this.buf[start + 3] !== '-') {
          found = nl;
          break;
        }
        start = nl + 1;
      }
      if (found < 0) return;
      const reply = this.buf.slice(0, found + 1);
      this.buf = this.buf.slice(found + 1);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        this.failWaiter = null;
        w(reply);
      } else this.ready.push(reply);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    if (this.failWaiter) {
      const f = this.failWaiter;
      this.waiting = null;
      this.failWaiter = null;
      f(e);
    }
  }

  next(): Promise<string> {
    const r = this.ready.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiter = reject;
    });
  }
}

async function expect(replies: Replies, code: string, what: string): Promise<string> {
  const r = await replies.next();
  if (!r.startsWith(code)) throw new Error(`${what}: expected ${code}, got ${JSON.stringify(r.trim())}`);
  return r;
}

/** A message of about `size` bytes with the headers an MUA writes, so no server has to add them. */
export function message(load: RelayLoad, conn: number, n: number, to: string): Buffer {
  const head =
    `From: Bench <${load.sender}>\r\nTo: <${to}>\r\nSubject: relay benchmark ${conn}.${n}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\nMessage-ID: <${conn}.${n}.${process.pid}@bench.test>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again, for the benchmark.\r\n';
  let body = '';
  while (head.length + body.length + line.length <= load.size) body += line;
  return Buffer.from(head + body + '.\r\n', 'latin1');
}

function open(load: RelayLoad): Promise<Socket | TLSSocket> {
  return new Promise((resolve, reject) => {
    const s =
      load.tls === 'implicit'
        ? tlsConnect({ host: load.host, port: load.port, rejectUnauthorized: false, servername: undefined }, () => resolve(s))
        : netConnect({ host: load.host, port: load.port }, () => resolve(s));
    s.once('error', reject);
  });
}

function upgrade(socket: Socket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, rejectUnauthorized: false }, () => resolve(t));
    t.once('error', reject);
  });
}

async function oneConnection(load: RelayLoad, conn: number, onAccepted: () => void): Promise<void> {
  let sock = await open(load);
  sock.setNoDelay(true);
  let replies = new Replies();
  replies.attach(sock);
  const send = (s: string | Buffer) => sock.write(s);
  try {
    await expect(replies, '220', 'greeting');
    send('EHLO client.bench.test\r\n');
    const ehlo = await expect(replies, '250', 'EHLO');
    if (load.tls === 'starttls') {
      if (!/^250[ -]STARTTLS\r?$/im.test(ehlo)) throw new Error(`no STARTTLS offered: ${ehlo}`);
      send('STARTTLS\r\n');
      await expect(replies, '220', 'STARTTLS');
      replies.detach(sock);
      sock = await upgrade(sock);
      replies = new Replies();
      replies.attach(sock);
      send('EHLO client.bench.test\r\n');
      await expect(replies, '250', 'EHLO after STARTTLS');
    }
    send(`AUTH PLAIN ${Buffer.from(`\0${load.user}\0${load.password}`).toString('base64')}\r\n`);
    await expect(replies, '235', 'AUTH PLAIN');
    const to = `rcpt${conn}@${load.domain}`;
    for (let n = 0; n < load.perConnection; n++) {
      send(`MAIL FROM:<${load.sender}>\r\n`);
      await expect(replies, '250', 'MAIL');
      send(`RCPT TO:<${to}>\r\n`);
      await expect(replies, '250', 'RCPT');
      send('DATA\r\n');
      await expect(replies, '354', 'DATA');
      send(message(load, conn, n, to));
      await expect(replies, '250', 'end of data');
      onAccepted();
    }
    send('QUIT\r\n');
    await expect(replies, '221', 'QUIT');
  } finally {
    sock.destroy();
  }
}

/**
 * Runs the load; resolves with process.hrtime.bigint() at which the last message got its 250.
 * `onAccepted` is called after each 250 (for progress).
 */
export async function runLoad(load: RelayLoad, onAccepted: () => void = () => undefined): Promise<bigint> {
  const runs = Array.from({ length: load.connections }, (_, i) => oneConnection(load, i, onAccepted));
  const results = await Promise.allSettled(runs);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) {
    throw new Error(`${failed.length} of ${load.connections} connections failed; first: ${(failed[0].reason as Error).message}`);
  }
  return process.hrtime.bigint();
}
