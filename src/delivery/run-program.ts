import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { Identity } from './run-as.js';

/**
 * Runs one program of a delivery: the message on standard input, a time limit, stderr's
 * first line kept for the log, the exit status mapped to RFC 3463 the way sendmail reports
 * sysexits(3). Used by the privileged helper (as the decided user) and, when the server is not
 * root, in-process as the server's own user.
 */

export interface ProgramOutcome {
  ok: boolean;
  status: string;
  /** For the log (names the program, its exit and stderr). */
  detail: string;
}

/** A delivery's outcome; `ran` false when a rule refused it before anything started. */
export interface RunOutcome extends ProgramOutcome {
  ran: boolean;
}

/** sysexits(3) to RFC 3463, as sendmail reports them. */
const EXIT_STATUS: Record<number, string> = {
  64: '5.5.4', 65: '5.6.0', 66: '5.1.1', 67: '5.1.1', 68: '5.1.2', 69: '5.0.0', 70: '5.3.0',
  71: '5.3.0', 72: '5.3.0', 73: '5.3.0', 74: '5.3.0', 75: '4.0.0', 76: '5.5.0', 77: '5.7.1', 78: '5.3.5',
};

export interface ProgramRun {
  path: string;
  args: string[];
  env: Record<string, string>;
  who: Identity | null;
  timeoutMs: number;
  input: Readable | Buffer;
  /** The name in messages (a file delivery's helper is named by its file). */
  label?: string;
}

export function runProgram(r: ProgramRun): Promise<RunOutcome> {
  const name = r.label ?? basename(r.path);
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (o: ProgramOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...o, ran: true });
    };
    const child = spawn(r.path, r.args, {
      cwd: '/',
      env: r.env,
      stdio: ['pipe', 'ignore', 'pipe'],
      ...(r.who ? { uid: r.who.uid, gid: r.who.gid } : {}),
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, status: '5.4.7', detail: `${name} did not finish within ${r.timeoutMs / 1000}s; killed` });
    }, r.timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => done({ ok: false, status: '5.3.0', detail: `${name}: ${e.message}` }));
    child.on('close', (code, signal) => {
      const why = stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
      if (code === 0) done({ ok: true, status: '2.0.0', detail: `${name} exited 0${why ? `: ${why}` : ''}` });
      else if (signal) done({ ok: false, status: '5.3.0', detail: `${name} killed by ${signal}${why ? `: ${why}` : ''}` });
      else done({ ok: false, status: EXIT_STATUS[code ?? 1] ?? '5.3.0', detail: `${name} exited ${code}${why ? `: ${why}` : ''}` });
    });
    // A program that does not read its input must not fail the write side loudly.
    child.stdin!.on('error', () => undefined);
    const input = Buffer.isBuffer(r.input) ? Readable.from([r.input]) : r.input;
    input.on('error', (e) => {
      child.kill('SIGKILL');
      done({ ok: false, status: '4.3.0', detail: `cannot read the message: ${e.message}` });
    });
    input.pipe(child.stdin!);
  });
}
