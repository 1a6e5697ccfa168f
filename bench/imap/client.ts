import { connect, type Socket } from 'node:net';

/**
 * A lean IMAP client for load generation: one command at a time per connection, responses
 * read until the tagged line (literals skipped by their counted length). No parsing beyond
 * that, so the load generator costs far less CPU than the servers it measures.
 */
export class LoadClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { tag: string; resolve: (r: { ok: boolean; text: string; bytes: number }) => void; reject: (e: Error) => void; orContinuation?: boolean } | null = null;
  private n = 0;
  private scanFrom = 0;
  private lineStart = 0;
  private collected = 0;
  private untaggedText: string[] = [];
  keepText = false;
  closed = false;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.scan();
    });
    const fail = () => {
      this.closed = true;
      this.waiting?.reject(new Error('connection closed'));
      this.waiting = null;
    };
    sock.on('close', fail);
    sock.on('error', fail);
  }

  static open(host: string, port: number): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.setNoDelay(true);
        const c = new LoadClient(s);
        // The greeting is an untagged line: wait for it with a pseudo-tag that never comes.
        c.waiting = { tag: '*', resolve: () => resolve(c), reject };
      });
      s.once('error', reject);
    });
  }

  private scan(): void {
    for (;;) {
      const i = this.buf.indexOf('\r\n', this.scanFrom);
      if (i < 0) {
        this.scanFrom = Math.max(this.lineStart, this.buf.length - 1);
        return;
      }
      const lit = literalAt(this.buf, this.lineStart, i);
      if (lit >= 0) {
        if (i + 2 + lit > this.buf.length) {
          this.scanFrom = Math.max(this.lineStart, i); // wait for the literal's bytes
          return;
        }
        this.scanFrom = i + 2 + lit;
        continue;
      }
      const line = this.buf.subarray(this.lineStart, i);
      this.collected += line.length + 2;
      const w = this.waiting;
      if (w) {
        if (w.orContinuation && line[0] === 0x2b /* + */) {
          this.waiting = null;
          w.resolve({ ok: true, text: line.toString('latin1'), bytes: this.collected });
        } else if (w.tag === '*' && line[0] === 0x2a) {
          this.waiting = null;
          w.resolve({ ok: true, text: line.toString('latin1'), bytes: this.collected });
        } else if (line.length > w.tag.length && line.toString('latin1', 0, w.tag.length + 1) === w.tag + ' ') {
          this.waiting = null;
          const text = line.toString('latin1');
          w.resolve({ ok: text.startsWith(`${w.tag} OK`), text: this.keepText ? [...this.untaggedText, text].join('\n') : text, bytes: this.collected });
          this.untaggedText = [];
        } else if (this.keepText) this.untaggedText.push(line.toString('latin1'));
      }
      this.buf = this.buf.subarray(i + 2);
      this.lineStart = 0;
      this.scanFrom = 0;
    }
  }

  /** Sends one command; resolves with the tagged line. `data`: bytes sent after the line (LITERAL+). */
  cmd(line: string, data?: Buffer): Promise<{ ok: boolean; text: string; bytes: number }> {
    const tag = `c${++this.n}`;
    this.collected = 0;
    return new Promise((resolve, reject) => {
      this.waiting = { tag, resolve, reject };
      if (data) this.sock.write(Buffer.concat([Buffer.from(`${tag} ${line}\r\n`), data, Buffer.from('\r\n')]));
      else this.sock.write(`${tag} ${line}\r\n`);
    });
  }

  /**
   * A command that may get continuation requests (AUTHENTICATE): sends `line` (the command with
   * its tag the first time, then the client's answers) and resolves with the next "+" line or
   * the command's tagged line, whichever comes first.
   */
  exchange(line: string, first: boolean): Promise<{ ok: boolean; text: string; continuation: boolean }> {
    const tag = first ? `c${++this.n}` : `c${this.n}`;
    return new Promise((resolve, reject) => {
      this.waiting = { tag, orContinuation: true, reject, resolve: (r) => resolve({ ...r, continuation: r.text.startsWith('+') }) };
      this.sock.write(first ? `${tag} ${line}\r\n` : `${line}\r\n`);
    });
  }

  /** Starts IDLE and resolves at the "+" continuation (the session then just waits). */
  idle(): Promise<void> {
    const tag = `c${++this.n}`;
    return new Promise((resolve, reject) => {
      this.waiting = { tag: '+', resolve: () => resolve(), reject } as never;
      // "+ idling" starts with "+": match it as the tag "+".
      this.sock.write(`${tag} IDLE\r\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}

/** The size of a literal announced at the end of buf[start, end), or -1. */
function literalAt(buf: Buffer, start: number, end: number): number {
  if (end - start < 3 || buf[end - 1] !== 0x7d /* } */) return -1;
  let j = end - 2;
  let n = 0, mul = 1;
  while (j >= start && buf[j] >= 0x30 && buf[j] <= 0x39) {
    n += (buf[j] - 0x30) * mul;
    mul *= 10;
    j--;
  }
  if (mul === 1 || j < start || buf[j] !== 0x7b /* { */) return -1;
  return n;
}
