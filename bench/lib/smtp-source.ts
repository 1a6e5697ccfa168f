import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Postfix's load generator; Debian ships it in the postfix package. */
export const SMTP_SOURCE = ['/usr/sbin/smtp-source', '/usr/bin/smtp-source'].find((p) => existsSync(p)) ?? 'smtp-source';

export interface Load {
  /** Parallel SMTP sessions (-s). */
  sessions: number;
  /** Messages in all, spread over the sessions (-m). */
  messages: number;
  /** Body bytes per message, headers not included (-l); ignored when `file` is given. */
  size: number;
  /** A whole message to send instead of smtp-source's own (-F), e.g. a DKIM-signed one. */
  file?: string;
  /** Extra smtp-source arguments, e.g. ["-d"] to keep each connection for several messages. */
  extra: string[];
}

export function smtpSourceArgs(load: Load, sender: string, recipient: string, host: string, port: number): string[] {
  return [
    '-s', String(load.sessions),
    '-m', String(load.messages),
    ...(load.file ? ['-F', load.file] : ['-l', String(load.size)]),
    '-c',
    // HELO name given, so smtp-source does not need this machine's name to be resolvable.
    '-M', 'client.bench.test',
    '-f', sender,
    '-t', recipient,
    ...load.extra,
    `${host}:${port}`,
  ];
}

/** Runs smtp-source to completion; resolves with the wall-clock seconds it took. Any refused message fails it. */
export function runSmtpSource(args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    // stdout is -c's running counter: not wanted, but it must be drained.
    const child = spawn(SMTP_SOURCE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${SMTP_SOURCE} (apt-get install -y postfix): ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolvePromise(seconds);
      else reject(new Error(`smtp-source ${args.join(' ')} ended with ${signal ?? `status ${code}`} after ${seconds.toFixed(1)} s:\n${stderr.trim()}`));
    });
  });
}
