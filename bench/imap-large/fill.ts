/**
 * Filling both servers with the same mailbox without IMAP (issue 10: Dovecot's Maildir slows to
 * about 10 APPENDs/s past 18,000 messages when filled over IMAP):
 * - Correo: through its store interface on the stopped server's data dir, the way delivery
 *   stores a message (body file, then one batch of appends with each body's MIME tree and
 *   full-text entry), 500 messages per commit.
 * - Dovecot: the files of its own Maildir format, then `doveadm index` (Dovecot's tool) builds
 *   its index and cache before anything is timed.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { newQueueId } from '../../src/queue/ids.js';
import { parseMessage } from '../../src/mime/parse.js';
import { indexText } from '../../src/mime/search-text.js';
import type { AppendRequest } from '../../src/store/types.js';
import { message } from './generate.js';

const BATCH = 500;
const seen = (i: number) => i % 3 === 0;

export async function fillCorreo(dataDir: string, user: string, count: number, progress: (n: number) => void): Promise<void> {
  const stores = openStore({ dataDir, writer: 'inline' });
  try {
    const u = await stores.mailboxes.getUser(user);
    const inbox = u && (await stores.mailboxes.getMailbox(u.id, 'INBOX'));
    if (!inbox) throw new Error(`${user} has no INBOX in ${dataDir}`);
    for (let start = 0; start < count; start += BATCH) {
      const reqs = await Promise.all(Array.from({ length: Math.min(BATCH, count - start) }, async (_, k): Promise<AppendRequest> => {
        const { bytes, arrived } = message(start + k);
        const w = await stores.blobs.create(newQueueId());
        await w.write([bytes]);
        await w.commit();
        const tree = parseMessage(bytes);
        return { mailboxId: inbox.id, blobId: w.id, size: bytes.length, internalDate: arrived, flags: seen(start + k) ? ['\\Seen'] : [],
          newBlob: { mime: JSON.stringify(tree), text: indexText(tree, bytes) } };
      }));
      await stores.mailboxes.appendAtomic(reqs);
      progress(start + reqs.length);
    }
  } finally {
    await stores.close();
  }
  // The bench runs as root; the server (after dropping root) must own what was written.
  const { uid, gid } = statSync(dataDir);
  chownTree(dataDir, uid, gid);
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const f of readdirSync(path)) chownTree(join(path, f), uid, gid);
}

/** Dovecot's Maildir of `user` under its bench home (bench/lib/dovecot.ts), then `doveadm index`. */
export function fillDovecot(dovecotDir: string, user: string, count: number, progress: (n: number) => void): void {
  const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const nogroup = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const home = join(dovecotDir, 'home', user);
  const md = join(home, 'Maildir');
  for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(md, d), { recursive: true });
  for (let i = 0; i < count; i++) {
    const { bytes, arrived } = message(i);
    // Maildir name: unique part, S= size (Dovecot reads the size from it), flags after ":2,".
    const file = join(md, 'cur', `${Math.floor(arrived / 1000)}.M${i}P1.bench,S=${bytes.length}:2,${seen(i) ? 'S' : ''}`);
    writeFileSync(file, bytes);
    utimesSync(file, arrived / 1000, arrived / 1000); // the received date (INTERNALDATE)
    chownSync(file, nobody, nogroup);
    if ((i + 1) % 5000 === 0) progress(i + 1);
  }
  for (const p of [home, md, join(md, 'cur'), join(md, 'new'), join(md, 'tmp')]) chownSync(p, nobody, nogroup);
  const r = spawnSync('doveadm', ['-c', join(dovecotDir, 'dovecot.conf'), 'index', '-u', user, 'INBOX'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`doveadm index failed: ${r.stderr}`);
  progress(count);
}
