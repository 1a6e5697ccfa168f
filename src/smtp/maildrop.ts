import { chmodSync, chownSync, constants, mkdirSync, promises as fsp } from 'node:fs';
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
 * Nobody but the sender and the server may read a dropped message (issue 9 item 4). The
 * directory belongs to the server's user and group and has the setgid bit (mode 3733), so
 * every file created in it gets the server's group whoever creates it; the sender makes it
 * 0640: the owner and the server's group read it, others do not. This is Postfix's postdrop
 * group without a setgid program (a Node script cannot be one).
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

/** rwx for the server, wx for everyone (drop, not list), sticky, setgid (files get the server's group). */
export const MAILDROP_MODE = 0o3733;
/** A dropped file: its sender and the server's group. */
export const DROP_FILE_MODE = 0o640;

/** Creates the maildrop for the server's user (`owner` when root makes it before dropping). */
export function prepareMaildrop(dir: string, owner: { uid: number; gid: number } | null): void {
  mkdirSync(dir, { recursive: true });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, MAILDROP_MODE);
}

/** Final names: what the pickup reads. Temporary names start with "tmp.". */
export const DROP_NAME = /^[0-9a-z]{12,40}\.msg$/;

/** Writes a maildrop file durably (data, fsync, rename, directory fsync); returns its name. */
export async function writeDrop(dir: string, envelope: DropEnvelope, message: Buffer): Promise<string> {
  const id = `${Date.now().toString(36)}${randomBytes(8).toString('hex')}`;
  const tmp = join(dir, `tmp.${id}`);
  const name = `${id}.msg`;
  // O_EXCL|O_NOFOLLOW: never write through someone's planted symlink. Readable by the sender
  // and by the server's group, which the setgid directory gave the file.
  const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.chmod(DROP_FILE_MODE); // whatever the umask
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
