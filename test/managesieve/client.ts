import net from 'node:net';
import tls from 'node:tls';

/**
 * A small ManageSieve client for transcripts: sends raw command text, reads one response
 * (every line up to OK / NO / BYE, literals included) and returns it as text.
 */
export class SieveClient {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(private sock: net.Socket | tls.TLSSocket) {
    this.attach(sock);
  }

  static async connect(port: number): Promise<SieveClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new SieveClient(sock);
  }

  private attach(s: net.Socket): void {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    s.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
    s.on('error', () => undefined);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Reads one complete response: lines up to one starting with OK, NO or BYE. */
  async response(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = completeResponse(this.buf);
      if (end >= 0) {
        const out = this.buf.subarray(0, end).toString('utf8');
        this.buf = this.buf.subarray(end);
        return out;
      }
      if (this.ended) throw new Error(`connection closed; had: ${JSON.stringify(this.buf.toString())}`);
      if (Date.now() > deadline) throw new Error(`no complete response; had: ${JSON.stringify(this.buf.toString())}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = null;
    }
  }

  /** Reads one line (a SASL challenge). */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.indexOf('\r\n') < 0) {
      if (this.ended || Date.now() > deadline) throw new Error('no line');
      await new Promise((r) => setTimeout(r, 20));
    }
    const i = this.buf.indexOf('\r\n');
    const l = this.buf.subarray(0, i).toString();
    this.buf = this.buf.subarray(i + 2);
    return l;
  }

  send(text: string | Buffer): void {
    this.sock.write(text);
  }

  async command(text: string | Buffer): Promise<string> {
    this.send(text);
    return this.response();
  }

  async starttls(): Promise<void> {
    const r = await this.command('STARTTLS\r\n');
    if (!r.startsWith('OK')) throw new Error(`STARTTLS: ${r}`);
    this.sock.removeAllListeners('data');
    this.sock.removeAllListeners('close');
    const secure = tls.connect({ socket: this.sock as net.Socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.sock = secure;
    this.attach(secure);
  }

  async login(user: string, password: string): Promise<string> {
    return this.command(`AUTHENTICATE "PLAIN" "${Buffer.from(`\0${user}\0${password}`).toString('base64')}"\r\n`);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Octets of the first complete response in `b`, or -1. Skips over literals {n}. */
function completeResponse(b: Buffer): number {
  let pos = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', pos);
    if (eol < 0) return -1;
    const line = b.toString('latin1', pos, eol);
    const lit = /\{(\d+)\+?\}$/.exec(line);
    if (lit) {
      const after = eol + 2 + Number(lit[1]);
      if (b.length < after) return -1;
      pos = after;
      continue;
    }
    if (/^(OK|NO|BYE)\b/.test(line)) return eol + 2;
    pos = eol + 2;
  }
}
