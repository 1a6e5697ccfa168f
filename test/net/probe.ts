import net from 'node:net';
import tls from 'node:tls';

/**
 * A bare client for connection-layer tests: connects (optionally over TLS, optionally from a
 * chosen loopback address), collects every byte, and waits for a line or for the server to
 * hang up. Protocol-neutral, so that the same checks run on SMTP, IMAP and POP3 ports.
 */
export class Probe {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    const gone = () => {
      this.closed = true;
      this.wake();
    };
    sock.on('close', gone);
    sock.on('error', gone);
  }

  static connect(port: number, opts: { tls?: boolean; localAddress?: string } = {}): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const base = { port, host: '127.0.0.1', localAddress: opts.localAddress };
      const s = opts.tls
        ? tls.connect({ ...base, rejectUnauthorized: false }, () => resolve(new Probe(s)))
        : net.connect(base, () => resolve(new Probe(s)));
      s.once('error', reject);
    });
  }

  /** Everything received so far. */
  get text(): string {
    return this.buf;
  }

  send(data: string): void {
    if (!this.sock.destroyed) this.sock.write(data, 'latin1');
  }

  /** Waits until `pred` holds for what was received (or the server hung up); rejects after `ms`. */
  async until(pred: (text: string) => boolean, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.buf)) {
      if (this.closed) throw new Error(`connection closed; received ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing matching within ${ms} ms; received ${JSON.stringify(this.buf)}`);
      await this.wait(left);
    }
    return this.buf;
  }

  /** The first complete line. */
  async firstLine(ms = 10_000): Promise<string> {
    const text = await this.until((t) => t.includes('\r\n'), ms).catch((e: Error) => {
      if (this.buf.includes('\r\n')) return this.buf;
      throw e;
    });
    return text.slice(0, text.indexOf('\r\n'));
  }

  /** Waits for the server to close; returns everything it sent. */
  async closedBy(ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`server did not close within ${ms} ms; received ${JSON.stringify(this.buf)}`);
      await this.wait(left);
    }
    return this.buf;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Opens `n` connections and waits for each one's greeting line. */
export async function openMany(n: number, port: number, opts: { tls?: boolean; localAddress?: string } = {}): Promise<Probe[]> {
  const out: Probe[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const p = await Probe.connect(port, opts);
      out.push(p);
      await p.firstLine();
    }
  } catch (e) {
    for (const p of out) p.destroy();
    throw e;
  }
  return out;
}
