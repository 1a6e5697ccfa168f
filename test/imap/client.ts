import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A transcript client for IMAP tests: sends lines, collects responses (literals included,
 * as raw text) until the tagged one. No IMAP library: the tests see the exact bytes.
 */
export class Imap {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private n = 0;
  closed = false;

  constructor(public sock: Socket | TLSSocket) {
    this.attach(sock);
  }

  private attach(sock: Socket | TLSSocket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async open(port: number, opts: { tls?: boolean; localAddress?: string } = {}): Promise<Imap> {
    const sock = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) } as ConnectionOptions, () => resolve(s))
        : connect({ host: '127.0.0.1', port, localAddress: opts.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new Imap(sock);
    c.greeting = await c.line();
    return c;
  }

  greeting = '';

  /** Waits for the next response line (a line with literals: "...{n}\r\n<n bytes>..." up to its end). */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.tryLine();
      if (r !== null) return r;
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  private tryLine(): string | null {
    let pos = 0;
    for (;;) {
      const i = this.buf.indexOf('\r\n', pos);
      if (i < 0) return null;
      const m = /~?\{(\d+)\}$/.exec(this.buf.subarray(pos, i).toString('latin1'));
      if (m && i + 2 + Number(m[1]) <= this.buf.length) {
        pos = i + 2 + Number(m[1]);
        continue;
      }
      if (m) return null;
      const out = this.buf.subarray(0, i).toString('latin1');
      this.buf = this.buf.subarray(i + 2);
      return out;
    }
  }

  write(s: string | Buffer): void {
    this.sock.write(s);
  }

  /** Sends `TAG command` and returns the untagged lines and the tagged one. */
  async cmd(command: string, timeoutMs = 10_000): Promise<{ untagged: string[]; tagged: string; all: string[]; tag: string }> {
    const tag = `A${++this.n}`;
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  async until(tag: string, timeoutMs = 10_000): Promise<{ untagged: string[]; tagged: string; all: string[]; tag: string }> {
    const all: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      all.push(l);
      if (l.startsWith(tag + ' ')) return { untagged: all.slice(0, -1), tagged: l, all, tag };
    }
  }

  nextTag(): string {
    return `A${++this.n}`;
  }

  /** Sends a command with one synchronising literal, waiting for "+" as a client must. */
  async cmdLiteral(before: string, literal: Buffer | string, after = ''): Promise<{ untagged: string[]; tagged: string; all: string[] }> {
    const tag = this.nextTag();
    const data = typeof literal === 'string' ? Buffer.from(literal) : literal;
    this.write(`${tag} ${before} {${data.length}}\r\n`);
    const cont = await this.line();
    if (!cont.startsWith('+')) return { untagged: [], tagged: cont, all: [cont] };
    this.write(Buffer.concat([data, Buffer.from(`${after}\r\n`)]));
    return this.until(tag);
  }

  async login(user: string, pass: string): Promise<void> {
    const r = await this.cmd(`LOGIN ${user} ${pass}`);
    if (!/^A\d+ OK/.test(r.tagged)) throw new Error(`login failed: ${r.tagged}`);
  }

  close(): void {
    this.sock.destroy();
  }
}

export const PASS = 'secret-pass-1';

/** A server with plaintext logins allowed (tests run over loopback) and the given users. */
export async function imapServer(users: string[] = ['usr1@example.test'], toml = ''): Promise<TestServer> {
  const srv = await startServer({ toml: `[auth]\nplaintext_without_tls = true\n${toml}` });
  for (const u of users) await srv.addUser(u, PASS);
  return srv;
}

export async function loggedIn(srv: TestServer, user = 'usr1@example.test'): Promise<Imap> {
  const c = await Imap.open(srv.ports.imap);
  await c.login(user, PASS);
  return c;
}

export function msg(subject: string, body = 'Hello.\r\n', extra = ''): string {
  return `From: Alice <alice@example.org>\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n${extra}\r\n${body}`;
}
