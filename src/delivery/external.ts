import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, realpathSync, statSync, writeSync, constants as fsc } from 'node:fs';
import { basename, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { DeliveryConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { ExternalTarget } from './resolve.js';

/**
 * Deliveries that leave the store (S16, S19, S29): `|program` and `/file` targets.
 *
 * Programs run the way sendmail's smrsh runs them: only the program's base name counts and it
 * must be in `[delivery] program_dir` (the admin links allowed programs there, e.g. procmail);
 * no shell (no `;`, `|`, `$`, redirections...), arguments split on white space with double
 * quotes kept together; as the unprivileged `program_user`, with an empty environment but for
 * SENDER/RECIPIENT/PATH, the message on standard input with Unix line ends (sendmail's prog and
 * local mailers use E=\n), and `program_timeout` seconds to finish.
 * Exit status 0 is delivered; anything else (or a timeout) fails the delivery, which bounces,
 * with the program's sysexits status mapped to an enhanced status code.
 *
 * Files are appended to in mbox format (a "From " line, `>From` quoting, LF line ends), only
 * when named in the aliases file or an :include: file, and fsync'd before the delivery counts.
 */

export interface ExternalOutcome {
  ok: boolean;
  /** RFC 3463 status for the DSN. */
  status: string;
  /** What happened, for the log and the DSN's Diagnostic-Code. */
  detail: string;
}

export interface ExternalMessage {
  sender: string;
  recipient: string;
  /** The stored message (Return-Path first), as a fresh stream each call. */
  open(): Readable;
  read(): Promise<Buffer>;
}

const SHELL_META = /[;&|<>`$(){}\\*?[\]~!#\n\r]/;

/** sysexits(3) to RFC 3463, as sendmail reports them. */
const EXIT_STATUS: Record<number, string> = {
  64: '5.5.4', 65: '5.6.0', 66: '5.1.1', 67: '5.1.1', 68: '5.1.2', 69: '5.0.0', 70: '5.3.0',
  71: '5.3.0', 72: '5.3.0', 73: '5.3.0', 74: '5.3.0', 75: '4.0.0', 76: '5.5.0', 77: '5.7.1', 78: '5.3.5',
};

/** argv of a program target; a string is why it is refused. */
export function programArgv(command: string): string[] | string {
  if (SHELL_META.test(command.replace(/"[^"]*"/g, ''))) return `"${command}": shell syntax is not allowed in program deliveries`;
  const argv: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) argv.push(m[1] ?? m[2]);
  if (!argv.length) return 'empty program';
  return argv;
}

/** uid and gid of a user from /etc/passwd (mail users are not system users; this one is). */
function passwdEntry(user: string): { uid: number; gid: number } | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // No passwd file: no user to switch to.
  }
  return null;
}

export class ExternalDelivery {
  private warned = false;

  constructor(private readonly cfg: DeliveryConfig, private readonly log: Logger) {}

  deliver(t: ExternalTarget, msg: ExternalMessage): Promise<ExternalOutcome> {
    return t.kind === 'program' ? this.program(t.command, msg) : this.file(t.path, msg);
  }

  /** The program's path inside program_dir, or why not. */
  resolveProgram(name: string): { path: string } | { error: string } {
    const dir = this.cfg.program_dir;
    if (!dir) return { error: 'program deliveries are off ([delivery] program_dir is not set)' };
    const path = join(dir, basename(name));
    try {
      const st = statSync(path);
      if (!st.isFile() || !(st.mode & 0o111)) return { error: `${basename(name)} is not an executable file in ${dir}` };
    } catch {
      return { error: `${basename(name)} is not in ${dir} (only programs there may be run, as with smrsh)` };
    }
    return { path };
  }

  private program(command: string, msg: ExternalMessage): Promise<ExternalOutcome> {
    const argv = programArgv(command);
    if (typeof argv === 'string') return Promise.resolve({ ok: false, status: '5.7.1', detail: argv });
    const found = this.resolveProgram(argv[0]);
    if ('error' in found) return Promise.resolve({ ok: false, status: '5.7.1', detail: found.error });
    const path = found.path;
    const who = passwdEntry(this.cfg.program_user);
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (root && !who) return Promise.resolve({ ok: false, status: '5.3.5', detail: `program_user ${this.cfg.program_user} does not exist` });
    if (!root && !this.warned) {
      this.warned = true;
      this.log.warn(null, `not running as root: programs run as this process's user, not ${this.cfg.program_user}`);
    }
    return new Promise((resolve) => {
      let stderr = '';
      let settled = false;
      const done = (o: ExternalOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(o);
      };
      const child = spawn(path, argv.slice(1), {
        cwd: '/',
        env: { PATH: '/usr/bin:/bin', SENDER: msg.sender, RECIPIENT: msg.recipient, LOGNAME: this.cfg.program_user, USER: this.cfg.program_user, HOME: '/' },
        stdio: ['pipe', 'ignore', 'pipe'],
        ...(root && who ? { uid: who.uid, gid: who.gid } : {}),
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ ok: false, status: '5.4.7', detail: `${basename(path)} did not finish within ${this.cfg.program_timeout}s; killed` });
      }, this.cfg.program_timeout * 1000);
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString('utf8');
      });
      child.on('error', (e) => done({ ok: false, status: '5.3.0', detail: `${basename(path)}: ${e.message}` }));
      child.on('close', (code, signal) => {
        const why = stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
        if (code === 0) done({ ok: true, status: '2.0.0', detail: `${basename(path)} exited 0` });
        else if (signal) done({ ok: false, status: '5.3.0', detail: `${basename(path)} killed by ${signal}${why ? `: ${why}` : ''}` });
        else done({ ok: false, status: EXIT_STATUS[code ?? 1] ?? '5.3.0', detail: `${basename(path)} exited ${code}${why ? `: ${why}` : ''}` });
      });
      // A program that does not read its input must not fail the write side loudly.
      child.stdin!.on('error', () => undefined);
      const input = msg.open();
      input.on('error', (e) => {
        child.kill('SIGKILL');
        done({ ok: false, status: '4.3.0', detail: `cannot read the message: ${e.message}` });
      });
      input.pipe(crlfToLf()).pipe(child.stdin!);
    });
  }

  private async file(path: string, msg: ExternalMessage): Promise<ExternalOutcome> {
    if (!path.startsWith('/')) return { ok: false, status: '5.3.5', detail: `${path}: not an absolute path` };
    try {
      // Not through a symbolic link (someone else's file), and never a directory or device.
      try {
        const st = lstatSync(path);
        if (st.isSymbolicLink() || !st.isFile()) return { ok: false, status: '5.3.5', detail: `${path} is not a plain file` };
      } catch {
        // Created below.
      }
      const data = toMbox(await msg.read(), msg.sender);
      const fd = openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
      try {
        for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return { ok: true, status: '2.0.0', detail: `appended to ${realpathSync(path)}` };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { ok: false, status: code === 'ENOSPC' || code === 'EDQUOT' ? '4.3.1' : '5.3.0', detail: `${path}: ${(e as Error).message}` };
    }
  }
}

/** mboxrd: a "From " separator line, ">From" quoting of lines that would look like one, LF ends. */
export function toMbox(message: Buffer, sender: string, date = new Date()): Buffer {
  const text = message.toString('latin1').replace(/\r\n/g, '\n');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const when = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, (_, d, dd, m, y, t) => `${d} ${m} ${String(dd).padStart(2, ' ')} ${t} ${y}`);
  return Buffer.from(`From ${sender || 'MAILER-DAEMON'} ${when}\n${quoted}${quoted.endsWith('\n') ? '' : '\n'}\n`, 'latin1');
}

/** CRLF -> LF on a stream, a CR at the end of a chunk held until the next one tells. */
export function crlfToLf(): Transform {
  let held = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let b = held ? Buffer.concat([Buffer.from('\r'), chunk]) : chunk;
      held = b.length > 0 && b[b.length - 1] === 0x0d;
      if (held) b = b.subarray(0, -1);
      const out: number[] = [];
      for (let i = 0; i < b.length; i++) {
        if (b[i] === 0x0d && b[i + 1] === 0x0a) continue;
        out.push(b[i]);
      }
      done(null, Buffer.from(out));
    },
    flush(done) {
      done(null, held ? Buffer.from('\r') : null);
    },
  });
}
