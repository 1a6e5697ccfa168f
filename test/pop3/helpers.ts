/** Clients for the POP3 tests: raw SMTP or swaks to deliver, Python's poplib or Node to read, a raw socket for transcripts. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { TestServer } from '../helpers/server.js';
import { RawSmtp } from '../smtp/client.js';
import { waitFor as waitUntil } from '../helpers/wait.js';

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** Runs a program with a time limit; the child is killed (by its pid) when the limit passes. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} took longer than ${opts.timeoutMs ?? 30000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30000);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its input (fetchmail) is not a failure: no EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** How many local deliveries to `address` the server has logged. */
export function deliveries(server: TestServer, address: string): number {
  const re = new RegExp(`to=<${address.replace(/[.]/g, '\\.')}>.*status=sent`, 'g');
  return (server.readLog().match(re) ?? []).length;
}

export function waitFor(what: string, cond: () => boolean, timeoutMs = 20000): Promise<true> {
  return waitUntil(() => cond() || null, { timeout: timeoutMs, describe: what }).then(() => true);
}

/**
 * Sends `data` (CRLF lines, ending with CRLF) as the message over port 25 and waits for the
 * local delivery: with swaks (`via: 'swaks'`, a real client; the caller declares
 * `needs('swaks')`) or with the raw SMTP client of test/smtp/client.ts (the default: tests
 * about POP3 itself then need no peer). Either way the DATA part goes on the wire as it is:
 * dot-stuffed (RFC 5321 4.5.2) and ending in CRLF ".".
 */
export async function deliver(server: TestServer, to: string, data: Buffer | string, via: 'raw' | 'swaks' = 'raw'): Promise<void> {
  const msg = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  if (!msg.subarray(-2).equals(Buffer.from('\r\n'))) throw new Error('test messages end with CRLF');
  const stuffed = Buffer.from(msg.toString('latin1').replace(/^\./gm, '..') + '.', 'latin1');
  const before = deliveries(server, to);
  if (via === 'swaks') await deliverWithSwaks(server, to, stuffed);
  else await deliverRaw(server, to, stuffed);
  await waitFor(`delivery to ${to}`, () => deliveries(server, to) > before);
}

