import { connect, type Socket } from 'node:net';

const DOT_END = Buffer.from('\r\n.\r\n');

export interface Pop3Reply {
  ok: boolean;
  /** The status line. */
  line: string;
  /** Bytes of a multi-line reply after the status line, dot-stuffed and with its ".\r\n" end. */
  bytes: number;
  /** The multi-line body as text when asked for (UIDL); not kept for RETR. */
  text?: string;
}

/**
 * A lean POP3 client for load generation (RFC 1939): one command at a time, a reply read until
 * its status line, or for a multi-line reply until the CRLF.CRLF that ends it (RFC 1939 3),
 * without unstuffing or keeping message bytes, so the client costs little CPU.
 */
export class Pop3Client {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { multi: boolean; keep: boolean; resolve: (r: Pop3Reply) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.scan();
    });
    const fail = (e?: Error) => {
      this.waiting?.reject(e ?? new Error('connection closed'));
      this.waiting = null;
    };
    sock.on('close', () => fail());
    sock.on('error', fail);
  }

  /** Connects and resolves after the greeting. */
  static open(host: string, port: number): Promise<Pop3Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.setNoDelay(true);
        const c = new Pop3Client(s);
        c.waiting = {
          multi: false,
          keep: false,
          resolve: (r) => (r.ok ? resolve(c) : reject(new Error(`greeting: ${r.line}`))),
          reject,
        };
        c.scan();
      });
      s.once('error', reject);
    });
  }

  private scan(): void {
    const w = this.waiting;
    if (!w) return;
    const eol = this.buf.indexOf('\r\n');
    if (eol < 0) return;
    const line = this.buf.toString('latin1', 0, eol);
    const ok = line.startsWith('+OK');
    if (!ok || !w.multi) {
      this.buf = this.buf.subarray(eol + 2);
      this.waiting = null;
      w.resolve({ ok, line, bytes: 0 });
      return;
    }
    // The body starts after the status line; an empty body is just ".\r\n".
    const body = eol;
    const end = this.buf.indexOf(DOT_END, body);
    if (end < 0) return;
    const bytes = end + DOT_END.length - (eol + 2);
    const text = w.keep ? this.buf.toString('latin1', eol + 2, end + 2) : undefined;
    this.buf = this.buf.subarray(end + DOT_END.length);
    this.waiting = null;
    w.resolve({ ok, line, bytes, text });
  }

  /** Sends one command; `multi`: the reply is multi-line when positive (UIDL, LIST, RETR, TOP). */
  cmd(line: string, multi = false, keep = false): Promise<Pop3Reply> {
    return new Promise((resolve, reject) => {
      this.waiting = { multi, keep, resolve, reject };
      this.sock.write(`${line}\r\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
