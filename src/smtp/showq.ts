import { randomBytes } from 'node:crypto';
import { constants, lstatSync, rmSync, chmodSync, promises as fsp } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';

/**
 * mailq for users who cannot read the database (issue 9 item 4): the server answers on a
 * socket in the maildrop, Postfix's showq, and shows an ordinary user only the messages they
 * submitted with sendmail; root and the server's own user see the whole queue (sendmail's
 * restrictmailq). Node cannot ask the kernel who is on the other end of a Unix socket
 * (SO_PEERCRED), so the client proves its uid the way the maildrop does: the server sends a
 * random name, the client creates that file in the maildrop, and the file's owner as the
 * kernel recorded it is the answer. One line each way, then the listing; 5 seconds in all.
 */

export const SHOWQ_SOCKET = 'showq';
const AUTH_PREFIX = 'auth.';
const TIMEOUT_MS = 5000;
const MAX_AT_ONCE = 8;

/** The owner of the file the client made for this nonce, or null (removed either way). */
function proofOwner(dir: string, nonce: string): number | null {
  const path = join(dir, AUTH_PREFIX + nonce);
  try {
    const st = lstatSync(path);
    // A hard link to another user's file would lend us their uid.
    return st.isFile() && st.nlink === 1 ? st.uid : null;
  } catch {
    return null;
  } finally {
    rmSync(path, { force: true });
  }
}

/** `listing(uid)`: the text that user may see. */
export async function startShowq(dir: string, listing: (uid: number) => Promise<string>, log: Logger): Promise<Server> {
  const path = join(dir, SHOWQ_SOCKET);
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    const nonce = randomBytes(16).toString('hex');
    let buf = '';
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('close', () => rmSync(join(dir, AUTH_PREFIX + nonce), { force: true }));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.length > 64) return void sock.destroy();
      if (!buf.includes('\n')) return;
      sock.removeAllListeners('data');
      const uid = buf.startsWith('ready\n') ? proofOwner(dir, nonce) : null;
      if (uid === null) return void sock.end('error: no proof of who you are\n');
      listing(uid).then(
        (text) => sock.end(text + '\n'),
        (e: Error) => {
          log.error(null, `showq: ${e.message}`);
          sock.end('error: cannot read the queue now\n');
        },
      );
    });
    sock.write(`${nonce}\n`);
  });
  server.maxConnections = MAX_AT_ONCE;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // Any local user may ask; what they get depends on who they prove to be.
  chmodSync(path, 0o666);
  return server;
}

/** The client side (sendmail -bp as an ordinary user); rejects when no server answers. */
export function askShowq(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(join(dir, SHOWQ_SOCKET));
    let buf = '';
    let proof: string | null = null;
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy(new Error('the mail server did not answer in time')));
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (proof !== null) return;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const nonce = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!/^[0-9a-f]{32}$/.test(nonce)) return void sock.destroy(new Error('unexpected answer from the mail server'));
      proof = join(dir, AUTH_PREFIX + nonce);
      fsp.open(proof, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        .then((fh) => fh.close())
        .then(() => sock.write('ready\n'), (e: Error) => sock.destroy(e));
    });
    sock.on('end', () => {
      if (proof) rmSync(proof, { force: true });
      if (buf.startsWith('error: ')) reject(new Error(buf.slice(7).trim()));
      else resolve(buf.replace(/\n$/, ''));
    });
  });
}
