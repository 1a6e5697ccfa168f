import { ImapFlow } from 'imapflow';
import { waitFor } from '../helpers/wait.js';

/**
 * What a user sees in a folder, read with imapflow over implicit TLS (a real client, and
 * one that needs nothing but npm: these reads stand in many tests that are not about IMAP):
 * the full text of each message, oldest first; [] when the folder does not exist.
 */
export async function folderMessages(port: number, user: string, password: string, folder = 'INBOX'): Promise<string[]> {
  const client = new ImapFlow({
    host: '127.0.0.1', port, secure: true, auth: { user, pass: password },
    tls: { rejectUnauthorized: false }, logger: false, connectionTimeout: 20_000, greetingTimeout: 20_000, socketTimeout: 30_000,
  });
  await client.connect();
  try {
    let lock;
    try {
      lock = await client.getMailboxLock(folder, { readOnly: true });
    } catch {
      return []; // SELECT failed: no such folder
    }
    try {
      const out: string[] = [];
      const box = client.mailbox;
      if (box && box.exists > 0) {
        for await (const m of client.fetch('1:*', { source: true })) out.push(m.source?.toString('utf8') ?? '');
      }
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Waits until the folder holds at least `n` messages. */
export async function waitForMessages(port: number, user: string, password: string, n: number, folder = 'INBOX', timeoutMs = 20000): Promise<string[]> {
  let got: string[] = [];
  return waitFor(async () => {
    got = await folderMessages(port, user, password, folder);
    return got.length >= n ? got : null;
  }, { timeout: timeoutMs, interval: 100, describe: () => `${n} messages in ${user}'s ${folder}; it holds ${got.length}` });
}

/** Waits until a DSN (multipart/report) about `subject` is in the user's INBOX. */
export async function waitForBounce(port: number, user: string, password: string, subject: string, timeoutMs = 20000): Promise<string> {
  let got: string[] = [];
  return waitFor(async () => {
    got = await folderMessages(port, user, password);
    return got.find((m) => m.includes(subject) && /multipart\/report/.test(m));
  }, { timeout: timeoutMs, interval: 100, describe: () => `a bounce about "${subject}" in ${user}'s INBOX; it holds ${got.length} messages, subjects: ${got.map((m) => /^Subject: (.*)$/m.exec(m)?.[1]).join(' | ')}` });
}