/** With --no-data-fixup swaks sends the file as it is plus CRLF. */
async function deliverWithSwaks(server: TestServer, to: string, stuffed: Buffer): Promise<void> {
  const file = join(server.dir, `msg-${randomBytes(4).toString('hex')}.eml`);
  writeFileSync(file, stuffed);
  const r = await run('swaks', [
    '--server', '127.0.0.1', '--port', String(server.ports.smtp), '--helo', 'client.example.net',
    '--from', 'sender@remote.example.net', '--to', to, '--data', `@${file}`, '--no-data-fixup', '--timeout', '20',
  ], { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`swaks failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

async function deliverRaw(server: TestServer, to: string, stuffed: Buffer): Promise<void> {
  const c = await RawSmtp.connect(server.ports.smtp);
  try {
    const expect = async (line: string | null, code: number) => {
      const r = line === null ? await c.reply(20000) : await c.cmd(line, 20000);
      if (r.code !== code) throw new Error(`SMTP ${line ?? 'greeting'}: ${r.raw.trim()} (wanted ${code})`);
    };
    await expect(null, 220);
    await expect('EHLO client.example.net', 250);
    await expect('MAIL FROM:<sender@remote.example.net>', 250);
    await expect(`RCPT TO:<${to}>`, 250);
    await expect('DATA', 354);
    c.send(Buffer.concat([stuffed, Buffer.from('\r\n')]));
    await expect(null, 250);
    await c.cmd('QUIT', 20000).catch(() => undefined);
  } finally {
    c.destroy();
  }
}

/** A short plain message with CRLF line ends. */
export function simpleMessage(subject: string, body = 'hello'): string {
  return `From: sender@remote.example.net\r\nTo: usr@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${randomBytes(6).toString('hex')}@remote.example.net>\r\n\r\n${body}\r\n`;
}

/**
 * Runs a Python script with poplib. The prelude gives it HOST, POP3 (plain port), POP3S, an
 * unverified TLS context CTX, connect(mode) for 'plain' | 'stls' | 'tls', err(e) to turn a
 * poplib error into its reply text, and out(obj) to print the JSON result the test reads.
 */
export async function python(server: TestServer, script: string, timeoutMs = 30000): Promise<any> {
  const prelude = `
import poplib, ssl, json, sys, base64, socket, time
HOST = '127.0.0.1'
POP3 = ${server.ports.pop3}
POP3S = ${server.ports.pop3s}
CTX = ssl._create_unverified_context()
def connect(mode='stls'):
    if mode == 'tls':
        return poplib.POP3_SSL(HOST, POP3S, context=CTX, timeout=15)
    p = poplib.POP3(HOST, POP3, timeout=15)
    if mode == 'stls':
        p.stls(context=CTX)
    return p
def login(mode='stls', user='usr1@example.test', password='secret1'):
    p = connect(mode)
    p.user(user)
    p.pass_(password)
    return p
def err(e):
    a = e.args[0]
    return a.decode('utf-8', 'replace') if isinstance(a, bytes) else str(a)
def b64(b):
    return base64.b64encode(b).decode()
def out(obj):
    print(json.dumps(obj))
`;
  const r = await run('python3', ['-c', prelude + script], { timeoutMs });
  if (r.code !== 0) throw new Error(`python failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`python printed no JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * Every message of a mailbox read over POP3 (a Node client, so that tests about something else
 * need no peer): on the plain port with STLS first when `stls`, else plain USER/PASS (the
 * server allowing it); each message as the lines of RETR joined with CRLF, byte-stuffing
 * undone, as UTF-8 (what Python's poplib gave these tests before).
 */
export async function popMessages(port: number, user: string, password: string, opts: { stls?: boolean } = {}): Promise<string[]> {
  const c = await RawClient.connect(port);
  const ok = async (cmd: string | null) => {
    const r = cmd === null ? await c.line() : await c.cmd(cmd);
    if (!r.startsWith('+OK')) throw new Error(`POP3 ${cmd?.startsWith('PASS') ? 'PASS' : cmd ?? 'greeting'}: ${r}`);
  };
  try {
    await ok(null);
    if (opts.stls) {
      await ok('STLS');
      await c.upgrade();
    }
    await ok(`USER ${user}`);
    await ok(`PASS ${password}`);
    await ok('LIST');
    const n = (await c.multi()).length;
    const out: string[] = [];
    for (let i = 1; i <= n; i++) {
      await ok(`RETR ${i}`);
      out.push(Buffer.from((await c.multi()).join('\r\n'), 'latin1').toString('utf8'));
    }
    await ok('QUIT');
    return out;
  } finally {
    c.destroy();
  }
}

/** A raw POP3 connection for transcripts: exact bytes in, exact lines out. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  private attach(s: net.Socket): void {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    s.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    s.on('error', () => {});
  }

  static connect(port: number, opts: { tls?: boolean; localAddress?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) } as tls.ConnectionOptions, () => resolve(new RawClient(s)))
        : net.connect({ host: '127.0.0.1', port, localAddress: opts.localAddress }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  private async waitData(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve(true);
      };
    });
  }

  /** The next CRLF-terminated line (without CRLF). */
  async line(timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitData(left))) throw new Error(`no line within ${timeoutMs} ms; unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
    }
  }

  /** Lines of a multi-line response body up to "." (undoing byte-stuffing). */
  async multi(timeoutMs = 10000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l === '.') return lines;
      lines.push(l.startsWith('..') ? l.slice(1) : l);
    }
  }

  async cmd(c: string): Promise<string> {
    this.write(c + '\r\n');
    return this.line();
  }

  /** Everything received within `ms` (for asserting that nothing came). */
  async quietFor(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    const s = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return s;
  }

  /** Resolves when the server has closed the connection; false if it did not within `ms`. */
  async waitClosed(ms = 10000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.waitData(left);
    }
    return true;
  }

  /** Client side of STLS: the TLS handshake on the same socket. */
  upgrade(): Promise<void> {
    return new Promise((resolve, reject) => {
      const raw = this.socket;
      raw.removeAllListeners('data');
      raw.removeAllListeners('close');
      const s = tls.connect({ socket: raw, rejectUnauthorized: false }, () => resolve());
      s.once('error', reject);
      this.socket = s;
      this.attach(s);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
