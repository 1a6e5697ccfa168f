import net from 'node:net';
import tls from 'node:tls';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** One SMTP reply as read off the wire. */
export interface WireReply {
  code: number;
  lines: string[];
  /** The whole reply, CRLFs included. */
  raw: string;
}

/**
 * A raw SMTP client for bad-input transcripts: sends exact bytes, reads replies one at a
 * time, and can tell when the server hung up. Real clients (swaks, smtplib) cover the
 * well-behaved paths; this one sends what they never would.
 */
export class RawSmtp {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(s: net.Socket): void {
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, localAddress }, () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  static connectTls(port: number, host = '127.0.0.1'): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ port, host, rejectUnauthorized: false }, () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves with the next complete reply; rejects after `ms` or if the server hangs up first. */
  async reply(ms = 10000): Promise<WireReply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = this.take();
      if (r) return r;
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${ms} ms; unread: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private take(): WireReply | null {
    let pos = 0;
    const lines: string[] = [];
    for (;;) {
      const end = this.buf.indexOf('\r\n', pos);
      if (end < 0) return null;
      const line = this.buf.slice(pos, end);
      lines.push(line);
      pos = end + 2;
      if (line.length < 4 || line[3] !== '-') {
        const raw = this.buf.slice(0, pos);
        this.buf = this.buf.slice(pos);
        return { code: Number(line.slice(0, 3)), lines, raw };
      }
    }
  }

  /** Sends a command and returns its reply. */
  async cmd(line: string, ms?: number): Promise<WireReply> {
    this.send(line + '\r\n');
    return this.reply(ms);
  }

  /** Waits until the server closes the connection; returns whatever it sent meanwhile. */
  async waitClosed(ms = 10000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`server did not close within ${ms} ms; unread: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.buf;
  }

  /** Text received and not yet taken as a reply. */
  get unread(): string {
    return this.buf;
  }

  /** RFC 3207: upgrade this connection after "220 Ready to start TLS". */
  startTls(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.removeAllListeners('data');
      this.socket.removeAllListeners('close');
      this.socket.removeAllListeners('error');
      const s = tls.connect({ socket: this.socket, rejectUnauthorized: false }, () => resolve());
      s.once('error', reject);
      this.socket = s;
      this.attach(s);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  end(): void {
    this.socket.end();
  }
}

/** Every message file the server has stored (data_dir/blobs/XY/ID), oldest first. */
export function storedMessages(dir: string): { id: string; text: Buffer }[] {
  const base = join(dir, 'blobs');
  if (!existsSync(base)) return [];
  const out: { id: string; text: Buffer }[] = [];
  for (const sub of readdirSync(base)) {
    for (const id of readdirSync(join(base, sub))) out.push({ id, text: readFileSync(join(base, sub, id)) });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Runs one SMTP dialogue quickly: greeting, EHLO, then each command expecting its code. */
export async function dialogue(port: number, steps: [string, number][]): Promise<WireReply[]> {
  const c = await RawSmtp.connect(port);
  try {
    const out = [await c.reply()];
    for (const [line, code] of steps) {
      const r = await c.cmd(line);
      if (r.code !== code) throw new Error(`${line} -> ${r.raw.trim()} (wanted ${code})`);
      out.push(r);
    }
    return out;
  } finally {
    c.destroy();
  }
}
