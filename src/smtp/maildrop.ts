import { constants, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * The maildrop: how the local `sendmail` command (S31) hands a message to the server, the
 * way Postfix's postdrop/pickup do. `sendmail` writes one file per message into a directory
 * anyone may write to but nobody may list or touch others' files in (mode 1733, sticky), then
 * fsyncs it and renames it into place; the server's pickup reads it, queues it durably and
 * removes it. Who sent it is the file's owner, as the kernel recorded it: nothing the
 * file says about its author is believed.
 *
 * File: the magic line, one line of JSON (the envelope the user asked for), then the message
 * with CRLF line ends.
 */

export const MAGIC = 'CORREO-MAILDROP 1';
/** Bound on the JSON line, so a hostile file cannot make the pickup buffer without end. */
export const MAX_ENVELOPE = 256 * 1024;

export interface DropEnvelope {
  /** -f / -r / MAIL FROM in -bs; null when not given (the user's own address is used). */
  sender: string | null;
  recipients: string[];
  /** -F: the display name for a From: added to a message without one. */
  fullName: string | null;
  /** RFC 3461 for -N / -R / -V, when given. */
  notify?: string[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

/** Final names: what the pickup reads. Temporary names start with "tmp.". */
export const DROP_NAME = /^[0-9a-z]{12,40}\.msg$/;

/** Writes a maildrop file durably (data, fsync, rename, directory fsync); returns its name. */
export async function writeDrop(dir: string, envelope: DropEnvelope, message: Buffer): Promise<string> {
  const id = `${Date.now().toString(36)}${randomBytes(8).toString('hex')}`;
  const tmp = join(dir, `tmp.${id}`);
  const name = `${id}.msg`;
  // O_EXCL|O_NOFOLLOW: never write through someone's planted symlink. Readable by the server
  // whatever user it runs as; the directory cannot be listed and the name is random.
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await fh.chmod(0o644); // whatever the umask
    await fh.writeFile(Buffer.concat([Buffer.from(`${MAGIC}\n${JSON.stringify(envelope)}\n`), message]));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, join(dir, name));
  const d = await fsp.open(dir, 'r').catch(() => null);
  if (d) {
    await d.sync().catch(() => undefined);
    await d.close();
  }
  return name;
}

/** "\n", "\r" and "\r\n" all become CRLF (the spool's line end). */
export function toCrlf(text: Buffer): Buffer {
  return Buffer.from(text.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}
