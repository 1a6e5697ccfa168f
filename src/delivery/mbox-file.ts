import { closeSync, fsyncSync, lstatSync, openSync, writeSync, constants as fsc } from 'node:fs';

/**
 * Appends one mbox message to a file (S16 /file targets), fsync'd before it counts: never
 * through a symbolic link, never into a directory or device; created 0600. Returns null or
 * why not, with the errno code (ENOSPC is worth a retry).
 */
export function appendMbox(path: string, data: Buffer): { code: string; message: string } | null {
  if (!path.startsWith('/')) return { code: 'EINVAL', message: `${path}: not an absolute path` };
  try {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink() || !st.isFile()) return { code: 'EINVAL', message: `${path} is not a plain file` };
    } catch {
      // Created below.
    }
    const fd = openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
    try {
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return null;
  } catch (e) {
    return { code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: `${path}: ${(e as Error).message}` };
  }
}

/** sysexits(3) for an append failure, so the helper's child reports it like any program. */
export function appendExitCode(code: string): number {
  return code === 'ENOSPC' || code === 'EDQUOT' ? 75 : code === 'EACCES' || code === 'EPERM' ? 77 : 73;
}

/** mboxrd: a "From " separator line, ">From" quoting of lines that would look like one, LF ends. */
export function toMbox(message: Buffer, sender: string, date = new Date()): Buffer {
  const text = message.toString('latin1').replace(/\r\n/g, '\n');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const when = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, (_, d, dd, m, y, t) => `${d} ${m} ${String(dd).padStart(2, ' ')} ${t} ${y}`);
  return Buffer.from(`From ${sender || 'MAILER-DAEMON'} ${when}\n${quoted}${quoted.endsWith('\n') ? '' : '\n'}\n`, 'latin1');
}
